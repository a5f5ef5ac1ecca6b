#pragma once
// View operations: results share storage with their input (as in PyTorch),
// and their backward maps the gradient back to the input's shape.
// reshape copies only when the input's strides cannot express the new shape;
// contiguous copies only when needed; clone always copies; detach shares
// storage but leaves the graph.

#include <algorithm>
#include <numeric>
#include <optional>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/dispatch/copy.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/reduction.hpp"

namespace chord::ops {

// A tensor sharing x's storage with new metadata (no autograd).
template <Element T>
Tensor<T> alias(const Tensor<T>& x, const Shape& shape, const Strides& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl<T>>();
  impl->storage = x.storage();
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  return Tensor<T>(std::move(impl));
}

template <Element T>
Tensor<T> detach(const Tensor<T>& x) {
  check_defined("detach", x);
  return alias(x, x.shape(), x.strides(), x.storage_offset());
}

// Strides that view (shape, strides) as new_shape without copying, if any
// exist. PyTorch's rule: walk the old dims from the innermost, cutting them
// into chunks that are contiguous with each other; each chunk must be covered
// exactly by a run of new dims.
inline std::optional<Strides> view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& new_shape) {
  if (numel_of(old_shape) == 0) return contiguous_strides(new_shape);
  const Shape shape = old_shape.empty() ? Shape{1} : old_shape;
  const Strides strides = old_shape.empty() ? Strides{1} : old_strides;
  Strides out = Shape::filled(new_shape.size(), 1);
  int view_d = new_shape.size() - 1;
  int64_t chunk_base_stride = strides.back(), tensor_numel = 1, view_numel = 1;
  for (int d = shape.size() - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    const bool chunk_ends = d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
      out[view_d] = view_numel * chunk_base_stride;
      view_numel *= new_shape[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (d > 0) {
      chunk_base_stride = strides[d - 1];
      tensor_numel = view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

// Resolves one -1 in a requested shape and checks the element count.
inline Shape infer_shape(const char* op, const Shape& requested, int64_t numel, const Shape& from) {
  Shape shape = requested;
  int infer = -1;
  Shape known_dims;  // the requested sizes without the -1
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      check(infer < 0, op, "only one dimension can be -1, got ", requested);
      infer = d;
    } else {
      check(shape[d] >= 0, op, "invalid size ", shape[d], " in shape ", requested);
      known_dims.push_back(shape[d]);
    }
  }
  const int64_t known = checked_numel(known_dims, op);
  if (infer >= 0) {
    check(known != 0 && numel % known == 0, op, "shape ", requested, " is invalid for input of shape ", from);
    shape[infer] = numel / known;
  }
  check(numel_of(shape) == numel, op, "shape ", requested, " is invalid for input of shape ", from, " (", numel,
        " elements)");
  return shape;
}

// Records a view's backward: the gradient reshaped to the input's shape.
template <FloatingPoint T>
void record_reshape(const char* name, const Tensor<T>& out, const Tensor<T>& x) {
  autograd::record(name, out, {x}, [in_shape = x.shape()](const Tensor<T>& g) {
    Tensor<T> gc = dense(g);
    return std::vector<Tensor<T>>{alias(gc, in_shape, contiguous_strides(in_shape), gc.storage_offset())};
  });
}

template <Element T>
Tensor<T> view(const Tensor<T>& x, const Shape& requested) {
  check_defined("view", x);
  const Shape shape = infer_shape("view", requested, x.numel(), x.shape());
  auto strides = view_strides(x.shape(), x.strides(), shape);
  check(strides.has_value(), "view", "a tensor of shape ", x.shape(), " and strides ", x.strides(),
        " cannot be viewed as ", shape, " without a copy; use reshape()");
  Tensor<T> out = alias(x, shape, *strides, x.storage_offset());
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x)) record_reshape("ViewBackward", out, x);
  return out;
}

template <Element T>
Tensor<T> reshape(const Tensor<T>& x, const Shape& requested) {
  check_defined("reshape", x);
  const Shape shape = infer_shape("reshape", requested, x.numel(), x.shape());
  auto strides = view_strides(x.shape(), x.strides(), shape);
  Tensor<T> out = strides ? alias(x, shape, *strides, x.storage_offset())
                          : alias(copy_contiguous(x), shape, contiguous_strides(shape), 0);
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x)) record_reshape("ReshapeBackward", out, x);
  return out;
}

template <Element T>
Tensor<T> flatten(const Tensor<T>& x, int64_t start_dim = 0, int64_t end_dim = -1) {
  check_defined("flatten", x);
  if (x.dim() == 0) return reshape(x, Shape{1});
  const int s = wrap_dim(start_dim, x.dim(), "flatten"), e = wrap_dim(end_dim, x.dim(), "flatten");
  check(s <= e, "flatten", "start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape shape;
  for (int d = 0; d < s; ++d) shape.push_back(x.shape()[d]);
  int64_t merged = 1;
  for (int d = s; d <= e; ++d) merged *= x.shape()[d];
  shape.push_back(merged);
  for (int d = e + 1; d < x.dim(); ++d) shape.push_back(x.shape()[d]);
  return reshape(x, shape);
}

template <Element T>
Tensor<T> unsqueeze(const Tensor<T>& x, int64_t dim) {
  check_defined("unsqueeze", x);
  check(dim >= -(x.dim() + 1) && dim <= x.dim(), "unsqueeze", "dim ", dim, " is out of range for a tensor of shape ",
        x.shape(), " (expected a dim in [", -(x.dim() + 1), ", ", x.dim(), "])");
  const int d = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape(), strides = x.strides();
  shape.insert(d, 1);
  strides.insert(d, d < x.dim() ? x.strides()[d] * x.shape()[d] : 1);
  Tensor<T> out = alias(x, shape, strides, x.storage_offset());
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x)) record_reshape("UnsqueezeBackward", out, x);
  return out;
}

// Removes dim (which must have size 1), or every size-1 dim when dim is omitted.
template <Element T>
Tensor<T> squeeze(const Tensor<T>& x, std::optional<int64_t> dim = std::nullopt) {
  check_defined("squeeze", x);
  Shape shape, strides;
  const int only = dim ? wrap_dim(*dim, x.dim(), "squeeze") : -1;
  for (int d = 0; d < x.dim(); ++d) {
    const bool drop = x.shape()[d] == 1 && (only < 0 || d == only);
    if (!drop) {
      shape.push_back(x.shape()[d]);
      strides.push_back(x.strides()[d]);
    }
  }
  Tensor<T> out = alias(x, shape, strides, x.storage_offset());
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x)) record_reshape("SqueezeBackward", out, x);
  return out;
}

template <Element T>
Tensor<T> permute(const Tensor<T>& x, const Shape& dims) {
  check_defined("permute", x);
  check(dims.size() == x.dim(), "permute", "expected ", x.dim(), " dims for a tensor of shape ", x.shape(), ", got ",
        dims);
  Shape shape, strides, inverse = Shape::filled(x.dim(), -1);
  for (int i = 0; i < dims.size(); ++i) {
    const int d = wrap_dim(dims[i], x.dim(), "permute");
    check(inverse[d] < 0, "permute", "dim ", dims[i], " repeats in ", dims);
    inverse[d] = i;
    shape.push_back(x.shape()[d]);
    strides.push_back(x.strides()[d]);
  }
  Tensor<T> out = alias(x, shape, strides, x.storage_offset());
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("PermuteBackward", out, {x}, [inverse](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{permute(g, inverse)};
      });
  return out;
}

template <Element T>
Tensor<T> transpose(const Tensor<T>& x, int64_t dim0, int64_t dim1) {
  check_defined("transpose", x);
  Shape dims;
  for (int d = 0; d < x.dim(); ++d) dims.push_back(d);
  if (x.dim() == 0) return permute(x, dims);
  std::swap(dims[wrap_dim(dim0, x.dim(), "transpose")], dims[wrap_dim(dim1, x.dim(), "transpose")]);
  return permute(x, dims);
}

// Elements start, start+step, ... below end along dim (end clamped to the size, as in Python).
template <Element T>
Tensor<T> slice(const Tensor<T>& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1) {
  check_defined("slice", x);
  check(x.dim() > 0, "slice", "cannot slice a 0-d tensor");
  const int d = wrap_dim(dim, x.dim(), "slice");
  const int64_t n = x.shape()[d];
  check(step > 0, "slice", "step must be positive, got ", step);
  if (start < 0) start += n;
  if (end < 0) end += n;
  check(start >= 0 && start <= n, "slice", "start ", start, " is out of range for dimension ", d, " of size ", n);
  end = std::clamp<int64_t>(end, start, n);
  Shape shape = x.shape(), strides = x.strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] = x.strides()[d] * step;
  Tensor<T> out = alias(x, shape, strides, x.storage_offset() + start * x.strides()[d]);
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("SliceBackward", out, {x}, [in_shape = x.shape(), d, start, end, step](const Tensor<T>& g) {
        Tensor<T> grad = Tensor<T>::zeros(in_shape, g.device());
        Tensor<T> window = slice(grad, d, start, end, step);
        map_inplace("slice", window, g, fn::Second{});
        return std::vector<Tensor<T>>{grad};
      });
  return out;
}

template <Element T>
Tensor<T> narrow(const Tensor<T>& x, int64_t dim, int64_t start, int64_t length) {
  check_defined("narrow", x);
  check(x.dim() > 0, "narrow", "cannot narrow a 0-d tensor");
  const int d = wrap_dim(dim, x.dim(), "narrow");
  const int64_t n = x.shape()[d];
  if (start < 0) start += n;
  check(start >= 0 && length >= 0 && start + length <= n, "narrow", "range [", start, ", ", start + length,
        ") is out of range for dimension ", d, " of size ", n);
  return slice(x, d, start, start + length);
}

// The sub-tensor at `index` along dim (that dim removed).
template <Element T>
Tensor<T> select(const Tensor<T>& x, int64_t dim, int64_t index) {
  check_defined("select", x);
  check(x.dim() > 0, "select", "cannot select from a 0-d tensor");
  const int d = wrap_dim(dim, x.dim(), "select");
  const int64_t n = x.shape()[d];
  check(index >= -n && index < n, "select", "index ", index, " is out of range for dimension ", d, " of size ", n);
  if (index < 0) index += n;
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(d);
  strides.erase(d);
  Tensor<T> out = alias(x, shape, strides, x.storage_offset() + index * x.strides()[d]);
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("SelectBackward", out, {x}, [in_shape = x.shape(), d, index](const Tensor<T>& g) {
        Tensor<T> grad = Tensor<T>::zeros(in_shape, g.device());
        map_inplace("select", select(grad, d, index), g, fn::Second{});
        return std::vector<Tensor<T>>{grad};
      });
  return out;
}

// Broadcasts size-1 dims (and new leading dims) to `shape` without copying; -1 keeps a size.
template <Element T>
Tensor<T> expand(const Tensor<T>& x, const Shape& requested) {
  check_defined("expand", x);
  check(requested.size() >= x.dim(), "expand", "cannot expand shape ", x.shape(), " to fewer dims ", requested);
  Shape shape = requested;
  const int lead = requested.size() - x.dim();
  for (int d = 0; d < x.dim(); ++d) {
    if (shape[lead + d] == -1) shape[lead + d] = x.shape()[d];
    check(x.shape()[d] == shape[lead + d] || x.shape()[d] == 1, "expand", "cannot expand shape ", x.shape(), " to ",
          requested);
  }
  for (int d = 0; d < lead; ++d) check(shape[d] >= 0, "expand", "invalid size in ", requested);
  (void)checked_numel(shape, "expand");  // a view, but its element count must fit like any tensor's
  Tensor<T> out = alias(x, shape, broadcast_strides(x.shape(), x.strides(), shape), x.storage_offset());
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("ExpandBackward", out, {x}, [in_shape = x.shape()](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{sum_to_shape(g, in_shape)};
      });
  return out;
}

// A copy with its own contiguous storage; the gradient passes through unchanged.
template <Element T>
Tensor<T> clone(const Tensor<T>& x) {
  check_defined("clone", x);
  Tensor<T> out = copy_contiguous(x);
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("CloneBackward", out, {x}, [](const Tensor<T>& g) { return std::vector<Tensor<T>>{g}; });
  return out;
}

// x itself when already contiguous, else a contiguous copy (differentiable).
template <Element T>
Tensor<T> contiguous(const Tensor<T>& x) {
  check_defined("contiguous", x);
  if (x.is_contiguous()) return x;
  return clone(x);
}

namespace view_detail {
// A contiguous copy of x on `device` (no autograd). Host <-> device copies move
// a dense buffer; cuda:i -> cuda:j goes through the host.
template <Element T>
Tensor<T> copy_to_device(const Tensor<T>& x, Device device) {
  Tensor<T> out = Tensor<T>::empty(x.shape(), device);  // throws where the build or machine has no such device
  const Tensor<T> src = dense(x);
  backend::copy_between_devices("to", device, out.data(), src.device(), src.data(),
                                static_cast<std::size_t>(x.numel()) * sizeof(T));
  return out;
}
}  // namespace view_detail

// x on `device`: x itself when it is there already, else a contiguous copy.
// Differentiable: the gradient goes back to x's device.
template <Element T>
Tensor<T> to(const Tensor<T>& x, Device device) {
  check_defined("to", x);
  if (device == x.device()) return x;
  Tensor<T> out = view_detail::copy_to_device(x, device);
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("ToBackward", out, {x}, [from = x.device()](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{view_detail::copy_to_device(g, from)};
      });
  return out;
}

}  // namespace chord::ops

namespace chord {
using ops::clone;
using ops::contiguous;
using ops::detach;
using ops::expand;
using ops::flatten;
using ops::narrow;
using ops::permute;
using ops::reshape;
using ops::select;
using ops::slice;
using ops::squeeze;
using ops::transpose;
using ops::unsqueeze;
using ops::view;

template <Element T> Tensor<T> Tensor<T>::detach() const { return ops::detach(*this); }
template <Element T> Tensor<T> Tensor<T>::contiguous() const { return ops::contiguous(*this); }
template <Element T> Tensor<T> Tensor<T>::clone() const { return ops::clone(*this); }
template <Element T> Tensor<T> Tensor<T>::to(Device device) const { return ops::to(*this, device); }
template <Element T> Tensor<T> Tensor<T>::reshape(const Shape& s) const { return ops::reshape(*this, s); }
template <Element T> Tensor<T> Tensor<T>::view(const Shape& s) const { return ops::view(*this, s); }
template <Element T> Tensor<T> Tensor<T>::flatten(int64_t a, int64_t b) const { return ops::flatten(*this, a, b); }
template <Element T> Tensor<T> Tensor<T>::permute(const Shape& dims) const { return ops::permute(*this, dims); }
template <Element T> Tensor<T> Tensor<T>::transpose(int64_t a, int64_t b) const { return ops::transpose(*this, a, b); }
template <Element T> Tensor<T> Tensor<T>::t() const {
  check(dim() <= 2, "t", "expects a tensor with at most 2 dims, got shape ", shape());
  return dim() < 2 ? *this : ops::transpose(*this, 0, 1);
}
template <Element T> Tensor<T> Tensor<T>::narrow(int64_t d, int64_t s, int64_t n) const { return ops::narrow(*this, d, s, n); }
template <Element T> Tensor<T> Tensor<T>::slice(int64_t d, int64_t s, int64_t e, int64_t st) const { return ops::slice(*this, d, s, e, st); }
template <Element T> Tensor<T> Tensor<T>::select(int64_t d, int64_t i) const { return ops::select(*this, d, i); }
template <Element T> Tensor<T> Tensor<T>::unsqueeze(int64_t d) const { return ops::unsqueeze(*this, d); }
template <Element T> Tensor<T> Tensor<T>::squeeze() const { return ops::squeeze(*this); }
template <Element T> Tensor<T> Tensor<T>::squeeze(int64_t d) const { return ops::squeeze(*this, d); }
template <Element T> Tensor<T> Tensor<T>::expand(const Shape& s) const { return ops::expand(*this, s); }

}  // namespace chord
