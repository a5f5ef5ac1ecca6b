#pragma once
// clip_grad_norm: scales all gradients together so that their global L2 norm
// is at most max_norm (as torch.nn.utils.clip_grad_norm_), and returns the
// norm before clipping. The norm is accumulated in double, in parameter order
// (the kernels: backend/dispatch/optim.hpp).

#include <cmath>
#include <vector>

#include "chord/backend/dispatch/optim.hpp"
#include "chord/core/error.hpp"
#include "chord/core/tensor.hpp"

namespace chord::optim {

template <FloatingPoint T>
double clip_grad_norm(const std::vector<Tensor<T>>& params, double max_norm) {
  check(max_norm > 0, "clip_grad_norm", "max_norm must be > 0, got ", max_norm);
  std::vector<Tensor<T>> grads;  // the defined gradients, in parameter order
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  const Device device = grads.empty() ? Device::cpu() : grads.front().device();
  for (const Tensor<T>& g : grads)
    check(g.device() == device, "clip_grad_norm", "gradient of shape ", g.shape(), " on ", g.device(),
          ": expected every gradient on ", device, " (the first gradient's device)");
  return backend::clip_grad_norm<T>(device, "clip_grad_norm", grads, max_norm);
}

}  // namespace chord::optim
