#pragma once
// nn::ModuleList: submodules named "0", "1", ..., as torch.nn.ModuleList, so a
// GPT's blocks are named "h.0.attn...", "h.1.attn..." like Hugging Face's.

#include <memory>
#include <string>
#include <vector>

#include "chord/nn/module.hpp"

namespace chord::nn {

template <class M>
class ModuleList : public Module<typename M::value_type> {
 public:
  void push_back(std::shared_ptr<M> module) {
    this->register_module(std::to_string(items_.size()), module);
    items_.push_back(std::move(module));
  }
  M& operator[](std::size_t i) const {
    check(i < items_.size(), "ModuleList", "index ", i, " out of range for ", items_.size(), " modules");
    return *items_[i];
  }
  std::size_t size() const { return items_.size(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<std::shared_ptr<M>> items_;
};

}  // namespace chord::nn
