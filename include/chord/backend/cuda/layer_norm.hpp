#pragma once
// Layer normalization over the last dim of a dense [R, D] buffer, on the GPU:
// the CUDA side of backend/cpu/layer_norm.hpp, with the same formulas.
//
// Forward, one block per row:  mean = sum(x) / D,  var = sum((x - mean)^2) / D,
//   rstd = 1 / sqrt(var + eps),  y = (x - mean) * rstd * w + b.
// Backward, dx one block per row (gw = g * w, xhat = (x - mean) * rstd):
//   dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))
// dw = sum over rows of g * xhat and db = sum over rows of g, in two passes with
// no atomics: blocks of kRowsPerChunk rows write partial column sums, then one
// thread per column adds the partials in chunk order.

#include <cstdint>

#include "chord/backend/cuda/runtime.hpp"

namespace chord::cuda {

// x, y: [R, D]; w, b: [D] or null (then 1 and 0); mean, rstd: [R].
template <class T>
void layer_norm_forward(const Context& ctx, const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t R,
                        int64_t D, T eps);

// g, x: [R, D]; w: [D] or null; mean, rstd: [R]. Outputs, each null when not wanted: dx [R, D], dw [D], db [D].
template <class T>
void layer_norm_backward(const Context& ctx, const T* g, const T* x, const T* w, const T* mean, const T* rstd,
                         int64_t R, int64_t D, T* dx, T* dw, T* db);

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include "chord/backend/cuda/block_reduce.hpp"

namespace chord::cuda {

namespace layer_norm_detail {

inline constexpr int64_t kRowsPerChunk = 32;
inline constexpr int kColumnThreads = 128;

// One block per row. x, y: [R, D]; mean, rstd: [R].
template <class T>
__global__ void forward_kernel(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t D, T eps) {
  const int64_t r = blockIdx.x;
  const T* xr = x + r * D;
  T* yr = y + r * D;
  T s = 0;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += xr[i];
  const T mu = device::block_sum(s) / static_cast<T>(D);
  T ss = 0;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) ss += (xr[i] - mu) * (xr[i] - mu);
  const T rs = T(1) / std::sqrt(device::block_sum(ss) / static_cast<T>(D) + eps);
  if (threadIdx.x == 0) {
    mean[r] = mu;
    rstd[r] = rs;
  }
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
    T v = (xr[i] - mu) * rs;
    if (w) v *= w[i];
    if (b) v += b[i];
    yr[i] = v;
  }
}

// One block per row: dx. g, x, dx: [R, D].
template <class T>
__global__ void backward_dx_kernel(const T* g, const T* x, const T* w, const T* mean, const T* rstd, int64_t D, T* dx) {
  const int64_t r = blockIdx.x;
  const T* gr = g + r * D;
  const T* xr = x + r * D;
  const T mu = mean[r], rs = rstd[r];
  T sum_gw = 0, sum_gw_xhat = 0;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
    const T gw = w ? gr[i] * w[i] : gr[i];
    sum_gw += gw;
    sum_gw_xhat += gw * (xr[i] - mu) * rs;
  }
  const T a = device::block_sum(sum_gw) / static_cast<T>(D);
  const T bcoef = device::block_sum(sum_gw_xhat) / static_cast<T>(D);
  T* out = dx + r * D;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
    const T gw = w ? gr[i] * w[i] : gr[i];
    out[i] = rs * (gw - a - (xr[i] - mu) * rs * bcoef);
  }
}

// Grid (column blocks, row chunks): partial_dw[c, i], partial_db[c, i] = sums over chunk c's rows.
template <class T>
__global__ void backward_partials_kernel(const T* g, const T* x, const T* mean, const T* rstd, int64_t R, int64_t D,
                                         T* partial_dw, T* partial_db) {
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x, c = blockIdx.y;
  if (i >= D) return;
  const int64_t r0 = c * kRowsPerChunk, r1 = r0 + kRowsPerChunk < R ? r0 + kRowsPerChunk : R;
  T sw = 0, sb = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const T gv = g[r * D + i];
    sw += gv * (x[r * D + i] - mean[r]) * rstd[r];
    sb += gv;
  }
  if (partial_dw) partial_dw[c * D + i] = sw;
  if (partial_db) partial_db[c * D + i] = sb;
}

// One thread per column: out[i] = sum over chunks of partial[c, i], in chunk order.
template <class T>
__global__ void sum_partials_kernel(const T* partial, int64_t chunks, int64_t D, T* out) {
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (i >= D) return;
  T s = 0;
  for (int64_t c = 0; c < chunks; ++c) s += partial[c * D + i];
  out[i] = s;
}

}  // namespace layer_norm_detail

template <class T>
void layer_norm_forward(const Context& ctx, const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t R,
                        int64_t D, T eps) {
  if (R <= 0 || D <= 0) return;
  check(R <= 0x7fffffff, ctx.op, "too many rows for one launch: ", R);
  cudaStream_t stream = stream_for(ctx);
  layer_norm_detail::forward_kernel<T>
      <<<static_cast<unsigned>(R), device::row_threads(D), 0, stream>>>(x, w, b, y, mean, rstd, D, eps);
  check_launch(ctx, stream, "layer_norm forward_kernel");
}

template <class T>
void layer_norm_backward(const Context& ctx, const T* g, const T* x, const T* w, const T* mean, const T* rstd,
                         int64_t R, int64_t D, T* dx, T* dw, T* db) {
  using namespace layer_norm_detail;
  if (D <= 0) return;
  cudaStream_t stream = stream_for(ctx);
  if (R <= 0) {  // sums over no rows
    const std::size_t bytes = static_cast<std::size_t>(D) * sizeof(T);
    if (dw) check_cuda(cudaMemsetAsync(dw, 0, bytes, stream), ctx.op, "cudaMemsetAsync");
    if (db) check_cuda(cudaMemsetAsync(db, 0, bytes, stream), ctx.op, "cudaMemsetAsync");
    return;
  }
  check(R <= 0x7fffffff, ctx.op, "too many rows for one launch: ", R);
  if (dx) {
    backward_dx_kernel<T><<<static_cast<unsigned>(R), device::row_threads(D), 0, stream>>>(g, x, w, mean, rstd, D, dx);
    check_launch(ctx, stream, "layer_norm backward_dx_kernel");
  }
  if (!dw && !db) return;
  const int64_t chunks = (R + kRowsPerChunk - 1) / kRowsPerChunk;
  check(chunks <= 65535, ctx.op, "too many rows for the parameter gradients: ", R);
  const std::size_t bytes = static_cast<std::size_t>(chunks * D) * sizeof(T);
  T* partial_dw = dw ? static_cast<T*>(allocate(bytes, ctx.device)) : nullptr;  // [chunks, D]
  T* partial_db = db ? static_cast<T*>(allocate(bytes, ctx.device)) : nullptr;  // [chunks, D]
  const unsigned column_blocks = static_cast<unsigned>((D + kColumnThreads - 1) / kColumnThreads);
  backward_partials_kernel<T><<<dim3(column_blocks, static_cast<unsigned>(chunks)), kColumnThreads, 0, stream>>>(
      g, x, mean, rstd, R, D, partial_dw, partial_db);
  check_launch(ctx, stream, "layer_norm backward_partials_kernel");
  if (dw) {
    sum_partials_kernel<T><<<column_blocks, kColumnThreads, 0, stream>>>(partial_dw, chunks, D, dw);
    check_launch(ctx, stream, "layer_norm sum_partials_kernel");
    deallocate(partial_dw, bytes, ctx.device);
  }
  if (db) {
    sum_partials_kernel<T><<<column_blocks, kColumnThreads, 0, stream>>>(partial_db, chunks, D, db);
    check_launch(ctx, stream, "layer_norm sum_partials_kernel");
    deallocate(partial_db, bytes, ctx.device);
  }
}

#define CHORD_CUDA_INSTANTIATE_LAYER_NORM(T)                                                                  \
  template void layer_norm_forward<T>(const Context&, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, \
                                      T);                                                                     \
  template void layer_norm_backward<T>(const Context&, const T*, const T*, const T*, const T*, const T*, int64_t, \
                                       int64_t, T*, T*, T*);
CHORD_CUDA_INSTANTIATE_LAYER_NORM(float)
CHORD_CUDA_INSTANTIATE_LAYER_NORM(double)
#undef CHORD_CUDA_INSTANTIATE_LAYER_NORM

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
