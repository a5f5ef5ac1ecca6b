#pragma once
// SGD with momentum (the form torch.optim.SGD uses):
//   g <- g + weight_decay * p                (L2 penalty, coupled)
//   buf <- momentum * buf + g                (buf = g at the first step)
//   p <- p - lr * (nesterov ? g + momentum * buf : buf)
// On a GPU, one fused kernel updates every parameter (backend/cuda/optim.hpp).

#include <cmath>
#include <vector>

#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cuda/optim.hpp"
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

  // One update of every parameter that has a gradient. On a GPU: one fused kernel for all of them.
  void step() {
    if (!params_.empty() && params_.front().second.device().is_cuda()) return step_cuda();
    const T lr = static_cast<T>(options_.lr), mu = static_cast<T>(options_.momentum),
            wd = static_cast<T>(options_.weight_decay);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const Tensor<T>& p = params_[i].second;
      const Tensor<T> g = p.grad();
      if (!g.defined()) continue;
      check_gradient("SGD", params_[i].first, p, g, p.device());
      T* w = p.data();
      const T* gr = g.data();
      const bool first = !momentum_buffers_[i].defined();
      if (mu > 0) follow(i, p.device());
      T* buf = mu > 0 ? momentum_buffers_[i].data() : nullptr;
      const bool nesterov = options_.nesterov;
      cpu::parallel_for(p.numel(), 4, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
          T d = gr[k] + wd * w[k];
          if (buf) {
            buf[k] = first ? d : mu * buf[k] + d;
            d = nesterov ? d + mu * buf[k] : buf[k];
          }
          w[k] -= lr * d;
        }
      });
      p.bump_version();
    }
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

  // step() on a GPU: the parameters with a gradient in one table, one sgd_update launch
  // (backend/cuda/optim.hpp; the same formulas and the same rounding of the scalars as the CPU's).
  void step_cuda() {
    const Device device = params_.front().second.device();
    const bool momentum = options_.momentum > 0;
    std::vector<cuda::SGDTensor<T>> table;
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
    const cuda::SGDScalars<T> s{static_cast<T>(options_.lr), static_cast<T>(options_.momentum),
                                static_cast<T>(options_.weight_decay), options_.nesterov};
    if constexpr (built_with_cuda())
      cuda::sgd_update<T>(cuda::Context{device.index, "SGD"}, table.data(), static_cast<int64_t>(table.size()), s);
  }

  NamedParameters<T> params_;
  SGDOptions options_;
  std::vector<Tensor<T>> momentum_buffers_;
};

}  // namespace chord::optim
