#pragma once
// GEMM on the GPU through cuBLAS: C_b = alpha * A_b B_b (+ C_b when accumulating),
// for a batch of equally strided products (one product: batch = 1).
//
//   cuda::gemm_strided_batched<float>(ctx, batch, M, N, K, 1.0f,
//                                     a, a_batch_stride, a_rs, a_cs,   // A_b: [M, K]
//                                     b, b_batch_stride, b_rs, b_cs,   // B_b: [K, N]
//                                     c, c_batch_stride, c_rs,         // C_b: [M, N], row-major
//                                     /*accumulate=*/false);
//
// Operands are chord's: row-major-strided, element (i, j) of A_b at
// a[b * a_batch_stride + i * a_rs + j * a_cs]. cuBLAS is column-major, so chord
// asks it for C^T = B^T A^T, which is C itself read column-major with leading
// dimension c_rs. An operand whose column stride is 1 (row-major) is, read
// column-major, its own transpose: it goes in with CUBLAS_OP_N; one whose row
// stride is 1 (a transposed view) goes in with CUBLAS_OP_T. No operand is copied;
// every operand must be one of the two (what cpu::gemm_reads_in_place accepts;
// the ops copy the others first). A batch stride of 0 repeats an operand.
//
// One call is cublasSgemm / cublasDgemm (batch 1) or cublas{S,D}gemmStridedBatched,
// on the device's chord stream. float products use full float32 arithmetic
// (cuBLAS's default math mode: no TF32), as PyTorch does by default.

#include <cstdint>

#include "chord/backend/cuda/runtime.hpp"

namespace chord::cuda {

template <class T>
void gemm_strided_batched(const Context& ctx, int64_t batch, int64_t M, int64_t N, int64_t K, T alpha, const T* a,
                          int64_t a_batch_stride, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_batch_stride,
                          int64_t b_rs, int64_t b_cs, T* c, int64_t c_batch_stride, int64_t c_rs, bool accumulate);

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include <climits>
#include <mutex>
#include <vector>

namespace chord::cuda {

namespace gemm_detail {

// The cuBLAS handle of each device, bound to chord's stream there (created on first use, never destroyed:
// see runtime.hpp's DeviceState).
inline cublasHandle_t handle_for(const Context& ctx, cudaStream_t stream) {
  static std::mutex* mutex = new std::mutex;
  static std::vector<cublasHandle_t>* handles = new std::vector<cublasHandle_t>(
      static_cast<std::size_t>(std::max(1, cuda::device_count())), nullptr);
  std::lock_guard<std::mutex> lock(*mutex);
  cublasHandle_t& h = (*handles)[static_cast<std::size_t>(ctx.device)];
  if (!h) {
    check_cublas(cublasCreate(&h), ctx.op, "cublasCreate");
    check_cublas(cublasSetStream(h, stream), ctx.op, "cublasSetStream");
  }
  return h;
}

// How cuBLAS reads a [rows, cols] operand with strides (rs, cs) as the transpose it needs.
struct Operand {
  cublasOperation_t op;
  int64_t ld;
};
inline Operand operand(const char* op, const char* name, int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  const int64_t r = rows > 1 ? rows : 1, c = cols > 1 ? cols : 1;
  if ((cols <= 1 || cs == 1) && (rows <= 1 || rs >= c)) return {CUBLAS_OP_N, rows <= 1 ? c : rs};
  if ((rows <= 1 || rs == 1) && (cols <= 1 || cs >= r)) return {CUBLAS_OP_T, cols <= 1 ? r : cs};
  fail(op, "internal: the GEMM cannot read operand ", name, " [", rows, ", ", cols, "] with strides (", rs, ", ", cs,
       ") in place; it must be copied to a dense layout first");
}

inline int as_int(const char* op, const char* what, int64_t v) {
  check(v >= 0 && v <= INT_MAX, op, "the GEMM's ", what, " (", v, ") does not fit cuBLAS's 32-bit int");
  return static_cast<int>(v);
}

// C_b = 0 for every b (the empty sum of K = 0). c: [batch] x [M, N] with row stride c_rs.
template <class T>
void zero_output(const Context& ctx, cudaStream_t stream, int64_t batch, int64_t M, int64_t N, T* c,
                 int64_t c_batch_stride, int64_t c_rs) {
  for (int64_t i = 0; i < batch; ++i)
    check_cuda(cudaMemset2DAsync(c + i * c_batch_stride, static_cast<std::size_t>(c_rs) * sizeof(T), 0,
                                 static_cast<std::size_t>(N) * sizeof(T), static_cast<std::size_t>(M), stream),
               ctx.op, "cudaMemset2DAsync");
}

inline cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta,
                           float* C, int ldc) {
  return cublasSgemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
inline cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const double* alpha, const double* A, int lda, const double* B, int ldb,
                           const double* beta, double* C, int ldc) {
  return cublasDgemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
inline cublasStatus_t gemm_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                   const float* alpha, const float* A, int lda, long long sa, const float* B, int ldb,
                                   long long sb, const float* beta, float* C, int ldc, long long sc, int count) {
  return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, count);
}
inline cublasStatus_t gemm_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                   const double* alpha, const double* A, int lda, long long sa, const double* B,
                                   int ldb, long long sb, const double* beta, double* C, int ldc, long long sc,
                                   int count) {
  return cublasDgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, count);
}

}  // namespace gemm_detail

template <class T>
void gemm_strided_batched(const Context& ctx, int64_t batch, int64_t M, int64_t N, int64_t K, T alpha, const T* a,
                          int64_t a_batch_stride, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_batch_stride,
                          int64_t b_rs, int64_t b_cs, T* c, int64_t c_batch_stride, int64_t c_rs, bool accumulate) {
  using namespace gemm_detail;
  if (batch <= 0 || M <= 0 || N <= 0) return;
  check(c_rs >= N, ctx.op, "internal: GEMM output row stride ", c_rs, " is below its ", N, " columns");
  cudaStream_t stream = stream_for(ctx);
  if (K <= 0) {  // an empty sum: C = 0 (or unchanged when accumulating)
    if (!accumulate) zero_output(ctx, stream, batch, M, N, c, c_batch_stride, c_rs);
    return;
  }
  // cuBLAS computes C^T [N, M] = op(P) op(Q) with P from B and Q from A (see the top of this file).
  const Operand pb = operand(ctx.op, "B", K, N, b_rs, b_cs);
  const Operand qa = operand(ctx.op, "A", M, K, a_rs, a_cs);
  const int m = as_int(ctx.op, "N", N), n = as_int(ctx.op, "M", M), k = as_int(ctx.op, "K", K);
  const int ldp = as_int(ctx.op, "leading dimension of B", pb.ld);
  const int ldq = as_int(ctx.op, "leading dimension of A", qa.ld);
  const int ldc = as_int(ctx.op, "leading dimension of C", c_rs);
  const T beta = accumulate ? T(1) : T(0);
  cublasHandle_t h = handle_for(ctx, stream);
  if (batch == 1) {
    check_cublas(gemm(h, pb.op, qa.op, m, n, k, &alpha, b, ldp, a, ldq, &beta, c, ldc), ctx.op,
                 sizeof(T) == 4 ? "cublasSgemm" : "cublasDgemm");
  } else {
    check_cublas(gemm_batched(h, pb.op, qa.op, m, n, k, &alpha, b, ldp, b_batch_stride, a, ldq, a_batch_stride, &beta,
                              c, ldc, c_batch_stride, as_int(ctx.op, "batch", batch)),
                 ctx.op, sizeof(T) == 4 ? "cublasSgemmStridedBatched" : "cublasDgemmStridedBatched");
  }
  if (runtime_detail::sync_after_launch())
    check_cuda(cudaStreamSynchronize(stream), ctx.op, "cuBLAS GEMM");
}

template void gemm_strided_batched<float>(const Context&, int64_t, int64_t, int64_t, int64_t, float, const float*,
                                          int64_t, int64_t, int64_t, const float*, int64_t, int64_t, int64_t, float*,
                                          int64_t, int64_t, bool);
template void gemm_strided_batched<double>(const Context&, int64_t, int64_t, int64_t, int64_t, double, const double*,
                                           int64_t, int64_t, int64_t, const double*, int64_t, int64_t, int64_t,
                                           double*, int64_t, int64_t, bool);

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
