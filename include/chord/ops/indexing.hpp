#pragma once
// Indexing with integer tensors: embedding, index_select, gather.
//
//   embedding(weight [V, D], ids [...])         -> [..., D]      out[p, :] = weight[ids[p], :]
//   index_select(x, dim, index [L])             -> x with size L along dim
//   gather(x, dim, index (x's ndim))            -> index's shape  out[i][j] = x[index[i][j]][j]  (dim 0)
//
// embedding's ids may sit on the cpu while the weight is on a GPU (a model's token ids come from
// the host): they are checked where they are and uploaded once, where ids on the GPU would be
// copied to the host for their check (a wait for the GPU). Every other index lives with its data.
//
// Indices are int64 tensors and must lie in [0, size): a negative or too large
// one is an error naming the op, the value, its position and the valid range
// (negative indices do not count from the end here).
//
// Backward is a scatter-add of the gradient into a zero tensor of the input's
// shape. Repeated indices accumulate. It is deterministic: every gradient
// element is summed by one thread, over the positions in ascending order
// (on a GPU too: backend/cuda/indexing.hpp and gather.hpp, no atomics).

#include <algorithm>
#include <concepts>
#include <memory>
#include <string>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/dispatch/indexing.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/view.hpp"

namespace chord::ops {

namespace indexing_detail {

// "[i,j,...]": the multi-index of row-major position `flat` in `shape`.
inline std::string position_string(int64_t flat, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (int d = shape.size() - 1; d >= 0; --d) {
    index[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  std::string s = "[";
  for (std::size_t d = 0; d < index.size(); ++d) {
    if (d) s += ',';
    s += std::to_string(index[d]);
  }
  return s + "]";
}

// The values of `index` in row-major order, each checked to be in [0, limit).
// `what` names the values ("id", "index"), `range_of` says what the limit is.
inline std::vector<int64_t> checked_indices(const char* op, const Tensor<int64_t>& index, int64_t limit,
                                            const char* what, const std::string& range_of) {
  std::vector<int64_t> values = index.to_vector();  // [index.numel()]; a copy from the device for a CUDA index
  for (std::size_t p = 0; p < values.size(); ++p) {
    const int64_t v = values[p];
    if (v < 0)
      fail(op, what, " ", v, " at position ", position_string(static_cast<int64_t>(p), index.shape()),
           " is negative (negative indices are not supported); it must be in [0, ", limit, ") for ", range_of);
    if (v >= limit)
      fail(op, what, " ", v, " at position ", position_string(static_cast<int64_t>(p), index.shape()),
           " is out of range: it must be in [0, ", limit, ") for ", range_of);
  }
  return values;
}

// The dims of `s` in [from, to), as a Shape.
inline Shape dims_range(const Shape& s, int from, int to) {
  Shape out;
  for (int d = from; d < to; ++d) out.push_back(s[d]);
  return out;
}

}  // namespace indexing_detail

// weight [V, D], ids [...] (int64, each in [0, V)) -> [..., D].
// Backward: dweight[v, :] = sum of dout[p, :] over the positions p with ids[p] == v.
template <Element T>
Tensor<T> embedding(const Tensor<T>& weight, const Tensor<int64_t>& ids) {
  check_defined("embedding", weight, "weight");
  check_defined("embedding", ids, "ids");
  if (!ids.device().is_cpu()) check_same_device("embedding", weight.device(), ids.device());
  check(weight.dim() == 2, "embedding", "weight must be 2-D [num_embeddings, embedding_dim], got shape ",
        weight.shape());
  const int64_t V = weight.size(0), D = weight.size(1);
  auto idx = std::make_shared<const std::vector<int64_t>>(indexing_detail::checked_indices(
      "embedding", ids, V, "id", "a weight of shape " + weight.shape().str()));
  const int64_t P = static_cast<int64_t>(idx->size());

  Shape out_shape = ids.shape();
  out_shape.push_back(D);
  Tensor<T> out = Tensor<T>::empty(out_shape, weight.device());  // [..., D] = [P, D]
  const Tensor<T> w = dense(weight);                                    // [V, D]
  const Tensor<int64_t> ids_here = dense(ids.to(weight.device()));  // [P] on the weight's device
  backend::select_rows<T>(weight.device(), "embedding", 1, V, D, P, w.data(), ids_here.data(), out.data());

  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(weight))
      autograd::record("EmbeddingBackward", out, {weight}, [idx, V, D, P](const Tensor<T>& g) {
        const Tensor<T> gc = dense(g);       // [P, D]
        Tensor<T> grad = Tensor<T>::empty(Shape{V, D}, g.device());  // [V, D]
        backend::index_add_rows<T>(g.device(), "embedding", 1, V, D, P, gc.data(), idx->data(), grad.data());
        return std::vector<Tensor<T>>{grad};
      });
  return out;
}

// The slices of x at `index` (1-D, or 0-d for one slice) along dim.
// Backward: the gradient's slices added into a zero tensor of x's shape at `index`.
template <Element T>
Tensor<T> index_select(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index) {
  check_defined("index_select", x);
  check_defined("index_select", index, "index");
  check_same_device("index_select", x.device(), index.device());
  check(x.dim() >= 1, "index_select", "cannot index a 0-d tensor");
  check(index.dim() <= 1, "index_select", "index must be 1-D, got shape ", index.shape());
  const int d = wrap_dim(dim, x.dim(), "index_select");
  const int64_t n = x.shape()[d];
  auto idx = std::make_shared<const std::vector<int64_t>>(indexing_detail::checked_indices(
      "index_select", index, n, "index",
      "dim " + std::to_string(d) + " of size " + std::to_string(n) + " (input shape " + x.shape().str() + ")"));
  const int64_t L = static_cast<int64_t>(idx->size());
  const int64_t outer = numel_of(indexing_detail::dims_range(x.shape(), 0, d));
  const int64_t inner = numel_of(indexing_detail::dims_range(x.shape(), d + 1, x.dim()));

  Shape out_shape = x.shape();
  out_shape[d] = L;
  Tensor<T> out = Tensor<T>::empty(out_shape, x.device());  // [outer, L, inner]
  const Tensor<T> xc = dense(x);                                    // [outer, n, inner]
  const Tensor<int64_t> index_dense = dense(index.reshape(Shape{L}));  // [L] on x's device
  backend::select_rows<T>(x.device(), "index_select", outer, n, inner, L, xc.data(), index_dense.data(), out.data());

  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("IndexSelectBackward", out, {x},
                       [idx, in_shape = x.shape(), outer, n, inner, L](const Tensor<T>& g) {
                         const Tensor<T> gc = dense(g);              // [outer, L, inner]
                         Tensor<T> grad = Tensor<T>::empty(in_shape, g.device());     // [outer, n, inner]
                         backend::index_add_rows<T>(g.device(), "index_select", outer, n, inner, L, gc.data(),
                                                    idx->data(), grad.data());
                         return std::vector<Tensor<T>>{grad};
                       });
  return out;
}

// PyTorch's gather: index has x's number of dims and no dim larger than x's
// (except along `dim`); out has index's shape and, for dim = 1 in 3-D,
// out[i][j][k] = x[i][index[i][j][k]][k].
// Backward: grad[i][index[i][j][k]][k] += dout[i][j][k], into a zero tensor of x's shape.
template <Element T>
Tensor<T> gather(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index) {
  check_defined("gather", x);
  check_defined("gather", index, "index");
  check_same_device("gather", x.device(), index.device());
  check(x.dim() >= 1, "gather", "cannot gather from a 0-d tensor");
  check(index.dim() == x.dim(), "gather", "index of shape ", index.shape(), " has ", index.dim(),
        " dims but the input of shape ", x.shape(), " has ", x.dim(), "; they must have the same number of dims");
  const int d = wrap_dim(dim, x.dim(), "gather");
  for (int k = 0; k < x.dim(); ++k)
    check(k == d || index.shape()[k] <= x.shape()[k], "gather", "index of shape ", index.shape(),
          " is larger than the input of shape ", x.shape(), " in dim ", k);
  const int64_t n = x.shape()[d];
  auto idx = std::make_shared<const std::vector<int64_t>>(indexing_detail::checked_indices(
      "gather", index, n, "index",
      "dim " + std::to_string(d) + " of size " + std::to_string(n) + " (input shape " + x.shape().str() + ")"));

  Tensor<T> out = Tensor<T>::empty(index.shape(), x.device());  // index's shape
  const Tensor<int64_t> index_dense = dense(index);                // index's shape, on x's device
  backend::gather<T>(x.device(), "gather", index.shape(), d, x.data(), x.strides(), index_dense.data(), out.data());

  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("GatherBackward", out, {x}, [idx, in_shape = x.shape(), index_shape = index.shape(), d](
                                                       const Tensor<T>& g) {
        const Tensor<T> gc = dense(g);                               // index's shape
        Tensor<T> grad = Tensor<T>::empty(in_shape, g.device());  // x's shape, contiguous; every element written
        backend::gather_backward<T>(g.device(), "gather", index_shape, d, in_shape, idx->data(), gc.data(),
                                    grad.data());
        return std::vector<Tensor<T>>{grad};
      });
  return out;
}

// Index tensors must hold int64: these overloads turn any other element type
// into a clear error instead of a page of template diagnostics.
template <Element T, Element I>
  requires(!std::same_as<I, int64_t>)
Tensor<T> embedding(const Tensor<T>&, const Tensor<I>&) {
  fail("embedding", "ids must be an int64 tensor, got ", dtype_name<I>());
}
template <Element T, Element I>
  requires(!std::same_as<I, int64_t>)
Tensor<T> index_select(const Tensor<T>&, int64_t, const Tensor<I>&) {
  fail("index_select", "index must be an int64 tensor, got ", dtype_name<I>());
}
template <Element T, Element I>
  requires(!std::same_as<I, int64_t>)
Tensor<T> gather(const Tensor<T>&, int64_t, const Tensor<I>&) {
  fail("gather", "index must be an int64 tensor, got ", dtype_name<I>());
}

}  // namespace chord::ops

namespace chord {
using ops::embedding;
using ops::gather;
using ops::index_select;
}  // namespace chord
