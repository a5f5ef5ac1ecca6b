#pragma once
// nn::Module: the base of every layer, as torch.nn.Module. A module registers
// its parameters, buffers and submodules by name; named_parameters() walks
// them depth-first in registration order, so names ("h.0.attn.c_attn.weight")
// and order are stable, which checkpoints and optimizers rely on.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/grad_mode.hpp"
#include "chord/core/tensor.hpp"
#include "chord/ops/inplace.hpp"
#include "chord/ops/view.hpp"

namespace chord::nn {

template <FloatingPoint T>
using NamedTensors = std::vector<std::pair<std::string, Tensor<T>>>;

template <FloatingPoint T>
class Module {
 public:
  using value_type = T;
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;  // a module owns its parameters: copying would alias them silently
  Module& operator=(const Module&) = delete;

  // Every parameter of this module and its submodules, "child.name" style, in registration order.
  NamedTensors<T> named_parameters() const {
    NamedTensors<T> out;
    collect(out, "", /*buffers=*/false);
    return out;
  }
  std::vector<Tensor<T>> parameters() const {
    std::vector<Tensor<T>> out;
    for (auto& [name, p] : named_parameters()) out.push_back(p);
    return out;
  }
  NamedTensors<T> named_buffers() const {
    NamedTensors<T> out;
    collect(out, "", /*buffers=*/true);
    return out;
  }
  int64_t num_parameters() const {
    int64_t n = 0;
    for (auto& [name, p] : named_parameters()) n += p.numel();
    return n;
  }

  // Drops the gradients of all parameters.
  void zero_grad() {
    for (auto& [name, p] : named_parameters()) p.impl().grad = nullptr;
  }

  // Training mode (dropout active) or evaluation mode, for this module and all below it.
  void train(bool on = true) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
  }
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Moves every parameter and buffer to `device`, in place: the handles the
  // layers hold keep referring to the same tensors, now on the new device.
  // Throws chord::Error where this build or machine has no such device.
  void to(Device device) {
    for (auto& [name, t] : state_dict()) {
      if (t.device() == device) continue;
      const Tensor<T> moved = t.detach().to(device);
      TensorImpl<T>& impl = t.impl();
      impl.storage = moved.storage();
      impl.strides = moved.strides();
      impl.offset = moved.storage_offset();
      impl.grad = nullptr;
    }
  }

  // Parameters then buffers, by name: what a checkpoint stores.
  NamedTensors<T> state_dict() const {
    NamedTensors<T> out = named_parameters();
    for (auto& entry : named_buffers()) out.push_back(entry);
    return out;
  }

  // Copies values into this module's tensors. Every name must match one of
  // state_dict()'s, with the same shape; with strict, none may be missing.
  void load_state_dict(const NamedTensors<T>& values, bool strict = true) {
    NamedTensors<T> mine = state_dict();
    std::vector<bool> loaded(mine.size(), false);
    for (const auto& [name, value] : values) {
      std::size_t i = 0;
      while (i < mine.size() && mine[i].first != name) ++i;
      check(i < mine.size(), "load_state_dict", "unexpected tensor '", name, "': this module has no such parameter");
      check(value.shape() == mine[i].second.shape(), "load_state_dict", "tensor '", name, "' has shape ",
            value.shape(), " but the module expects ", mine[i].second.shape());
      loaded[i] = true;
    }
    if (strict)
      for (std::size_t i = 0; i < mine.size(); ++i)
        check(loaded[i], "load_state_dict", "missing tensor '", mine[i].first, "'");
    // Copy only after every check passed: a failed load leaves the module unchanged.
    NoGradGuard no_grad;
    for (const auto& [name, value] : values)
      for (auto& [my_name, mine_t] : mine)
        if (my_name == name) mine_t.copy_(value);
  }

 protected:
  // Registers a parameter (marked requires_grad) and returns it (a handle to the same tensor).
  Tensor<T> register_parameter(const std::string& name, Tensor<T> value) {
    check_new_name(name);
    check(value.defined(), "register_parameter", "parameter '", name, "' is undefined");
    value.set_requires_grad(true);
    parameters_.emplace_back(name, value);
    return value;
  }
  // Registers a tensor that is saved with the module but not trained.
  Tensor<T> register_buffer(const std::string& name, Tensor<T> value) {
    check_new_name(name);
    buffers_.emplace_back(name, value);
    return value;
  }
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    check_new_name(name);
    check(child != nullptr, "register_module", "submodule '", name, "' is null");
    child->train(training_);
    children_.emplace_back(name, child);
    return child;
  }

 private:
  void check_new_name(const std::string& name) const {
    check(!name.empty() && name.find('.') == std::string::npos, "Module",
          "invalid name '", name, "': names are non-empty and contain no '.'");
    auto taken = [&](const auto& list) {
      for (const auto& entry : list)
        if (entry.first == name) return true;
      return false;
    };
    check(!taken(parameters_) && !taken(buffers_) && !taken(children_), "Module", "name '", name,
          "' is already registered");
  }
  void collect(NamedTensors<T>& out, const std::string& prefix, bool buffers) const {
    for (const auto& [name, t] : buffers ? buffers_ : parameters_) out.emplace_back(prefix + name, t);
    for (const auto& [name, child] : children_) child->collect(out, prefix + name + ".", buffers);
  }

  NamedTensors<T> parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace chord::nn
