#pragma once
// SGD with momentum (the form torch.optim.SGD uses):
//   g <- g + weight_decay * p                (L2 penalty, coupled)
//   buf <- momentum * buf + g                (buf = g at the first step)
//   p <- p - lr * (nesterov ? g + momentum * buf : buf)
// On a GPU, one fused kernel updates every parameter (backend/cuda/optim.hpp).

#include <cmath>
#include <vector>

#include "chord/backend/dispatch/optim.hpp"
#include "chord/optim/parameters.hpp"

namespace chord::optim {

struct SGDOptions {
  double lr = 1e-2;
  double momentum = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

template <FloatingPoint T>
class SGD {
 public:
  SGD(const std::vector<Tensor<T>>& params, SGDOptions options) : params_(unnamed(params)), options_(options) {
    check(options.lr >= 0 && std::isfinite(options.lr), "SGD", "learning rate must be finite and >= 0, got ",
          options.lr);
    check(options.momentum >= 0, "SGD", "momentum must be >= 0, got ", options.momentum);
    check(options.weight_decay >= 0, "SGD", "weight_decay must be >= 0, got ", options.weight_decay);
    check(!options.nesterov || options.momentum > 0, "SGD", "nesterov needs a positive momentum");
    check_parameters("SGD", params_);
    momentum_buffers_.resize(params_.size());
  }

  // One update of every parameter that has a gradient (backend/dispatch/optim.hpp: one after
  // the other on the CPU, one fused kernel for all of them on a GPU).
  void step() {
    if (params_.empty()) return;
    const Device device = params_.front().second.device();
    const bool momentum = options_.momentum > 0;
    std::vector<backend::SGDParam<T>> table;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const Tensor<T>& p = params_[i].second;
      const Tensor<T> g = p.grad();
      if (!g.defined()) continue;
      check_gradient("SGD", params_[i].first, p, g, device);
      const bool first = !momentum_buffers_[i].defined();
      if (momentum) follow(i, device);
      table.push_back({p.data(), g.data(), momentum ? momentum_buffers_[i].data() : nullptr, p.numel(), first});
      p.bump_version();
    }
    backend::sgd_step<T>(device, "SGD", table,
                         {options_.lr, options_.momentum, options_.weight_decay, options_.nesterov});
  }

  void zero_grad() {
    for (auto& [name, p] : params_) p.impl().grad = nullptr;
  }
  double lr() const { return options_.lr; }
  void set_lr(double lr) { options_.lr = lr; }

 private:
  // Makes parameter i's momentum buffer exist on `device`: zeros at the first step, moved there
  // when the model moved after the optimizer was made.
  void follow(std::size_t i, Device device) {
    Tensor<T>& buf = momentum_buffers_[i];
    if (!buf.defined()) buf = Tensor<T>::zeros(params_[i].second.shape(), device);
    else if (buf.device() != device) buf = buf.to(device);
  }

  NamedParameters<T> params_;
  SGDOptions options_;
  std::vector<Tensor<T>> momentum_buffers_;
};

}  // namespace chord::optim
