#pragma once
// Dispatch: reductions over any set of dims of a strided input (ops/reduction.hpp).
//
//   backend::reduce(device, "sum", backend::ReduceOp::Sum, x, shape, strides, reduce_dims, out);
//   backend::arg_reduce(device, "argmax", backend::ArgReduceOp::ArgMax, x, shape, strides, reduce_dims, out_index);
//
// in: `shape` with `strides`; reduce_dims: per dim, whether it is reduced; out: [outputs]
// contiguous (row-major over the kept dims). Sum and Mean take float and double; Max, Min,
// ArgMax and ArgMin also int64_t. Semantics (NaN, ties, empty selections) in backend/cpu/reduce.hpp.

#include <cstdint>
#include <vector>

#include "chord/backend/cpu/reduce.hpp"
#include "chord/backend/cuda/reduce.hpp"
#include "chord/backend/dispatch/common.hpp"
#include "chord/core/dtype.hpp"
#include "chord/core/shape.hpp"

namespace chord::backend {

enum class ReduceOp { Sum, Mean, Max, Min };
enum class ArgReduceOp { ArgMax, ArgMin };

namespace reduce_detail {
template <class T>
void reduce_cpu(ReduceOp r, const T* in, const Shape& shape, const Strides& strides,
                const std::vector<bool>& reduce_dims, T* out) {
  switch (r) {
    case ReduceOp::Sum:
    case ReduceOp::Mean:
      if constexpr (FloatingPoint<T>) {
        if (r == ReduceOp::Sum) return cpu::reduce(in, shape, strides, reduce_dims, out, cpu::SumReducer<T>{});
        return cpu::reduce(in, shape, strides, reduce_dims, out, cpu::MeanReducer<T>{});
      }
      break;
    case ReduceOp::Max: return cpu::reduce(in, shape, strides, reduce_dims, out, cpu::MaxReducer<T>{});
    case ReduceOp::Min: return cpu::reduce(in, shape, strides, reduce_dims, out, cpu::MinReducer<T>{});
  }
  fail("reduce", "internal: no such reduction for ", dtype_name<T>());
}

inline cuda::ReduceOp cuda_op(ReduceOp r) {
  switch (r) {
    case ReduceOp::Sum: return cuda::ReduceOp::Sum;
    case ReduceOp::Mean: return cuda::ReduceOp::Mean;
    case ReduceOp::Max: return cuda::ReduceOp::Max;
    case ReduceOp::Min: return cuda::ReduceOp::Min;
  }
  return cuda::ReduceOp::Sum;
}
}  // namespace reduce_detail

template <class T>
void reduce(Device device, const char* op, ReduceOp r, const T* in, const Shape& shape, const Strides& strides,
            const std::vector<bool>& reduce_dims, T* out) {
  switch (device.type) {
    case DeviceType::CPU: return reduce_detail::reduce_cpu(r, in, shape, strides, reduce_dims, out);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::reduce<T>(cuda::Context{device.index, op}, reduce_detail::cuda_op(r), in, shape, strides,
                               reduce_dims, out);
      else fail_without_cuda(op, device);
  }
}

// out_index: the row-major index, within the reduced dims, of each slice's first extreme
// (the first NaN, if any). The reduced selection must not be empty.
template <class T>
void arg_reduce(Device device, const char* op, ArgReduceOp r, const T* in, const Shape& shape, const Strides& strides,
                const std::vector<bool>& reduce_dims, int64_t* out_index) {
  switch (device.type) {
    case DeviceType::CPU:
      if (r == ArgReduceOp::ArgMax)
        return cpu::arg_reduce(in, shape, strides, reduce_dims, out_index, cpu::ArgMaxBetter<T>{});
      return cpu::arg_reduce(in, shape, strides, reduce_dims, out_index, cpu::ArgMinBetter<T>{});
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::arg_reduce<T>(cuda::Context{device.index, op},
                                   r == ArgReduceOp::ArgMax ? cuda::ArgReduceOp::ArgMax : cuda::ArgReduceOp::ArgMin,
                                   in, shape, strides, reduce_dims, out_index);
      else fail_without_cuda(op, device);
  }
}

}  // namespace chord::backend
