#pragma once
// Dispatch: row gathers, gather, and their adjoints (ops/indexing.hpp: embedding,
// index_select, gather).
//
//   select_rows:     out[o, i, :] = x[o, idx[i], :]        x [outer, n, inner], out [outer, L, inner]
//   index_add_rows:  grad[o, r, :] = sum of g[o, i, :] over the i with idx[i] == r (0 for other rows)
//   gather:          out[p] = x[p with its coordinate along dim replaced by index[p]]
//   gather_backward: grad = 0, then grad[p with index[p] along dim] += g[p]
//
// The indices are checked by the op (each in range). select_rows and gather read them on
// `device`; the adjoints read them on the host (the op has them there, having checked them):
// on CUDA the positions are bucketed by index on the host and uploaded, so that every
// gradient element is summed by one thread, in ascending position order, as on the CPU.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <vector>

#include "chord/backend/cpu/indexing.hpp"
#include "chord/backend/cuda/gather.hpp"
#include "chord/backend/cuda/indexing.hpp"
#include "chord/backend/dispatch/common.hpp"
#include "chord/core/dtype.hpp"
#include "chord/core/shape.hpp"
#include "chord/core/tensor.hpp"

namespace chord::backend {

namespace indexing_detail {

// Element types the CUDA row gathers are instantiated for.
template <class T>
inline constexpr bool cuda_gathers = built_with_cuda() && (FloatingPoint<T> || std::same_as<T, int64_t>);

// index_add_rows on a GPU: the positions bucketed by index on the host (a stable sort),
// then moved to the device as one buffer [order (L), start (U + 1), rows (U)].
template <FloatingPoint T>
void index_add_rows_cuda(Device device, const char* op, int64_t outer, int64_t n, int64_t inner, int64_t L,
                         const T* g, const int64_t* idx, T* grad) {
  std::vector<int64_t> order(static_cast<std::size_t>(L));  // [L]: positions sorted by index, stable
  for (int64_t i = 0; i < L; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return idx[a] < idx[b]; });
  std::vector<int64_t> start, rows;  // [U + 1], [U]
  for (int64_t k = 0; k < L; ++k)
    if (k == 0 || idx[order[k]] != idx[order[k - 1]]) {
      start.push_back(k);
      rows.push_back(idx[order[k]]);
    }
  start.push_back(L);
  const int64_t U = static_cast<int64_t>(rows.size());
  std::vector<int64_t> packed = order;
  packed.insert(packed.end(), start.begin(), start.end());
  packed.insert(packed.end(), rows.begin(), rows.end());
  Tensor<int64_t> buckets =
      Tensor<int64_t>::empty(Shape{static_cast<int64_t>(packed.size())}, device);  // [L + 2U + 1]
  if constexpr (built_with_cuda()) {
    cuda::copy_to_device(cuda::Context{device.index, "to"}, buckets.data(), packed.data(),
                         packed.size() * sizeof(int64_t));
    cuda::index_add_rows<T>(cuda::Context{device.index, op}, outer, n, inner, L, g, buckets.data(), buckets.data() + L,
                            buckets.data() + L + U + 1, U, grad);
  }
}

}  // namespace indexing_detail

// x: [outer, n, inner] contiguous; idx: [L] on `device`, each in [0, n); out: [outer, L, inner] contiguous.
template <Element T>
void select_rows(Device device, const char* op, int64_t outer, int64_t n, int64_t inner, int64_t L, const T* x,
                 const int64_t* idx, T* out) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::select_rows<T>(outer, n, inner, L, x, idx, out);
    case DeviceType::CUDA:
      if constexpr (indexing_detail::cuda_gathers<T>)
        return cuda::select_rows<T>(cuda::Context{device.index, op}, outer, n, inner, L, x, idx, out);
      else if constexpr (built_with_cuda()) fail(op, "not implemented on cuda for ", dtype_name<T>(), " tensors");
      else fail_without_cuda(op, device);
  }
}

// g: [outer, L, inner]; grad: [outer, n, inner], both contiguous on `device`; idx: [L] on the host.
template <FloatingPoint T>
void index_add_rows(Device device, const char* op, int64_t outer, int64_t n, int64_t inner, int64_t L, const T* g,
                    const int64_t* idx, T* grad) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::index_add_rows<T>(outer, n, inner, L, g, idx, grad);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return indexing_detail::index_add_rows_cuda<T>(device, op, outer, n, inner, L, g, idx, grad);
      else fail_without_cuda(op, device);
  }
}

// index, out: `shape` contiguous on `device`; x: any layout with `x_strides`.
template <Element T>
void gather(Device device, const char* op, const Shape& shape, int dim, const T* x, const Strides& x_strides,
            const int64_t* index, T* out) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::gather<T>(shape, dim, x, x_strides, index, out);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::gather<T>(cuda::Context{device.index, op}, shape, dim, x, x_strides, index, out);
      else fail_without_cuda(op, device);
  }
}

// g: `shape` contiguous on `device`; index: `shape` contiguous on the host; grad: x_shape contiguous
// on `device` (every element written).
template <FloatingPoint T>
void gather_backward(Device device, const char* op, const Shape& shape, int dim, const Shape& x_shape,
                     const int64_t* index, const T* g, T* grad) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::gather_backward<T>(shape, dim, x_shape, index, g, grad);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda()) {
        // target [numel(shape)]: the offset in grad that each position adds to. Summing g's
        // positions by target is index_add_rows with rows of one element (n = grad's numel,
        // outer = inner = 1): one thread per target, positions in ascending order.
        const Strides gs = contiguous_strides(x_shape);
        Shape lead, trail, lead_strides, trail_strides;
        for (int k = 0; k < shape.size(); ++k) {
          if (k < dim) lead.push_back(shape[k]), lead_strides.push_back(gs[k]);
          if (k > dim) trail.push_back(shape[k]), trail_strides.push_back(gs[k]);
        }
        const std::vector<int64_t> g_outer = cpu::strided_offsets(lead, lead_strides);    // [outer]
        const std::vector<int64_t> g_inner = cpu::strided_offsets(trail, trail_strides);  // [inner]
        const int64_t L = shape[dim], inner = numel_of(trail), stride = gs[dim];
        std::vector<int64_t> target(static_cast<std::size_t>(numel_of(shape)));
        for (std::size_t e = 0; e < target.size(); ++e) {
          const int64_t o = static_cast<int64_t>(e) / (L * inner), c = static_cast<int64_t>(e) % inner;
          target[e] = g_outer[o] + index[e] * stride + g_inner[c];
        }
        return indexing_detail::index_add_rows_cuda<T>(device, op, 1, numel_of(x_shape), 1,
                                                       static_cast<int64_t>(target.size()), g, target.data(), grad);
      } else {
        fail_without_cuda(op, device);
      }
  }
}

}  // namespace chord::backend
