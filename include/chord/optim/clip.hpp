#pragma once
// clip_grad_norm: scales all gradients together so that their global L2 norm
// is at most max_norm (as torch.nn.utils.clip_grad_norm_), and returns the
// norm before clipping. The norm is accumulated in double, in parameter order.

#include <cmath>
#include <vector>

#include "chord/backend/cuda/optim.hpp"
#include "chord/core/error.hpp"
#include "chord/core/tensor.hpp"

namespace chord::optim {

namespace clip_detail {
// clip_grad_norm on a GPU: the gradients in one table; one kernel for the norm, one to scale.
template <FloatingPoint T>
double clip_grad_norm_cuda(const std::vector<Tensor<T>>& params, double max_norm, Device device) {
  std::vector<cuda::Buffer<T>> grads;
  for (const auto& p : params) {
    const Tensor<T> g = p.grad();
    if (!g.defined()) continue;
    check(g.device() == device && g.is_contiguous(), "clip_grad_norm", "gradient of shape ", g.shape(), " on ",
          g.device(), ": expected a contiguous gradient on ", device);
    grads.push_back({g.data(), g.numel()});
  }
  if constexpr (built_with_cuda()) {
    const cuda::Context ctx{device.index, "clip_grad_norm"};
    const double norm = std::sqrt(cuda::sum_of_squares<T>(ctx, grads.data(), static_cast<int64_t>(grads.size())));
    const double scale = max_norm / (norm + 1e-6);
    if (scale < 1.0) cuda::scale<T>(ctx, grads.data(), static_cast<int64_t>(grads.size()), scale);
    return norm;
  }
  return 0.0;
}
}  // namespace clip_detail

template <FloatingPoint T>
double clip_grad_norm(const std::vector<Tensor<T>>& params, double max_norm) {
  check(max_norm > 0, "clip_grad_norm", "max_norm must be > 0, got ", max_norm);
  for (const auto& p : params)
    if (p.grad().defined() && p.grad().device().is_cuda())
      return clip_detail::clip_grad_norm_cuda(params, max_norm, p.grad().device());
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
