#pragma once
// tril and triu on the GPU: the triangular part of every matrix of a batch,
// over the last two dims, from a strided input into a new contiguous tensor.
//
//   lower (tril): out[..., i, j] = j - i <= diagonal ? x[..., i, j] : 0
//   upper (triu): out[..., i, j] = j - i >= diagonal ? x[..., i, j] : 0
//
// One thread per output element (a grid-stride loop); the backward is the same
// kernel on the gradient.

#include <cstdint>

#include "chord/backend/cuda/runtime.hpp"
#include "chord/core/shape.hpp"

namespace chord::cuda {

enum class Triangle { Lower, Upper };

// x: `shape` = [batch..., M, N] (at least 2 dims) with `x_strides`; out: `shape` contiguous.
// T: float, double, int64_t, bool.
template <class T>
void triangle(const Context& ctx, Triangle part, int64_t diagonal, const Shape& shape, const T* x,
              const Strides& x_strides, T* out);

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include "chord/backend/cuda/strided_loop.hpp"

namespace chord::cuda {

namespace triangular_detail {

// L: x's shape (also out's) and strides; the matrices are the last two dims, [M, N].
// out: [numel] row-major over L.sizes.
template <class T, bool Upper>
__global__ void triangle_kernel(StridedLayout L, int64_t diagonal, const T* x, T* out) {
  const int64_t M = L.sizes[L.ndim - 2], N = L.sizes[L.ndim - 1];
  const int64_t step = int64_t{gridDim.x} * blockDim.x;
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < L.numel; e += step) {
    const int64_t j = e % N, i = (e / N) % M;
    const bool keep = Upper ? j - i >= diagonal : j - i <= diagonal;
    if (!keep) {
      out[e] = T(0);
      continue;
    }
    int64_t rest = e, off = 0;
    for (int d = L.ndim - 1; d >= 0; --d) {
      off += (rest % L.sizes[d]) * L.strides[d];
      rest /= L.sizes[d];
    }
    out[e] = x[off];
  }
}

}  // namespace triangular_detail

template <class T>
void triangle(const Context& ctx, Triangle part, int64_t diagonal, const Shape& shape, const T* x,
              const Strides& x_strides, T* out) {
  using namespace triangular_detail;
  check(shape.size() >= 2, ctx.op, "internal: triangle of a tensor with fewer than 2 dims");
  const StridedLayout L = strided_layout(shape, x_strides);
  if (L.numel <= 0) return;
  cudaStream_t stream = stream_for(ctx);
  const unsigned blocks = blocks_for(L.numel, 256);
  if (part == Triangle::Upper) triangle_kernel<T, true><<<blocks, 256, 0, stream>>>(L, diagonal, x, out);
  else triangle_kernel<T, false><<<blocks, 256, 0, stream>>>(L, diagonal, x, out);
  check_launch(ctx, stream, "triangle_kernel");
}

#define CHORD_CUDA_INSTANTIATE_TRIANGLE(T)                                                               \
  template void triangle<T>(const Context&, Triangle, int64_t, const Shape&, const T*, const Strides&, T*);
CHORD_CUDA_INSTANTIATE_TRIANGLE(float)
CHORD_CUDA_INSTANTIATE_TRIANGLE(double)
CHORD_CUDA_INSTANTIATE_TRIANGLE(int64_t)
CHORD_CUDA_INSTANTIATE_TRIANGLE(bool)
#undef CHORD_CUDA_INSTANTIATE_TRIANGLE

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
