#pragma once
// SGD with momentum (the form torch.optim.SGD uses):
//   g <- g + weight_decay * p                (L2 penalty, coupled)
//   buf <- momentum * buf + g                (buf = g at the first step)
//   p <- p - lr * (nesterov ? g + momentum * buf : buf)

#include <cmath>
#include <vector>

#include "chord/backend/cpu/parallel.hpp"
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
    for (const auto& [name, p] : params_)
      check(p.device().is_cpu(), "SGD", "not implemented on cuda (parameter ", name, " is on ", p.device(),
            "); use AdamW, or train on the cpu");
    momentum_buffers_.resize(params_.size());
  }

  void step() {
    const T lr = static_cast<T>(options_.lr), mu = static_cast<T>(options_.momentum),
            wd = static_cast<T>(options_.weight_decay);
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const Tensor<T>& p = params_[i].second;
      const Tensor<T> g = p.grad();
      if (!g.defined()) continue;
      check(g.shape() == p.shape() && g.is_contiguous(), "SGD", "gradient of parameter ", i, " has shape ",
            g.shape(), ", expected ", p.shape());
      T* w = p.data();
      const T* gr = g.data();
      const bool first = !momentum_buffers_[i].defined();
      if (mu > 0 && first) momentum_buffers_[i] = Tensor<T>::zeros(p.shape());
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
  NamedParameters<T> params_;
  SGDOptions options_;
  std::vector<Tensor<T>> momentum_buffers_;
};

}  // namespace chord::optim
