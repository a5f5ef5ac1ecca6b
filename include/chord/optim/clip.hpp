#pragma once
// clip_grad_norm: scales all gradients together so that their global L2 norm
// is at most max_norm (as torch.nn.utils.clip_grad_norm_), and returns the
// norm before clipping. The norm is accumulated in double, in parameter order.

#include <cmath>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/tensor.hpp"

namespace chord::optim {

template <FloatingPoint T>
double clip_grad_norm(const std::vector<Tensor<T>>& params, double max_norm) {
  check(max_norm > 0, "clip_grad_norm", "max_norm must be > 0, got ", max_norm);
  double total = 0.0;
  for (const auto& p : params) {
    const Tensor<T> g = p.grad();
    if (!g.defined()) continue;
    if (g.is_contiguous()) {
      const T* x = g.data();
      for (int64_t i = 0; i < g.numel(); ++i) total += static_cast<double>(x[i]) * x[i];
    } else {
      g.for_each_offset([&](int64_t off) { total += static_cast<double>(g.data()[off]) * g.data()[off]; });
    }
  }
  const double norm = std::sqrt(total);
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1.0) {
    for (const auto& p : params) {
      const Tensor<T> g = p.grad();
      if (!g.defined()) continue;
      g.for_each_offset([&](int64_t off) { g.data()[off] = static_cast<T>(g.data()[off] * scale); });
    }
  }
  return norm;
}

}  // namespace chord::optim
