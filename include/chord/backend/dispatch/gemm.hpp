#pragma once
// Dispatch: matrix products (ops/linalg.hpp: matmul, linear).
//
//   gemm:          C = A B                    A [M, K], B [K, N] any strides; C [M, N] row-major
//   gemm_batched:  C_i = A_i B_i, i < batch   X_i at x + x_offsets[i]
//   linear:        y = x W^T (+ bias)         x [rows, in], W [out, in], bias [out] or null,
//                                             y [rows, out] contiguous
//
// The CPU runs chord's GEMM (backend/cpu/gemm.hpp), CUDA cuBLAS (backend/cuda/gemm.hpp).
// On CUDA a batch is one strided-batched call when the offsets step evenly (a broadcast
// operand steps by 0), else one call per product; linear on a few rows (decoding) is one
// kernel for bias and product (backend/cuda/linear_rows.hpp), else y = bias broadcast, then
// y += x W^T. The cuBLAS calls name the op "matmul" in their errors.

#include <cstdint>
#include <vector>

#include "chord/backend/cpu/gemm.hpp"
#include "chord/backend/cuda/gemm.hpp"
#include "chord/backend/cuda/linear_rows.hpp"
#include "chord/backend/dispatch/common.hpp"
#include "chord/backend/functors.hpp"
#include "chord/backend/map.hpp"
#include "chord/core/dtype.hpp"
#include "chord/core/shape.hpp"

namespace chord::backend {

template <FloatingPoint T>
void gemm(Device device, int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
          int64_t b_rs, int64_t b_cs, T* c, int64_t c_rs) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::gemm<T>(M, N, K, T(1), a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs, 1);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::gemm_strided_batched<T>(cuda::Context{device.index, "matmul"}, 1, M, N, K, T(1), a, 0, a_rs, a_cs,
                                             b, 0, b_rs, b_cs, c, 0, c_rs, false);
      else fail_without_cuda("matmul", device);
  }
}

template <FloatingPoint T>
void gemm_batched(Device device, int64_t batch, int64_t M, int64_t N, int64_t K, const T* a,
                  const std::vector<int64_t>& a_off, int64_t a_rs, int64_t a_cs, const T* b,
                  const std::vector<int64_t>& b_off, int64_t b_rs, int64_t b_cs, T* c,
                  const std::vector<int64_t>& c_off, int64_t c_rs) {
  switch (device.type) {
    case DeviceType::CPU:
      return cpu::gemm_batched<T>(batch, M, N, K, T(1), a, a_off.data(), a_rs, a_cs, b, b_off.data(), b_rs, b_cs, c,
                                  c_off.data(), c_rs, 1);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda()) {
        const cuda::Context ctx{device.index, "matmul"};
        auto even_step = [batch](const std::vector<int64_t>& off) {
          const int64_t step = batch > 1 ? off[1] - off[0] : 0;
          for (int64_t i = 0; i < batch; ++i)
            if (off[i] != off[0] + i * step) return int64_t{-1};
          return step;
        };
        const int64_t sa = even_step(a_off), sb = even_step(b_off), sc = even_step(c_off);
        if (sa >= 0 && sb >= 0 && sc >= 0) {
          cuda::gemm_strided_batched<T>(ctx, batch, M, N, K, T(1), a + a_off[0], sa, a_rs, a_cs, b + b_off[0], sb,
                                        b_rs, b_cs, c + c_off[0], sc, c_rs, false);
        } else {
          for (int64_t i = 0; i < batch; ++i)
            cuda::gemm_strided_batched<T>(ctx, 1, M, N, K, T(1), a + a_off[i], 0, a_rs, a_cs, b + b_off[i], 0, b_rs,
                                          b_cs, c + c_off[i], 0, c_rs, false);
        }
        return;
      } else {
        fail_without_cuda("matmul", device);
      }
  }
}

// y [rows, out] = x [rows, in] @ w^T (+ bias): w is [out, in] with strides (w_rs, w_cs);
// bias: [out] with stride bias_stride, or null.
template <FloatingPoint T>
void linear(Device device, int64_t rows, int64_t out, int64_t in, const T* x, int64_t x_rs, int64_t x_cs, const T* w,
            int64_t w_rs, int64_t w_cs, const T* bias, int64_t bias_stride, T* y) {
  switch (device.type) {
    case DeviceType::CPU:  // W^T as [in, out] is w with its strides swapped
      if (bias) return cpu::gemm_with_bias<T>(rows, out, in, x, x_rs, x_cs, w, w_cs, w_rs, bias, bias_stride, y, out, 1);
      return cpu::gemm<T>(rows, out, in, T(1), x, x_rs, x_cs, w, w_cs, w_rs, y, out, 1);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda()) {
        if (rows <= cuda::kLinearFewRowsMax && x_cs == 1 && w_cs == 1)  // a few rows: bias and product in one kernel
          return cuda::linear_few_rows<T>(cuda::Context{device.index, "linear"}, rows, out, in, x, x_rs, w, w_rs, bias,
                                          bias ? bias_stride : 0, y);
        if (bias)  // y = bias (broadcast over the rows), then y += x W^T
          backend::map("linear", device, Shape{rows, out}, y, Strides{out, 1}, bias, Strides{0, bias_stride},
                       fn::Identity{});
        return cuda::gemm_strided_batched<T>(cuda::Context{device.index, "matmul"}, 1, rows, out, in, T(1), x, 0, x_rs,
                                             x_cs, w, 0, w_cs, w_rs, y, 0, out, bias != nullptr);
      } else {
        fail_without_cuda("linear", device);
      }
  }
}

}  // namespace chord::backend
