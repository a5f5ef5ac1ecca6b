#pragma once
// Reductions: sum and mean over all elements or over chosen dims, with keepdim.
// (max, min, logsumexp and var live here too.)
//
// Gradient convention: sum spreads the gradient to every input element; mean
// spreads gradient / count.

#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/cpu/elementwise.hpp"
#include "chord/backend/cpu/reduce.hpp"
#include "chord/ops/elementwise.hpp"

namespace chord::ops {

// Which dims a reduction removes, and the shapes of its result.
struct ReductionDims {
  std::vector<bool> reduce;  // per input dim
  Shape out_shape;           // the result's shape (without the reduced dims unless keepdim)
  Shape keepdim_shape;       // the result's shape with reduced dims kept as size 1
  int64_t count = 1;         // input elements per output element

  // dims empty: reduce every dim. Negative dims count from the end; repeats are an error.
  ReductionDims(const char* op, const Shape& in_shape, const Shape& dims, bool keepdim) {
    const int n = in_shape.size();
    reduce.assign(n, dims.empty());
    for (int64_t d : dims) {
      const int w = wrap_dim(d, n, op);
      if (n == 0) continue;  // a 0-d tensor: dim 0 / -1 name the only element
      check(!reduce[w], op, "dim ", d, " appears more than once in ", dims);
      reduce[w] = true;
    }
    for (int d = 0; d < n; ++d) {
      keepdim_shape.push_back(reduce[d] ? 1 : in_shape[d]);
      if (!reduce[d] || keepdim) out_shape.push_back(reduce[d] ? 1 : in_shape[d]);
      if (reduce[d]) count *= in_shape[d];
    }
  }
};

// Runs a backend reducer over `x` into a new tensor of rd.out_shape.
template <class T, class Reducer>
Tensor<T> reduce_new(const char* op, const Tensor<T>& x, const ReductionDims& rd, const Reducer& reducer) {
  check_cpu(op, x);
  Tensor<T> out = Tensor<T>::empty(rd.out_shape, x.device());
  cpu::reduce(x.data(), x.shape(), x.strides(), rd.reduce, out.data(), reducer);
  return out;
}

// A new contiguous tensor of `shape` holding `g` broadcast to it (g has
// `g_shape_keepdim`'s layout: the reduced dims kept as size 1).
template <class T>
Tensor<T> broadcast_to_new(const Tensor<T>& g, const Shape& keepdim_shape, const Shape& shape, T scale = T(1)) {
  Tensor<T> out = Tensor<T>::empty(shape, g.device());
  // g's elements are laid out as keepdim_shape (same order, size-1 dims inserted).
  Tensor<T> gc = g.is_contiguous() ? g : map_new<T>("contiguous", g, [](T v) { return v; });
  cpu::map(shape, out.data(), out.strides(), gc.data(),
           broadcast_strides(keepdim_shape, contiguous_strides(keepdim_shape), shape),
           [scale](T v) { return v * scale; });
  return out;
}

template <FloatingPoint T>
Tensor<T> sum(const Tensor<T>& x, const Shape& dims, bool keepdim = false) {
  check_defined("sum", x);
  const ReductionDims rd("sum", x.shape(), dims, keepdim);
  Tensor<T> out = reduce_new("sum", x, rd, cpu::SumReducer<T>{});
  if (autograd::needs_grad(x)) {
    autograd::record("SumBackward", out, {x}, [rd, in_shape = x.shape()](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{broadcast_to_new(g, rd.keepdim_shape, in_shape)};
    });
  }
  return out;
}
template <FloatingPoint T>
Tensor<T> sum(const Tensor<T>& x) {
  return sum(x, Shape{}, false);
}

template <FloatingPoint T>
Tensor<T> mean(const Tensor<T>& x, const Shape& dims, bool keepdim = false) {
  check_defined("mean", x);
  const ReductionDims rd("mean", x.shape(), dims, keepdim);
  check(rd.count > 0, "mean", "mean of an empty selection (shape ", x.shape(), ")");
  Tensor<T> out = reduce_new("mean", x, rd, cpu::MeanReducer<T>{});
  if (autograd::needs_grad(x)) {
    autograd::record("MeanBackward", out, {x}, [rd, in_shape = x.shape()](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{broadcast_to_new(g, rd.keepdim_shape, in_shape, T(1) / static_cast<T>(rd.count))};
    });
  }
  return out;
}
template <FloatingPoint T>
Tensor<T> mean(const Tensor<T>& x) {
  return mean(x, Shape{}, false);
}

// Sums a gradient of a broadcast result back to the shape of the input that
// was broadcast (the backward of broadcasting and of expand).
template <FloatingPoint T>
Tensor<T> sum_to_shape(const Tensor<T>& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int lead = g.dim() - shape.size();
  check(lead >= 0, "sum_to_shape", "cannot reduce ", g.shape(), " to ", shape);
  Shape dims;
  for (int d = 0; d < g.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && g.shape()[d] != 1)) dims.push_back(d);
  const ReductionDims rd("sum_to_shape", g.shape(), dims, true);
  Tensor<T> reduced = reduce_new("sum_to_shape", g, rd, cpu::SumReducer<T>{});
  // reduced has rd.keepdim_shape: drop the leading dims by reinterpreting the contiguous buffer.
  auto impl = reduced.impl_ptr();
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  return reduced;
}

}  // namespace chord::ops

namespace chord {
using ops::mean;
using ops::sum;

template <Element T>
Tensor<T> Tensor<T>::sum() const {
  if constexpr (FloatingPoint<T>) return ops::sum(*this);
  else fail("sum", "only float tensors can be summed, this one is ", dtype());
}
template <Element T>
Tensor<T> Tensor<T>::sum(const Shape& dims, bool keepdim) const {
  if constexpr (FloatingPoint<T>) return ops::sum(*this, dims, keepdim);
  else fail("sum", "only float tensors can be summed, this one is ", dtype());
}
template <Element T>
Tensor<T> Tensor<T>::mean() const {
  if constexpr (FloatingPoint<T>) return ops::mean(*this);
  else fail("mean", "only float tensors can be averaged, this one is ", dtype());
}
template <Element T>
Tensor<T> Tensor<T>::mean(const Shape& dims, bool keepdim) const {
  if constexpr (FloatingPoint<T>) return ops::mean(*this, dims, keepdim);
  else fail("mean", "only float tensors can be averaged, this one is ", dtype());
}
}  // namespace chord
