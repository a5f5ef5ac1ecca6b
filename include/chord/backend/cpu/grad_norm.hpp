#pragma once
// The global L2 norm of a set of tensors and their common rescaling, on the CPU
// (optim/clip.hpp: clip_grad_norm). The norm is accumulated in double, tensor by
// tensor, each in row-major order.

#include <cstdint>
#include <vector>

#include "chord/core/dtype.hpp"
#include "chord/core/tensor.hpp"

namespace chord::cpu {

// sum over every element x of every tensor of x^2, in double.
template <FloatingPoint T>
double sum_of_squares(const std::vector<Tensor<T>>& tensors) {
  double total = 0.0;
  for (const Tensor<T>& g : tensors) {
    if (g.is_contiguous()) {
      const T* x = g.data();
      for (int64_t i = 0; i < g.numel(); ++i) total += static_cast<double>(x[i]) * x[i];
    } else {
      g.for_each_offset([&](int64_t off) { total += static_cast<double>(g.data()[off]) * g.data()[off]; });
    }
  }
  return total;
}

// x = T(x * factor) for every element of every tensor.
template <FloatingPoint T>
void scale(const std::vector<Tensor<T>>& tensors, double factor) {
  for (const Tensor<T>& g : tensors)
    g.for_each_offset([&](int64_t off) { g.data()[off] = static_cast<T>(g.data()[off] * factor); });
}

}  // namespace chord::cpu
