#pragma once
// AdamW: Adam with decoupled weight decay (the update is in
// chord/backend/cpu/adamw.hpp). By default biases, norm gains and embeddings
// get no weight decay; `decay_filter` overrides that rule.

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "chord/backend/dispatch/optim.hpp"
#include "chord/core/grad_mode.hpp"
#include "chord/ops/view.hpp"
#include "chord/optim/parameters.hpp"

namespace chord::optim {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
  // Which parameters get weight decay; empty = decays_by_default.
  std::function<bool(const std::string& name, int dim)> decay_filter = nullptr;
};

template <FloatingPoint T>
class AdamW {
 public:
  AdamW(NamedParameters<T> params, AdamWOptions options) : params_(std::move(params)), options_(std::move(options)) {
    check_options();
    check_parameters("AdamW", params_);
    for (const auto& [name, p] : params_) {
      exp_avg_.push_back(Tensor<T>::zeros(p.shape(), p.device()));
      exp_avg_sq_.push_back(Tensor<T>::zeros(p.shape(), p.device()));
      decays_.push_back(options_.decay_filter ? options_.decay_filter(name, p.dim()) : decays_by_default(name, p.dim()));
    }
  }
  AdamW(const std::vector<Tensor<T>>& params, AdamWOptions options) : AdamW(unnamed(params), std::move(options)) {}

  // One update of every parameter that has a gradient (backend/dispatch/optim.hpp: one after
  // the other on the CPU, one fused kernel for all of them on a GPU).
  void step() {
    ++step_count_;
    if (params_.empty()) return;
    const Device device = params_.front().second.device();
    std::vector<backend::AdamWParam<T>> table;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const Tensor<T>& p = params_[i].second;
      const Tensor<T> g = p.grad();
      if (!g.defined()) continue;
      check_gradient("AdamW", params_[i].first, p, g, device);
      if (exp_avg_[i].device() != device) {  // the model moved after the optimizer was made: the state follows
        exp_avg_[i] = exp_avg_[i].to(device);
        exp_avg_sq_[i] = exp_avg_sq_[i].to(device);
      }
      table.push_back({p.data(), g.data(), exp_avg_[i].data(), exp_avg_sq_[i].data(), p.numel(),
                       decays_[i] ? options_.weight_decay : 0.0});
      p.bump_version();
    }
    backend::adamw_step<T>(device, "AdamW", table,
                           {options_.lr, options_.beta1, options_.beta2, options_.eps, step_count_});
  }

  // Drops every parameter's gradient (the next backward starts from zero).
  void zero_grad() {
    for (auto& [name, p] : params_) p.impl().grad = nullptr;
  }

  double lr() const { return options_.lr; }
  void set_lr(double lr) {
    check(lr >= 0 && std::isfinite(lr), "AdamW", "learning rate must be finite and >= 0, got ", lr);
    options_.lr = lr;
  }
  int64_t step_count() const { return step_count_; }
  const NamedParameters<T>& parameters() const { return params_; }
  bool decays(std::size_t i) const { return decays_.at(i); }
  // Optimizer state, for checkpoints: the first and second moments, per parameter.
  const std::vector<Tensor<T>>& exp_avg() const { return exp_avg_; }
  const std::vector<Tensor<T>>& exp_avg_sq() const { return exp_avg_sq_; }
  void set_step_count(int64_t t) { step_count_ = t; }

 private:
  void check_options() const {
    const auto& o = options_;
    check(o.lr >= 0 && std::isfinite(o.lr), "AdamW", "learning rate must be finite and >= 0, got ", o.lr);
    check(o.beta1 >= 0 && o.beta1 < 1, "AdamW", "beta1 must be in [0, 1), got ", o.beta1);
    check(o.beta2 >= 0 && o.beta2 < 1, "AdamW", "beta2 must be in [0, 1), got ", o.beta2);
    check(o.eps > 0, "AdamW", "eps must be > 0, got ", o.eps);
    check(o.weight_decay >= 0, "AdamW", "weight_decay must be >= 0, got ", o.weight_decay);
  }

  NamedParameters<T> params_;
  AdamWOptions options_;
  std::vector<Tensor<T>> exp_avg_, exp_avg_sq_;
  std::vector<bool> decays_;
  int64_t step_count_ = 0;
};

}  // namespace chord::optim
