#pragma once
// The backward engine: from an output, walks the recorded graph in
// topological order (Kahn's algorithm: a node runs once every node that
// feeds it a gradient has run), summing the gradients that reach a node
// through several paths, and accumulating into the leaves' `grad`.
// Unless retain_graph is set, each node is released after it ran, which
// frees the tensors it saved.

#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/functors.hpp"
#include "chord/backend/map.hpp"
#include "chord/core/error.hpp"
#include "chord/core/grad_mode.hpp"
#include "chord/core/tensor.hpp"

namespace chord::autograd {

namespace detail {

// A new contiguous tensor with the values of `t`.
template <class T>
Tensor<T> contiguous_copy(const Tensor<T>& t) {
  Tensor<T> out = Tensor<T>::empty(t.shape(), t.device());
  backend::map("backward", t.device(), t.shape(), out.data(), out.strides(), t.data(), t.strides(), fn::Identity{});
  return out;
}

// acc += g, in place (acc is owned by the engine or is a leaf's grad).
template <class T>
void add_into(const Tensor<T>& acc, const Tensor<T>& g) {
  check_same_device("backward", acc.device(), g.device());
  backend::map("backward", acc.device(), acc.shape(), acc.data(), acc.strides(), acc.data(), acc.strides(), g.data(),
               g.strides(), fn::Add{});
}

// True when nothing but `t` sees its storage (no other handle, view or saved
// tensor) and it covers that storage densely: it may then become a leaf's grad,
// or be added into in place, without a copy.
template <class T>
bool exclusively_owned(const Tensor<T>& t) {
  return t.impl_ptr().use_count() == 1 && t.storage().use_count() == 1 && t.is_contiguous() &&
         t.storage_offset() == 0 && t.numel() == t.storage()->size();
}

template <class T>
void accumulate_into_leaf(TensorImpl<T>& leaf, const Tensor<T>& g) {
  if (leaf.grad) {
    add_into(Tensor<T>(leaf.grad), g);
  } else if (exclusively_owned(g)) {
    leaf.grad = g.impl_ptr();  // nothing else can see g: take it
  } else {
    leaf.grad = contiguous_copy(g).impl_ptr();  // a copy: g may alias other gradients
  }
}

}  // namespace detail

template <class T>
void run_backward(const Tensor<T>& root, const Tensor<T>& gradient, bool retain_graph) {
  check(root.requires_grad(), "backward",
        "this tensor does not require grad: none of the tensors it was computed from has requires_grad set "
        "(or it was computed under no_grad)");
  Tensor<T> grad_root;
  if (gradient.defined()) {
    check(gradient.shape() == root.shape(), "backward", "gradient of shape ", gradient.shape(),
          " does not match the tensor's shape ", root.shape());
    check_same_device("backward", gradient.device(), root.device());
    grad_root = gradient;
  } else {
    check(root.numel() == 1, "backward", "a gradient can be created implicitly only for a one-element output; ",
          "this one has shape ", root.shape(), ": pass backward(gradient)");
    grad_root = Tensor<T>::ones(root.shape(), root.device());
  }

  NoGradGuard no_grad;  // gradients are computed without recording a graph
  if (root.is_leaf()) {
    detail::accumulate_into_leaf(root.impl(), grad_root);
    return;
  }

  // Count, for every node reachable from the root, how many edges lead into it.
  std::unordered_map<Node<T>*, int> dependencies;
  std::vector<Node<T>*> stack{root.grad_fn().get()};
  dependencies[root.grad_fn().get()] = 0;
  while (!stack.empty()) {
    Node<T>* node = stack.back();
    stack.pop_back();
    for (const auto& edge : node->edges()) {
      if (!edge.node) continue;
      auto [it, inserted] = dependencies.try_emplace(edge.node.get(), 0);
      ++it->second;
      if (inserted) stack.push_back(edge.node.get());
    }
  }

  // The summed gradient of each node's output. `owned` marks a sum the engine
  // allocated itself, which may be added into in place; a gradient as returned
  // by a backward function may alias another one and is copied first, unless
  // nothing else sees it (exclusively_owned).
  struct Pending {
    Tensor<T> grad;
    bool owned = false;
  };
  std::unordered_map<Node<T>*, Pending> pending;
  pending[root.grad_fn().get()] = {grad_root, false};
  std::deque<Node<T>*> ready{root.grad_fn().get()};

  // Called once per edge into `next` after the edge's source has run (or was
  // skipped). When the last one arrives, `next` runs if a gradient reached
  // it; otherwise it is skipped, and that in turn releases the nodes it feeds
  // (so a gradient arriving there by another path is never lost).
  auto release_dependency = [&](Node<T>* next) {
    std::vector<Node<T>*> work{next};
    while (!work.empty()) {
      Node<T>* node = work.back();
      work.pop_back();
      if (--dependencies[node] != 0) continue;
      auto it = pending.find(node);
      if (it != pending.end() && it->second.grad.defined()) {
        ready.push_back(node);
        continue;
      }
      pending.erase(node);
      for (const auto& edge : node->edges())
        if (edge.node) work.push_back(edge.node.get());
      if (!retain_graph) node->release();
    }
  };
  while (!ready.empty()) {
    Node<T>* node = ready.front();
    ready.pop_front();
    Tensor<T> grad_output = std::move(pending[node].grad);
    pending.erase(node);

    if (node->is_accumulate()) {
      detail::accumulate_into_leaf(*node->leaf(), grad_output);
      grad_output = Tensor<T>();
      continue;
    }
    std::vector<Tensor<T>> grads = node->apply(grad_output);
    check(grads.size() == node->edges().size(), node->name().c_str(), "internal: backward returned ", grads.size(),
          " gradients for ", node->edges().size(), " inputs");
    if (!retain_graph) node->release();

    for (std::size_t i = 0; i < grads.size(); ++i) {
      const auto& edge = node->edges()[i];
      if (!edge.node) continue;
      Node<T>* next = edge.node.get();
      if (grads[i].defined()) {
        Tensor<T> g = std::move(grads[i]);
        check(g.shape() == edge.input_shape, node->name().c_str(), "internal: gradient of shape ", g.shape(),
              " for an input of shape ", edge.input_shape);
        Pending& slot = pending[next];
        if (!slot.grad.defined()) {
          slot = {std::move(g), false};
        } else {  // several paths reach this node: sum them
          if (!slot.owned && !detail::exclusively_owned(slot.grad))
            slot.grad = detail::contiguous_copy(slot.grad);
          slot.owned = true;
          detail::add_into(slot.grad, g);
        }
      }
      release_dependency(next);
    }
  }
}

}  // namespace chord::autograd

namespace chord {

template <Element T>
void Tensor<T>::backward(const Tensor& gradient, bool retain_graph) const {
  if constexpr (FloatingPoint<T>) {
    autograd::run_backward(*this, gradient, retain_graph);
  } else {
    fail("backward", "only float tensors have gradients, this one is ", dtype());
  }
}

}  // namespace chord
