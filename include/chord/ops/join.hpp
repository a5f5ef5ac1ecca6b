#pragma once
// Joining and splitting along a dim: cat, stack, split, chunk.
//
//   cat({[2,3], [4,3]}, 0)   -> [6,3]      sizes must match except along dim
//   stack({[2,3], [2,3]}, 1) -> [2,2,3]    shapes must match; a new dim at `dim`
//   split(x [7,3], 3, 0)     -> [3,3], [3,3], [1,3]   views of x (last chunk smaller)
//   split(x [7,3], {2,5}, 0) -> [2,3], [5,3]          views; the sizes must sum to 7
//   chunk(x [7,3], 3, 0)     -> split(x, ceil(7/3) = 3, 0)
//
// cat and stack copy into a new tensor; their backward hands each input the
// slice of the gradient it occupied (a view of the gradient, no copy).
// split and chunk return views (narrow), which carry their own backward.

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/map.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/view.hpp"

namespace chord::ops {

namespace join_detail {

template <Element T>
bool any_needs_grad(const std::vector<Tensor<T>>& inputs) {
  if constexpr (FloatingPoint<T>) {
    if (!is_grad_enabled()) return false;
    for (const Tensor<T>& t : inputs)
      if (t.requires_grad()) return true;
  }
  return false;
}

// Copies `src` into the window of `dst` with src's shape, dst's strides, starting `offset` elements into dst.
template <Element T>
void copy_into(const Tensor<T>& dst, int64_t offset, const Tensor<T>& src) {
  if (src.numel() == 0) return;
  backend::map("cat", dst.device(), src.shape(), dst.data() + offset, dst.strides(), src.data(), src.strides(),
               fn::Identity{});
}

// The list's checks common to cat and stack: non-empty, defined, one device.
template <Element T>
void check_list(const char* op, const std::vector<Tensor<T>>& tensors) {
  check(!tensors.empty(), op, "expected a non-empty list of tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    check(tensors[i].defined(), op, "tensor ", i, " of the list is undefined");
    check_same_device(op, tensors[0].device(), tensors[i].device());
  }
}

inline std::string list_string(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "]";
}

}  // namespace join_detail

// Concatenates along an existing dim. Backward: input i gets narrow(grad, dim, start_i, size_i).
template <Element T>
Tensor<T> cat(const std::vector<Tensor<T>>& tensors, int64_t dim = 0) {
  join_detail::check_list("cat", tensors);
  const Tensor<T>& first = tensors[0];
  check(first.dim() > 0, "cat", "a 0-d tensor (tensor 0) cannot be concatenated; unsqueeze it or use stack");
  const int d = wrap_dim(dim, first.dim(), "cat");
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  std::vector<int64_t> sizes;  // [tensors.size()]: each input's extent along d
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor<T>& t = tensors[i];
    check(t.dim() == first.dim(), "cat", "tensor ", i, " has shape ", t.shape(), " but tensor 0 has shape ",
          first.shape(), ": they must have the same number of dims");
    for (int k = 0; k < t.dim(); ++k)
      check(k == d || t.shape()[k] == first.shape()[k], "cat", "tensor ", i, " has shape ", t.shape(),
            " but tensor 0 has shape ", first.shape(), ": sizes must match except in dim ", d, " (they differ in dim ",
            k, ")");
    sizes.push_back(t.shape()[d]);
    out_shape[d] += t.shape()[d];
  }

  Tensor<T> out = Tensor<T>::empty(out_shape, first.device());  // out_shape, contiguous
  int64_t start = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    join_detail::copy_into(out, start * out.strides()[d], tensors[i]);
    start += sizes[i];
  }

  if constexpr (FloatingPoint<T>)
    if (join_detail::any_needs_grad(tensors)) {
      std::vector<bool> need;
      for (const Tensor<T>& t : tensors) need.push_back(t.requires_grad());
      autograd::record("CatBackward", out, tensors, [d, sizes, need](const Tensor<T>& g) {
        std::vector<Tensor<T>> grads(sizes.size());
        int64_t s = 0;
        for (std::size_t i = 0; i < sizes.size(); ++i) {
          if (need[i]) grads[i] = narrow(g, d, s, sizes[i]);
          s += sizes[i];
        }
        return grads;
      });
    }
  return out;
}

// Joins equal-shaped tensors along a new dim at position `dim` (in [-(n+1), n]).
// Backward: input i gets select(grad, dim, i).
template <Element T>
Tensor<T> stack(const std::vector<Tensor<T>>& tensors, int64_t dim = 0) {
  join_detail::check_list("stack", tensors);
  const Tensor<T>& first = tensors[0];
  for (std::size_t i = 1; i < tensors.size(); ++i)
    check(tensors[i].shape() == first.shape(), "stack", "tensor ", i, " has shape ", tensors[i].shape(),
          " but tensor 0 has shape ", first.shape(), ": stack needs tensors of equal shape");
  const int d = wrap_dim(dim, first.dim() + 1, "stack");
  Shape out_shape = first.shape();
  out_shape.insert(d, static_cast<int64_t>(tensors.size()));
  Tensor<T> out = Tensor<T>::empty(out_shape, first.device());  // out_shape, contiguous
  // tensor i lands in out.select(d, i): out's strides without dim d.
  Strides window_strides = out.strides();
  window_strides.erase(d);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].numel() == 0) continue;
    backend::map("stack", first.device(), first.shape(), out.data() + static_cast<int64_t>(i) * out.strides()[d],
                 window_strides, tensors[i].data(), tensors[i].strides(), fn::Identity{});
  }

  if constexpr (FloatingPoint<T>)
    if (join_detail::any_needs_grad(tensors)) {
      std::vector<bool> need;
      for (const Tensor<T>& t : tensors) need.push_back(t.requires_grad());
      autograd::record("StackBackward", out, tensors, [d, need](const Tensor<T>& g) {
        std::vector<Tensor<T>> grads(need.size());
        for (std::size_t i = 0; i < need.size(); ++i)
          if (need[i]) grads[i] = select(g, d, static_cast<int64_t>(i));
        return grads;
      });
    }
  return out;
}

// Braced lists: cat({a, b}, 1), stack({a, b}).
template <Element T>
Tensor<T> cat(std::initializer_list<Tensor<T>> tensors, int64_t dim = 0) {
  return cat(std::vector<Tensor<T>>(tensors), dim);
}
template <Element T>
Tensor<T> stack(std::initializer_list<Tensor<T>> tensors, int64_t dim = 0) {
  return stack(std::vector<Tensor<T>>(tensors), dim);
}

// Views of x along dim of split_size elements each (the last one smaller when
// split_size does not divide the size).
template <Element T>
std::vector<Tensor<T>> split(const Tensor<T>& x, int64_t split_size, int64_t dim = 0) {
  check_defined("split", x);
  check(x.dim() > 0, "split", "cannot split a 0-d tensor");
  const int d = wrap_dim(dim, x.dim(), "split");
  check(split_size > 0, "split", "split_size must be positive, got ", split_size);
  const int64_t n = x.shape()[d];
  std::vector<Tensor<T>> parts;
  if (n == 0) parts.push_back(narrow(x, d, 0, 0));
  for (int64_t start = 0; start < n; start += split_size) parts.push_back(narrow(x, d, start, std::min(split_size, n - start)));
  return parts;
}

// Views of x along dim with the given sizes, which must sum to x.size(dim).
// (A one-element braced list, split(x, {2}, d), picks the overload above:
// split_size 2. Write split(x, std::vector<int64_t>{2}, d) for one size.)
template <Element T>
std::vector<Tensor<T>> split(const Tensor<T>& x, const std::vector<int64_t>& sizes, int64_t dim = 0) {
  check_defined("split", x);
  check(x.dim() > 0, "split", "cannot split a 0-d tensor");
  const int d = wrap_dim(dim, x.dim(), "split");
  const int64_t n = x.shape()[d];
  int64_t total = 0;
  for (int64_t s : sizes) {
    check(s >= 0, "split", "sizes ", join_detail::list_string(sizes), " contain the negative size ", s);
    total += s;
  }
  check(total == n, "split", "sizes ", join_detail::list_string(sizes), " sum to ", total, " but dim ", d,
        " of the input of shape ", x.shape(), " has size ", n);
  std::vector<Tensor<T>> parts;
  int64_t start = 0;
  for (int64_t s : sizes) {
    parts.push_back(narrow(x, d, start, s));
    start += s;
  }
  return parts;
}

// At most `chunks` views of x along dim, each of ceil(size / chunks) elements
// but the last (as torch.chunk: fewer chunks when the size runs out first).
template <Element T>
std::vector<Tensor<T>> chunk(const Tensor<T>& x, int64_t chunks, int64_t dim = 0) {
  check_defined("chunk", x);
  check(chunks > 0, "chunk", "the number of chunks must be positive, got ", chunks);
  check(x.dim() > 0, "chunk", "cannot chunk a 0-d tensor");
  const int64_t n = x.shape()[wrap_dim(dim, x.dim(), "chunk")];
  return split(x, std::max<int64_t>(1, (n + chunks - 1) / chunks), dim);
}

}  // namespace chord::ops

namespace chord {
using ops::cat;
using ops::chunk;
using ops::split;
using ops::stack;
}  // namespace chord
