#pragma once
// y = x W^T + bias for a few rows of x (decoding: one new token per sequence), in one kernel.
// cuBLAS would take two launches here (the bias written into y, then the product accumulated
// onto it) and a tile shape made for large products; with 16 rows or fewer the product is a
// read of W, and what costs is the launches.
//
//   cuda::linear_few_rows<float>(ctx, M, N, K, x, x_rs, w, w_rs, bias, bias_stride, y);
//
// x: [M, K] with row stride x_rs (elements of a row contiguous); w: [N, K] with row stride w_rs
// (contiguous rows); bias: [N] with stride bias_stride, or null; y: [M, N] contiguous. M <= 16.
// One warp per output feature j: its lanes walk k in steps of 32, reading W's row j once for all
// M rows, then a shuffle tree sums each row's partial dot products (a fixed order: the results
// do not change from run to run; they differ from cuBLAS's by the rounding of another order).

#include <cstdint>

#include "chord/backend/cuda/runtime.hpp"

namespace chord::cuda {

inline constexpr int64_t kLinearFewRowsMax = 16;

template <class T>
void linear_few_rows(const Context& ctx, int64_t M, int64_t N, int64_t K, const T* x, int64_t x_rs, const T* w,
                     int64_t w_rs, const T* bias, int64_t bias_stride, T* y);

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include "chord/backend/cuda/block_reduce.hpp"

namespace chord::cuda {

namespace linear_rows_detail {

inline constexpr int kWarpsPerBlock = 4;

// grid: ceil(N / kWarpsPerBlock) blocks of kWarpsPerBlock warps; warp -> output feature j.
template <class T>
__global__ void linear_few_rows_kernel(int M, int64_t N, int64_t K, const T* x, int64_t x_rs, const T* w,
                                       int64_t w_rs, const T* bias, int64_t bias_stride, T* y) {
  const int lane = threadIdx.x % device::kWarp;
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / device::kWarp;
  if (j >= N) return;  // a whole warp leaves together
  T acc[kLinearFewRowsMax];
#pragma unroll
  for (int m = 0; m < kLinearFewRowsMax; ++m) acc[m] = T(0);
  const T* w_row = w + j * w_rs;  // [K]
  for (int64_t k = lane; k < K; k += device::kWarp) {
    const T wk = w_row[k];
#pragma unroll
    for (int m = 0; m < kLinearFewRowsMax; ++m)
      if (m < M) acc[m] += wk * x[m * x_rs + k];
  }
  const T b = bias ? bias[j * bias_stride] : T(0);
#pragma unroll
  for (int m = 0; m < kLinearFewRowsMax; ++m) {
    if (m >= M) break;
    const T total = device::warp_reduce(acc[m], device::SumOp{});
    if (lane == 0) y[m * N + j] = total + b;
  }
}

}  // namespace linear_rows_detail

template <class T>
void linear_few_rows(const Context& ctx, int64_t M, int64_t N, int64_t K, const T* x, int64_t x_rs, const T* w,
                     int64_t w_rs, const T* bias, int64_t bias_stride, T* y) {
  if (M <= 0 || N <= 0) return;
  check(M <= kLinearFewRowsMax, ctx.op, "linear_few_rows takes at most ", kLinearFewRowsMax, " rows, got ", M);
  const int64_t blocks = (N + linear_rows_detail::kWarpsPerBlock - 1) / linear_rows_detail::kWarpsPerBlock;
  check(blocks <= 0x7fffffff, ctx.op, "too many output features for one launch: ", N);
  cudaStream_t stream = stream_for(ctx);
  linear_rows_detail::linear_few_rows_kernel<T>
      <<<static_cast<unsigned>(blocks), linear_rows_detail::kWarpsPerBlock * device::kWarp, 0, stream>>>(
          static_cast<int>(M), N, K, x, x_rs, w, w_rs, bias, bias_stride, y);
  check_launch(ctx, stream, "linear_few_rows_kernel");
}

#define CHORD_CUDA_INSTANTIATE_LINEAR_ROWS(T)                                                                    \
  template void linear_few_rows<T>(const Context&, int64_t, int64_t, int64_t, const T*, int64_t, const T*, int64_t, \
                                   const T*, int64_t, T*);
CHORD_CUDA_INSTANTIATE_LINEAR_ROWS(float)
CHORD_CUDA_INSTANTIATE_LINEAR_ROWS(double)
#undef CHORD_CUDA_INSTANTIATE_LINEAR_ROWS

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
