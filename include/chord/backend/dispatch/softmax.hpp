#pragma once
// Dispatch: the softmax and log_softmax row kernels (ops/softmax.hpp).
//
// x, y, g, gx: [rows, n] dense on `device`.
//   softmax_forward:      y = softmax(x) per row       log_softmax_forward:  y = log_softmax(x)
//   softmax_backward:     gx = y * (g - sum(g * y))    log_softmax_backward: gx = g - exp(y) * sum(g)

#include <cstdint>

#include "chord/backend/cpu/softmax.hpp"
#include "chord/backend/cuda/softmax.hpp"
#include "chord/backend/dispatch/common.hpp"
#include "chord/core/dtype.hpp"

namespace chord::backend {

template <FloatingPoint T>
void softmax_forward(Device device, const char* op, const T* x, T* y, int64_t rows, int64_t n) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::softmax_rows(x, y, rows, n);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda()) return cuda::softmax_rows<T>(cuda::Context{device.index, op}, x, y, rows, n);
      else fail_without_cuda(op, device);
  }
}

template <FloatingPoint T>
void log_softmax_forward(Device device, const char* op, const T* x, T* y, int64_t rows, int64_t n) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::log_softmax_rows(x, y, rows, n);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda()) return cuda::log_softmax_rows<T>(cuda::Context{device.index, op}, x, y, rows, n);
      else fail_without_cuda(op, device);
  }
}

template <FloatingPoint T>
void softmax_backward(Device device, const char* op, const T* y, const T* g, T* gx, int64_t rows, int64_t n) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::softmax_backward_rows(y, g, gx, rows, n);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::softmax_backward_rows<T>(cuda::Context{device.index, op}, y, g, gx, rows, n);
      else fail_without_cuda(op, device);
  }
}

template <FloatingPoint T>
void log_softmax_backward(Device device, const char* op, const T* y, const T* g, T* gx, int64_t rows, int64_t n) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::log_softmax_backward_rows(y, g, gx, rows, n);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::log_softmax_backward_rows<T>(cuda::Context{device.index, op}, y, g, gx, rows, n);
      else fail_without_cuda(op, device);
  }
}

}  // namespace chord::backend
