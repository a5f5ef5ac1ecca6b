#pragma once
// Dispatch: the fused layer-norm kernels (ops/normalization.hpp; formulas in
// backend/cpu/layer_norm.hpp).
//
// x, y, g, dx: [R, D] dense; weight, bias, dweight, dbias: [D] or null (absent / not
// wanted); mean, rstd: [R], written by the forward and read by the backward.

#include <cstdint>

#include "chord/backend/cpu/layer_norm.hpp"
#include "chord/backend/cuda/layer_norm.hpp"
#include "chord/backend/dispatch/common.hpp"
#include "chord/core/dtype.hpp"

namespace chord::backend {

template <FloatingPoint T>
void layer_norm_forward(Device device, const char* op, const T* x, const T* weight, const T* bias, T* y, T* mean,
                        T* rstd, int64_t R, int64_t D, T eps) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::layer_norm_forward(x, weight, bias, y, mean, rstd, R, D, eps);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::layer_norm_forward<T>(cuda::Context{device.index, op}, x, weight, bias, y, mean, rstd, R, D, eps);
      else fail_without_cuda(op, device);
  }
}

template <FloatingPoint T>
void layer_norm_backward(Device device, const char* op, const T* g, const T* x, const T* weight, const T* mean,
                         const T* rstd, int64_t R, int64_t D, T* dx, T* dweight, T* dbias) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::layer_norm_backward(g, x, weight, mean, rstd, R, D, dx, dweight, dbias);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::layer_norm_backward<T>(cuda::Context{device.index, op}, g, x, weight, mean, rstd, R, D, dx,
                                            dweight, dbias);
      else fail_without_cuda(op, device);
  }
}

}  // namespace chord::backend
