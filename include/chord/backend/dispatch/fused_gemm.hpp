#pragma once
// Dispatch: products with the pass that follows them fused in (ops/linalg.hpp: linear's
// backward; ops/mlp.hpp: gelu_mlp).
//
//   linear_gelu:          h = x W^T + b and a = gelu(h)   x [rows, in], W [out, in], b [out] or null;
//                                                        h, a [rows, out] contiguous
//   gemm_gelu_backward:   C = (A B) * gelu'(h)          A [M, K], B [K, N] any strides; h, C [M, N]
//                                                        contiguous (A B = dL/d gelu(h), C = dL/dh)
//   gemm_and_row_sums:    C = A B, sums[i] = sum_k A[i, k]   C [M, N] row-major, sums [M]
//                                                        (with A = dY^T, B = X: a linear layer's
//                                                        weight gradient and its bias gradient)
//
// The CPU does the extra work inside chord's GEMM, on each tile of C while it is in L1 (the
// activation, and GELU's backward, as tile epilogues) or on A's packed panels (the row sums):
// each saves a pass over a matrix that does not fit in L2. CUDA runs the product on cuBLAS and
// then the pass as its own kernel. The values are the same either way up to rounding.

#include <cstdint>
#include <vector>

#include "chord/backend/cpu/activation.hpp"
#include "chord/backend/cpu/gemm.hpp"
#include "chord/backend/dispatch/activation.hpp"
#include "chord/backend/dispatch/common.hpp"
#include "chord/backend/dispatch/gemm.hpp"
#include "chord/backend/dispatch/reduce.hpp"
#include "chord/core/dtype.hpp"
#include "chord/core/shape.hpp"

namespace chord::backend {

// h [rows, out] = x [rows, in] @ w^T (+ bias) and a [rows, out] = gelu(h); w is [out, in] with
// strides (w_rs, w_cs), bias [out] with stride bias_stride, or null.
template <FloatingPoint T>
void linear_gelu(Device device, int64_t rows, int64_t out, int64_t in, const T* x, int64_t x_rs, int64_t x_cs,
                 const T* w, int64_t w_rs, int64_t w_cs, const T* bias, int64_t bias_stride, T* h, T* a) {
  switch (device.type) {
    case DeviceType::CPU: {  // W^T as [in, out] is w with its strides swapped
      const cpu::GeluIntoEpilogue<T> gelu{a, out};
      cpu::GemmExtras<T> extras{.bias = bias, .bias_stride = bias_stride};
      extras.epilogue = {&cpu::GeluIntoEpilogue<T>::apply, &gelu, &cpu::GeluIntoEpilogue<T>::prefetch};
      return cpu::gemm_fused<T>(rows, out, in, x, x_rs, x_cs, w, w_cs, w_rs, h, out, 1, extras);
    }
    case DeviceType::CUDA:
      backend::linear<T>(device, rows, out, in, x, x_rs, x_cs, w, w_rs, w_cs, bias, bias_stride, h);
      return backend::gelu_forward<T>(device, "linear_gelu", Shape{rows, out}, h, a);
  }
}

// c [M, N] = (A [M, K] @ B [K, N]) * gelu'(h [M, N]); h and c contiguous.
template <FloatingPoint T>
void gemm_gelu_backward(Device device, int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs,
                        const T* b, int64_t b_rs, int64_t b_cs, const T* h, T* c) {
  switch (device.type) {
    case DeviceType::CPU: {
      const cpu::GeluGradEpilogue<T> gelu_grad{h, N};
      cpu::GemmExtras<T> extras;
      extras.epilogue = {&cpu::GeluGradEpilogue<T>::apply, &gelu_grad, &cpu::GeluGradEpilogue<T>::prefetch};
      return cpu::gemm_fused<T>(M, N, K, a, a_rs, a_cs, b, b_rs, b_cs, c, N, 1, extras);
    }
    case DeviceType::CUDA:
      backend::gemm<T>(device, M, N, K, a, a_rs, a_cs, b, b_rs, b_cs, c, N);
      return backend::gelu_backward<T>(device, "gelu_mlp", Shape{M, N}, h, c, c);
  }
}

// c [M, N] = A [M, K] @ B [K, N] (c row-major, row stride N) and row_sums [M] = the sums of A's rows.
template <FloatingPoint T>
void gemm_and_row_sums(Device device, int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs,
                       const T* b, int64_t b_rs, int64_t b_cs, T* c, T* row_sums) {
  switch (device.type) {
    case DeviceType::CPU:
      return cpu::gemm_fused<T>(M, N, K, a, a_rs, a_cs, b, b_rs, b_cs, c, N, 1,
                                cpu::GemmExtras<T>{.a_row_sums = row_sums});
    case DeviceType::CUDA:
      backend::gemm<T>(device, M, N, K, a, a_rs, a_cs, b, b_rs, b_cs, c, N);
      return backend::reduce<T>(device, "linear", ReduceOp::Sum, a, Shape{M, K}, Strides{a_rs, a_cs},
                                std::vector<bool>{false, true}, row_sums);
  }
}

}  // namespace chord::backend
