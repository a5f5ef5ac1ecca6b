#pragma once
// Row kernels for softmax, log-softmax and softmax cross-entropy on dense
// [rows, n] buffers: the CUDA side of backend/cpu/softmax.hpp, with the same
// formulas (each row max-shifted, so no exp overflows).
//
// One block per row: the block finds the row's max, then sum exp(x - max),
// then writes the row, each a pass over it (block_reduce.hpp: a fixed order).
//
//   softmax:         y = exp(x - m) / sum exp(x - m)
//   log_softmax:     y = (x - m) - log(sum exp(x - m))
//   their backward:  gx = y * (g - sum(g * y)),   gx = g - exp(y) * sum(g)
//   cross-entropy (C classes, target t, label smoothing eps, ls = log sum exp(x - m)):
//     loss = (1 - eps) ((m - x_t) + ls) + eps (ls - mean_c (x_c - m))
//     d loss / d x_c = scale * (exp((x_c - m) - ls) - eps / C - (1 - eps) [c == t])
//   A row whose target is negative (ignored) has loss 0 and gradient 0.

#include <cstdint>

#include "chord/backend/cuda/runtime.hpp"

namespace chord::cuda {

// x, y: [rows, n].
template <class T>
void softmax_rows(const Context& ctx, const T* x, T* y, int64_t rows, int64_t n);
template <class T>
void log_softmax_rows(const Context& ctx, const T* x, T* y, int64_t rows, int64_t n);
// y, g, gx: [rows, n].
template <class T>
void softmax_backward_rows(const Context& ctx, const T* y, const T* g, T* gx, int64_t rows, int64_t n);
template <class T>
void log_softmax_backward_rows(const Context& ctx, const T* y, const T* g, T* gx, int64_t rows, int64_t n);

// logits: [rows, C]; targets: [rows] (-1 = ignored); loss, row_max, log_sum: [rows].
template <class T>
void cross_entropy_forward_rows(const Context& ctx, const T* logits, const int64_t* targets, T* loss, T* row_max,
                                T* log_sum, int64_t rows, int64_t C, T eps);
// gx[r, c] as above with scale_r = g[r * g_stride] * multiplier (g_stride 0: one scalar gradient
// for every row). logits, gx: [rows, C]; targets, row_max, log_sum: [rows]; g: device memory.
template <class T>
void cross_entropy_backward_rows(const Context& ctx, const T* logits, const int64_t* targets, const T* row_max,
                                 const T* log_sum, const T* g, int64_t g_stride, T multiplier, T* gx, int64_t rows,
                                 int64_t C, T eps);

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include "chord/backend/cuda/block_reduce.hpp"

namespace chord::cuda {

namespace softmax_detail {

using device::block_max;
using device::block_sum;

// One block per row: y = softmax(x) (Log: log_softmax). x, y: [rows, n].
template <class T, bool Log>
__global__ void softmax_kernel(const T* x, T* y, int64_t n) {
  const T* xr = x + blockIdx.x * n;
  T* yr = y + blockIdx.x * n;
  T m = device::neg_inf<T>();
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = device::max_of(m, xr[i]);
  m = block_max(m);
  T s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += std::exp(xr[i] - m);
  s = block_sum(s);
  if constexpr (Log) {
    const T log_sum = std::log(s);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = (xr[i] - m) - log_sum;
  } else {
    const T inv = T(1) / s;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = std::exp(xr[i] - m) * inv;
  }
}

// One block per row: softmax's or log-softmax's backward. y, g, gx: [rows, n].
template <class T, bool Log>
__global__ void softmax_backward_kernel(const T* y, const T* g, T* gx, int64_t n) {
  const T* yr = y + blockIdx.x * n;
  const T* gr = g + blockIdx.x * n;
  T* out = gx + blockIdx.x * n;
  T s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += Log ? gr[i] : gr[i] * yr[i];
  s = block_sum(s);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
    out[i] = Log ? gr[i] - std::exp(yr[i]) * s : yr[i] * (gr[i] - s);
}

// One block per row. logits: [rows, C]; targets, loss, row_max, log_sum: [rows].
template <class T>
__global__ void cross_entropy_forward_kernel(const T* logits, const int64_t* targets, T* loss, T* row_max,
                                             T* log_sum, int64_t C, T eps) {
  const int64_t r = blockIdx.x, t = targets[r];
  if (t < 0) {  // uniform over the block: every thread returns
    if (threadIdx.x == 0) loss[r] = row_max[r] = log_sum[r] = T(0);
    return;
  }
  const T* x = logits + r * C;
  T m = device::neg_inf<T>();
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) m = device::max_of(m, x[c]);
  m = block_max(m);
  T s = 0, shifted = 0;  // sum exp(x - m), sum (x - m)
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    s += std::exp(x[c] - m);
    shifted += x[c] - m;
  }
  s = block_sum(s);
  if (eps != T(0)) shifted = block_sum(shifted);
  if (threadIdx.x == 0) {
    const T ls = std::log(s);
    T value = (T(1) - eps) * ((m - x[t]) + ls);
    if (eps != T(0)) value += eps * (ls - shifted / static_cast<T>(C));
    loss[r] = value;
    row_max[r] = m;
    log_sum[r] = ls;
  }
}

// One block per row. logits, gx: [rows, C]; targets, row_max, log_sum: [rows]; g: [rows * g_stride] or [1].
template <class T>
__global__ void cross_entropy_backward_kernel(const T* logits, const int64_t* targets, const T* row_max,
                                              const T* log_sum, const T* g, int64_t g_stride, T multiplier, T* gx,
                                              int64_t C, T eps) {
  const int64_t r = blockIdx.x, t = targets[r];
  T* out = gx + r * C;
  if (t < 0) {
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) out[c] = T(0);
    return;
  }
  const T* x = logits + r * C;
  const T m = row_max[r], ls = log_sum[r], s = g[r * g_stride] * multiplier, smooth = eps / static_cast<T>(C);
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    T value = s * (std::exp((x[c] - m) - ls) - smooth);
    if (c == t) value -= s * (T(1) - eps);
    out[c] = value;
  }
}

inline unsigned grid_rows(const Context& ctx, int64_t rows) {
  check(rows <= 0x7fffffff, ctx.op, "too many rows for one launch: ", rows);
  return static_cast<unsigned>(rows);
}

}  // namespace softmax_detail

template <class T>
void softmax_rows(const Context& ctx, const T* x, T* y, int64_t rows, int64_t n) {
  if (rows <= 0 || n <= 0) return;
  cudaStream_t stream = stream_for(ctx);
  softmax_detail::softmax_kernel<T, false>
      <<<softmax_detail::grid_rows(ctx, rows), device::row_threads(n), 0, stream>>>(x, y, n);
  check_launch(ctx, stream, "softmax_kernel");
}
template <class T>
void log_softmax_rows(const Context& ctx, const T* x, T* y, int64_t rows, int64_t n) {
  if (rows <= 0 || n <= 0) return;
  cudaStream_t stream = stream_for(ctx);
  softmax_detail::softmax_kernel<T, true>
      <<<softmax_detail::grid_rows(ctx, rows), device::row_threads(n), 0, stream>>>(x, y, n);
  check_launch(ctx, stream, "log_softmax_kernel");
}
template <class T>
void softmax_backward_rows(const Context& ctx, const T* y, const T* g, T* gx, int64_t rows, int64_t n) {
  if (rows <= 0 || n <= 0) return;
  cudaStream_t stream = stream_for(ctx);
  softmax_detail::softmax_backward_kernel<T, false>
      <<<softmax_detail::grid_rows(ctx, rows), device::row_threads(n), 0, stream>>>(y, g, gx, n);
  check_launch(ctx, stream, "softmax_backward_kernel");
}
template <class T>
void log_softmax_backward_rows(const Context& ctx, const T* y, const T* g, T* gx, int64_t rows, int64_t n) {
  if (rows <= 0 || n <= 0) return;
  cudaStream_t stream = stream_for(ctx);
  softmax_detail::softmax_backward_kernel<T, true>
      <<<softmax_detail::grid_rows(ctx, rows), device::row_threads(n), 0, stream>>>(y, g, gx, n);
  check_launch(ctx, stream, "log_softmax_backward_kernel");
}

template <class T>
void cross_entropy_forward_rows(const Context& ctx, const T* logits, const int64_t* targets, T* loss, T* row_max,
                                T* log_sum, int64_t rows, int64_t C, T eps) {
  if (rows <= 0) return;
  cudaStream_t stream = stream_for(ctx);
  softmax_detail::cross_entropy_forward_kernel<T><<<softmax_detail::grid_rows(ctx, rows), device::row_threads(C), 0,
                                                    stream>>>(logits, targets, loss, row_max, log_sum, C, eps);
  check_launch(ctx, stream, "cross_entropy_forward_kernel");
}
template <class T>
void cross_entropy_backward_rows(const Context& ctx, const T* logits, const int64_t* targets, const T* row_max,
                                 const T* log_sum, const T* g, int64_t g_stride, T multiplier, T* gx, int64_t rows,
                                 int64_t C, T eps) {
  if (rows <= 0 || C <= 0) return;
  cudaStream_t stream = stream_for(ctx);
  softmax_detail::cross_entropy_backward_kernel<T>
      <<<softmax_detail::grid_rows(ctx, rows), device::row_threads(C), 0, stream>>>(
          logits, targets, row_max, log_sum, g, g_stride, multiplier, gx, C, eps);
  check_launch(ctx, stream, "cross_entropy_backward_kernel");
}

#define CHORD_CUDA_INSTANTIATE_SOFTMAX(T)                                                                    \
  template void softmax_rows<T>(const Context&, const T*, T*, int64_t, int64_t);                            \
  template void log_softmax_rows<T>(const Context&, const T*, T*, int64_t, int64_t);                        \
  template void softmax_backward_rows<T>(const Context&, const T*, const T*, T*, int64_t, int64_t);         \
  template void log_softmax_backward_rows<T>(const Context&, const T*, const T*, T*, int64_t, int64_t);     \
  template void cross_entropy_forward_rows<T>(const Context&, const T*, const int64_t*, T*, T*, T*, int64_t, \
                                              int64_t, T);                                                  \
  template void cross_entropy_backward_rows<T>(const Context&, const T*, const int64_t*, const T*, const T*, \
                                               const T*, int64_t, T, T*, int64_t, int64_t, T);
CHORD_CUDA_INSTANTIATE_SOFTMAX(float)
CHORD_CUDA_INSTANTIATE_SOFTMAX(double)
#undef CHORD_CUDA_INSTANTIATE_SOFTMAX

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
