#pragma once
// The autograd graph: a Node is one recorded operation. It holds the closure
// that maps the gradient of its output to the gradients of its inputs, and an
// edge per input to the node that produced that input (empty when the input
// needs no gradient). Reaching a leaf, the edge points at an accumulate node
// that adds the gradient into the leaf's `grad`.
//
// The graph is owned from the output side: a tensor owns its grad_fn, a node
// owns the nodes of its inputs. Nodes never own their outputs (tensors saved
// for backward are saved detached), so the graph has no cycles and is freed
// with the last tensor that refers to it.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/tensor.hpp"

namespace chord::autograd {

template <class T>
class Node {
 public:
  // grad of the output -> grads of the inputs (one per edge; undefined where not needed).
  using BackwardFn = std::function<std::vector<Tensor<T>>(const Tensor<T>& grad_output)>;

  struct Edge {
    std::shared_ptr<Node> node;  // null: that input needs no gradient
    Shape input_shape;           // the shape the gradient for that input must have
  };

  Node(std::string name, std::vector<Edge> edges, BackwardFn fn)
      : name_(std::move(name)), edges_(std::move(edges)), fn_(std::move(fn)) {
    ++live_counter();
  }
  // An accumulate node: gradients that reach it are added into `leaf->grad`.
  explicit Node(std::shared_ptr<TensorImpl<T>> leaf) : name_("AccumulateGrad"), leaf_(std::move(leaf)) {
    ++live_counter();
  }
  ~Node() { --live_counter(); }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }
  const std::vector<Edge>& edges() const { return edges_; }
  const std::shared_ptr<TensorImpl<T>>& leaf() const { return leaf_; }
  bool is_accumulate() const { return leaf_ != nullptr; }
  bool released() const { return released_; }

  std::vector<Tensor<T>> apply(const Tensor<T>& grad_output) const {
    check(!released_, "backward",
          "trying to backward through the graph a second time (its saved tensors were freed by the first "
          "backward; pass retain_graph=true to the first call if you need to), at ",
          name_);
    return fn_(grad_output);
  }

  // Frees the closure and with it the tensors saved for backward.
  void release() {
    if (is_accumulate()) return;
    fn_ = nullptr;
    released_ = true;
  }

  // Number of nodes alive in this process (for tests that prove the graph is freed).
  static int64_t live_count() { return live_counter().load(); }

 private:
  static std::atomic<int64_t>& live_counter() {
    static std::atomic<int64_t> counter{0};
    return counter;
  }

  std::string name_;
  std::vector<Edge> edges_;
  BackwardFn fn_;
  std::shared_ptr<TensorImpl<T>> leaf_;
  bool released_ = false;
};

// A tensor saved for backward, with the version of its storage at save time.
// Reading it after an in-place change of that storage is an error, since the
// gradient would silently be computed from the wrong values.
template <class T>
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor<T>& t, const char* op) : op_(op) {
    if (!t.defined()) return;
    // A detached alias: shares storage (and version counter), holds no graph.
    auto impl = std::make_shared<TensorImpl<T>>();
    impl->storage = t.storage();
    impl->shape = t.shape();
    impl->strides = t.strides();
    impl->offset = t.storage_offset();
    tensor_ = Tensor<T>(std::move(impl));
    version_ = t.version();
  }
  const Tensor<T>& get() const {
    if (tensor_.defined())
      check(tensor_.version() == version_, op_,
            "a tensor saved for backward was modified by an in-place operation after it was saved "
            "(version ", tensor_.version(), ", expected ", version_, ")");
    return tensor_;
  }

 private:
  Tensor<T> tensor_;
  uint64_t version_ = 0;
  const char* op_ = "backward";
};

// True when an op on these inputs must record a node.
template <class T>
bool needs_grad(std::initializer_list<const Tensor<T>*> inputs) {
  if (!is_grad_enabled()) return false;
  for (const Tensor<T>* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}
template <class T, class... More>
bool needs_grad(const Tensor<T>& first, const More&... more) {
  return needs_grad<T>({&first, &more...});
}

template <class T>
typename Node<T>::Edge edge_to(const Tensor<T>& input) {
  if (!input.defined() || !input.requires_grad()) return {nullptr, input.defined() ? input.shape() : Shape{}};
  if (input.grad_fn()) return {input.grad_fn(), input.shape()};
  return {std::make_shared<Node<T>>(input.impl_ptr()), input.shape()};
}

// Records `output = op(inputs...)` in the graph: `backward(grad_output)` must
// return one gradient per input, in order (an undefined Tensor where an input
// needs none). Call only when needs_grad(inputs...) is true.
template <class T, class BackwardFn>
void record(const char* name, const Tensor<T>& output, const std::vector<Tensor<T>>& inputs,
            BackwardFn backward) {
  std::vector<typename Node<T>::Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor<T>& input : inputs) edges.push_back(edge_to(input));
  TensorImpl<T>& out = output.impl();
  out.grad_fn = std::make_shared<Node<T>>(name, std::move(edges), typename Node<T>::BackwardFn(std::move(backward)));
  out.requires_grad = true;
}

}  // namespace chord::autograd
