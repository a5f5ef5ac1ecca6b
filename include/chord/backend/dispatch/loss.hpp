#pragma once
// Dispatch: the fused cross-entropy kernels (ops/loss.hpp; formulas in backend/cpu/softmax.hpp).
//
//   cross_entropy_forward:  loss, row_max, log_sum [N] from logits [N, C] and targets [N]
//                           (the class of each row, -1 for an ignored row; on `device`)
//   cross_entropy_total:    out [] = the sum of loss [N] (sum), or that sum / kept (mean; 0 when kept is 0)
//   cross_entropy_backward: gx [N, C] from g, the gradient of the result: [N] (per_row) or []
//                           (sum or mean, spread over the rows)
//
// The two devices reduce differently, and each keeps its own rounding: the CPU sums the row
// losses in double in row order and divides the gradient by kept; CUDA sums on the device
// (backend/cuda/reduce.hpp) and multiplies by 1 / kept rounded to T.

#include <cstdint>
#include <vector>

#include "chord/backend/cpu/softmax.hpp"
#include "chord/backend/cuda/reduce.hpp"
#include "chord/backend/cuda/softmax.hpp"
#include "chord/backend/dispatch/common.hpp"
#include "chord/backend/functors.hpp"
#include "chord/backend/map.hpp"
#include "chord/core/dtype.hpp"
#include "chord/core/shape.hpp"
#include "chord/core/tensor.hpp"

namespace chord::backend {

template <FloatingPoint T>
void cross_entropy_forward(Device device, const char* op, const T* logits, const int64_t* targets, T* loss,
                           T* row_max, T* log_sum, int64_t N, int64_t C, T eps) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::cross_entropy_forward_rows(logits, targets, loss, row_max, log_sum, N, C, eps);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::cross_entropy_forward_rows<T>(cuda::Context{device.index, op}, logits, targets, loss, row_max,
                                                   log_sum, N, C, eps);
      else fail_without_cuda(op, device);
  }
}

// loss: row_shape contiguous (N elements) on `device`; out: [] on `device`.
template <FloatingPoint T>
void cross_entropy_total(Device device, const char* op, const T* loss, const Shape& row_shape, int64_t kept, bool mean,
                         T* out) {
  switch (device.type) {
    case DeviceType::CPU: {
      const int64_t N = numel_of(row_shape);
      double total = 0.0;  // summed in row order: deterministic
      for (int64_t r = 0; r < N; ++r) total += static_cast<double>(loss[r]);
      if (mean) total = kept ? total / static_cast<double>(kept) : 0.0;
      *out = static_cast<T>(total);
      return;
    }
    case DeviceType::CUDA:
      if constexpr (built_with_cuda()) {
        const std::vector<bool> all(static_cast<std::size_t>(row_shape.size()), true);
        if (!mean)
          return cuda::reduce<T>(cuda::Context{device.index, "sum"}, cuda::ReduceOp::Sum, loss, row_shape,
                                 contiguous_strides(row_shape), all, out);
        const Tensor<T> total = Tensor<T>::empty(Shape{}, device);  // []
        cuda::reduce<T>(cuda::Context{device.index, "sum"}, cuda::ReduceOp::Sum, loss, row_shape,
                        contiguous_strides(row_shape), all, total.data());
        const T mean_scale = kept ? T(1) / static_cast<T>(kept) : T(0);
        return backend::map(op, device, Shape{}, out, Strides{}, total.data(), Strides{}, fn::Scale<T>{mean_scale});
      } else {
        fail_without_cuda(op, device);
      }
  }
}

// g: [N] when per_row, else []; kept: the rows that count for the mean.
template <FloatingPoint T>
void cross_entropy_backward(Device device, const char* op, const T* logits, const int64_t* targets, const T* row_max,
                            const T* log_sum, const T* g, bool per_row, bool mean, int64_t kept, T* gx, int64_t N,
                            int64_t C, T eps) {
  switch (device.type) {
    case DeviceType::CPU: {
      std::vector<T> scale(static_cast<std::size_t>(N));  // [N]: the gradient reaching each row's loss
      if (per_row) {
        for (int64_t r = 0; r < N; ++r) scale[r] = g[r];
      } else {
        T s = g[0];
        if (mean) s = kept ? s / static_cast<T>(kept) : T(0);
        for (int64_t r = 0; r < N; ++r) scale[r] = s;
      }
      return cpu::cross_entropy_backward_rows(logits, targets, row_max, log_sum, scale.data(), gx, N, C, eps);
    }
    case DeviceType::CUDA:
      if constexpr (built_with_cuda()) {
        const T mean_scale = kept ? T(1) / static_cast<T>(kept) : T(0);
        return cuda::cross_entropy_backward_rows<T>(cuda::Context{device.index, op}, logits, targets, row_max, log_sum,
                                                    g, per_row ? 1 : 0, mean ? mean_scale : T(1), gx, N, C, eps);
      } else {
        fail_without_cuda(op, device);
      }
  }
}

}  // namespace chord::backend
