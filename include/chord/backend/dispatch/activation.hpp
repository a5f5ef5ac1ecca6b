#pragma once
// Dispatch: GELU (tanh form), forward and backward (ops/pointwise.hpp: gelu).
//
// x, y, g, dx: `shape`, contiguous. The CPU runs the vectorized kernels of
// backend/cpu/activation.hpp; CUDA the map kernels with fn::Gelu and fn::GeluDerivative.

#include "chord/backend/cpu/activation.hpp"
#include "chord/backend/dispatch/common.hpp"
#include "chord/backend/functors.hpp"
#include "chord/backend/map.hpp"
#include "chord/core/dtype.hpp"
#include "chord/core/shape.hpp"

namespace chord::backend {

// y = gelu(x)
template <FloatingPoint T>
void gelu_forward(Device device, const char* op, const Shape& shape, const T* x, T* y) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::gelu_forward(x, y, numel_of(shape));
    case DeviceType::CUDA: {
      const Strides strides = contiguous_strides(shape);
      return backend::map(op, device, shape, y, strides, x, strides, fn::Gelu{});
    }
  }
}

// dx = g * gelu'(x)
template <FloatingPoint T>
void gelu_backward(Device device, const char* op, const Shape& shape, const T* x, const T* g, T* dx) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::gelu_backward(x, g, dx, numel_of(shape));
    case DeviceType::CUDA: {
      // fn::TimesDerivative calls df(x, y); GeluDerivative reads x only, so x stands in for y.
      const Strides strides = contiguous_strides(shape);
      return backend::map(op, device, shape, dx, strides, g, strides, x, strides, x, strides,
                          fn::TimesDerivative<fn::GeluDerivative>{fn::GeluDerivative{}});
    }
  }
}

}  // namespace chord::backend
