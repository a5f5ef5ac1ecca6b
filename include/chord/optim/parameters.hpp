#pragma once
// What an optimizer is given: parameters, optionally named (names come from
// nn::Module::named_parameters()), so that rules such as "no weight decay on
// biases, norms and embeddings" can be stated by name and shape.

#include <string>
#include <utility>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/tensor.hpp"

namespace chord::optim {

template <FloatingPoint T>
using NamedParameters = std::vector<std::pair<std::string, Tensor<T>>>;

// Names "0", "1", ... for parameters given without names.
template <FloatingPoint T>
NamedParameters<T> unnamed(const std::vector<Tensor<T>>& params) {
  NamedParameters<T> named;
  for (std::size_t i = 0; i < params.size(); ++i) named.emplace_back(std::to_string(i), params[i]);
  return named;
}

template <FloatingPoint T>
void check_parameters(const char* op, const NamedParameters<T>& params) {
  for (const auto& [name, p] : params) {
    check(p.defined(), op, "parameter ", name, " is undefined");
    check(p.is_leaf() && p.requires_grad(), op, "parameter ", name,
          " must be a leaf tensor that requires grad");
    check(p.is_contiguous(), op, "parameter ", name, " must be contiguous");
    check(p.device() == params.front().second.device(), op, "parameter ", name, " is on ", p.device(), " but ",
          params.front().first, " is on ", params.front().second.device(), ": the parameters must share one device");
  }
}

// A parameter's gradient, before an optimizer writes through its pointer: the parameter's shape,
// contiguous, on `device` (where the update runs).
template <FloatingPoint T>
void check_gradient(const char* op, const std::string& name, const Tensor<T>& p, const Tensor<T>& g, Device device) {
  check(g.shape() == p.shape() && g.is_contiguous() && g.device() == device, op, "gradient of parameter ", name,
        " has shape ", g.shape(), " on ", g.device(), ", expected ", p.shape(), " on ", device);
}

// chord's default weight-decay rule: decay parameters with 2 or more dims, except
// the embedding tables (names containing "wte", "wpe" or "embedding"; with a tied
// head, wte is also the output layer); biases and LayerNorm gains (1-D) get none.
// This differs from nanoGPT, which decays every parameter with 2 or more dims,
// embeddings included.
inline bool decays_by_default(const std::string& name, int dim) {
  const bool embedding = name.find("wte") != std::string::npos || name.find("wpe") != std::string::npos ||
                         name.find("embedding") != std::string::npos;
  return dim >= 2 && !embedding;
}

}  // namespace chord::optim
