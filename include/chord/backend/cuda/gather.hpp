#pragma once
// PyTorch's gather on the GPU, along one dim of a strided input:
//
//   gather: out[p] = x[p with its coordinate along dim replaced by index[p]]
//           (3-D, dim 1: out[i][j][k] = x[i][index[i][j][k]][k])
//
// Its backward, the scatter-add into a zero tensor of x's shape, needs no kernel
// of its own: ops::gather turns every position into the flat offset of the
// gradient element it adds to, and index_add_rows (indexing.hpp) with one
// row of one column per offset sums them, deterministically and in the CPU's order.

#include <cstdint>

#include "chord/backend/cuda/runtime.hpp"
#include "chord/core/shape.hpp"

namespace chord::cuda {

// index: `shape` contiguous (device, each value in [0, x's size along dim)); out: `shape` contiguous.
// x: any layout, with `x_strides` (x's own shape is needed only for the checks the op did).
// T: float, double, int64_t, bool.
template <class T>
void gather(const Context& ctx, const Shape& shape, int dim, const T* x, const Strides& x_strides,
            const int64_t* index, T* out);

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include "chord/backend/cuda/strided_loop.hpp"

namespace chord::cuda {

namespace gather_detail {

// One thread per output element (a grid-stride loop). L: index's shape (also out's) and x's
// strides per dim of it; index, out: [numel] row-major over L.sizes.
template <class T>
__global__ void gather_kernel(StridedLayout L, int dim, const T* x, const int64_t* index, T* out) {
  const int64_t step = int64_t{gridDim.x} * blockDim.x;
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < L.numel; e += step) {
    int64_t rest = e, off = 0;
    for (int d = L.ndim - 1; d >= 0; --d) {
      const int64_t i = rest % L.sizes[d];
      rest /= L.sizes[d];
      off += (d == dim ? index[e] : i) * L.strides[d];
    }
    out[e] = x[off];
  }
}

}  // namespace gather_detail

template <class T>
void gather(const Context& ctx, const Shape& shape, int dim, const T* x, const Strides& x_strides,
            const int64_t* index, T* out) {
  const StridedLayout L = strided_layout(shape, x_strides);
  if (L.numel <= 0) return;
  cudaStream_t stream = stream_for(ctx);
  gather_detail::gather_kernel<T><<<blocks_for(L.numel, 256), 256, 0, stream>>>(L, dim, x, index, out);
  check_launch(ctx, stream, "gather_kernel");
}

#define CHORD_CUDA_INSTANTIATE_GATHER(T) \
  template void gather<T>(const Context&, const Shape&, int, const T*, const Strides&, const int64_t*, T*);
CHORD_CUDA_INSTANTIATE_GATHER(float)
CHORD_CUDA_INSTANTIATE_GATHER(double)
CHORD_CUDA_INSTANTIATE_GATHER(int64_t)
CHORD_CUDA_INSTANTIATE_GATHER(bool)
#undef CHORD_CUDA_INSTANTIATE_GATHER

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
