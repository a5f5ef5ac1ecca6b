#pragma once
// Dispatch: the triangular part of (batches of) matrices (ops/triangular.hpp: tril, triu).
//
// x: `shape` = [batch..., M, N] (at least 2 dims) with `strides`; out: `shape` contiguous.
// Lower keeps j - i <= diagonal, Upper keeps j - i >= diagonal; the rest is 0.

#include <cstdint>

#include "chord/backend/cpu/triangular.hpp"
#include "chord/backend/cuda/triangular.hpp"
#include "chord/backend/dispatch/common.hpp"
#include "chord/core/shape.hpp"

namespace chord::backend {

enum class Triangle { Lower, Upper };

template <class T>
void triangle(Device device, const char* op, Triangle part, int64_t diagonal, const Shape& shape, const T* x,
              const Strides& strides, T* out) {
  switch (device.type) {
    case DeviceType::CPU: return cpu::triangle(part == Triangle::Upper, diagonal, shape, x, strides, out);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::triangle<T>(cuda::Context{device.index, op},
                                 part == Triangle::Upper ? cuda::Triangle::Upper : cuda::Triangle::Lower, diagonal,
                                 shape, x, strides, out);
      else fail_without_cuda(op, device);
  }
}

}  // namespace chord::backend
