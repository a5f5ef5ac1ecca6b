#pragma once
// Reductions: sum and mean over all elements or over chosen dims, with keepdim;
// max, min (values), argmax, argmin (indices), logsumexp and var.
//
// Gradient conventions:
//   sum spreads the gradient to every input element; mean spreads gradient / count.
//   max and min split the gradient evenly among the elements that tie for the
//     extreme value: with k elements equal to the max of their slice, each gets
//     gradient / k and the others 0. (PyTorch's max(x) does the same; its
//     max(x, dim) instead sends everything to the one index it returns. The even
//     split is a valid subgradient that does not depend on which tie is "first".)
//     A NaN in a slice makes its max/min NaN, and the NaN elements get the gradient.
//   argmax and argmin return Tensor<int64_t> and are not differentiable.
//   logsumexp: d/dx_i = exp(x_i - out) (the softmax of the slice).
//   var: d/dx_i = 2 (x_i - mean) / (count - correction), correction = 1 if unbiased.
//
// Empty selections: max, min, argmax, argmin and var raise chord::Error on them,
// mean too; sum gives 0 and logsumexp gives -inf (log of an empty sum).
// var with unbiased=true of a single element is NaN (0 / 0), as in PyTorch.

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/dispatch/reduce.hpp"
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

// Runs a backend reduction over `x` (on x's device) into a new tensor of rd.out_shape.
template <class T>
Tensor<T> reduce_new(const char* op, const Tensor<T>& x, const ReductionDims& rd, backend::ReduceOp reduction) {
  Tensor<T> out = Tensor<T>::empty(rd.out_shape, x.device());
  backend::reduce(x.device(), op, reduction, x.data(), x.shape(), x.strides(), rd.reduce, out.data());
  return out;
}

// A new contiguous tensor of `shape` holding `g` broadcast to it (g has
// `g_shape_keepdim`'s layout: the reduced dims kept as size 1).
template <class T>
Tensor<T> broadcast_to_new(const Tensor<T>& g, const Shape& keepdim_shape, const Shape& shape, T scale = T(1)) {
  Tensor<T> out = Tensor<T>::empty(shape, g.device());
  // g's elements are laid out as keepdim_shape (same order, size-1 dims inserted).
  Tensor<T> gc = dense(g);
  backend::map("sum", g.device(), shape, out.data(), out.strides(), gc.data(),
               broadcast_strides(keepdim_shape, contiguous_strides(keepdim_shape), shape), fn::Scale<T>{scale});
  return out;
}

template <FloatingPoint T>
Tensor<T> sum(const Tensor<T>& x, const Shape& dims, bool keepdim = false) {
  check_defined("sum", x);
  const ReductionDims rd("sum", x.shape(), dims, keepdim);
  Tensor<T> out = reduce_new("sum", x, rd, backend::ReduceOp::Sum);
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
  Tensor<T> out = reduce_new("mean", x, rd, backend::ReduceOp::Mean);
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
  Tensor<T> reduced = reduce_new("sum_to_shape", g, rd, backend::ReduceOp::Sum);
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

// ---- max, min, argmax, argmin, logsumexp, var -----------------------------------

namespace chord::ops {

namespace detail {

// Strides that read a contiguous buffer laid out as rd.keepdim_shape as if it
// had the input's shape (stride 0 along the reduced dims).
inline Strides keepdim_broadcast_strides(const ReductionDims& rd, const Shape& in_shape) {
  return broadcast_strides(rd.keepdim_shape, contiguous_strides(rd.keepdim_shape), in_shape);
}

// Backward of max/min: gx = g / k where x ties with the extreme m of its slice
// (k ties in that slice), 0 elsewhere. m and g hold one value per output
// (rd's out_shape; g in any layout); x is the saved input.
template <FloatingPoint T>
Tensor<T> extreme_backward(const Tensor<T>& x, const Tensor<T>& m, const Tensor<T>& g, const ReductionDims& rd) {
  const Shape& shape = x.shape();
  const Strides per_output = keepdim_broadcast_strides(rd, shape);
  const char* op = "max_min_backward";
  // hits [x's shape]: 1 where x ties with its slice's extreme
  Tensor<T> hits = Tensor<T>::empty(shape, x.device());
  backend::map(op, x.device(), shape, hits.data(), hits.strides(), x.data(), x.strides(), m.data(), per_output,
               fn::TiesIndicator{});
  // ties [rd.out_shape, laid out as rd.keepdim_shape]: the number of ties per output
  const Tensor<T> ties = reduce_new(op, hits, rd, backend::ReduceOp::Sum);
  // share [rd.keepdim_shape]: g / (number of ties), one per output
  const Tensor<T> gc = dense(g);
  Tensor<T> share = Tensor<T>::empty(rd.keepdim_shape, x.device());
  const Strides dense_keepdim = contiguous_strides(rd.keepdim_shape);
  backend::map(op, x.device(), rd.keepdim_shape, share.data(), share.strides(), gc.data(), dense_keepdim,
               ties.data(), dense_keepdim, fn::Div{});
  // gx [x's shape]
  Tensor<T> gx = Tensor<T>::empty(shape, x.device());
  backend::map(op, x.device(), shape, gx.data(), gx.strides(), x.data(), x.strides(), m.data(), per_output,
               share.data(), per_output, fn::TiesSelect{});
  return gx;
}

// max or min over rd's dims, with the even-split backward.
template <class T>
Tensor<T> extreme(const char* op, const char* node, const Tensor<T>& x, const ReductionDims& rd,
                  backend::ReduceOp reducer) {
  check(rd.count > 0, op, "cannot reduce an empty selection (input shape ", x.shape(),
        "): the result has no identity value");
  Tensor<T> out = reduce_new(op, x, rd, reducer);
  if constexpr (FloatingPoint<T>) {
    if (autograd::needs_grad(x))
      autograd::record(node, out, {x},
                       [sx = autograd::SavedTensor<T>(x, op), sm = autograd::SavedTensor<T>(out, op), rd](
                           const Tensor<T>& g) {
                         return std::vector<Tensor<T>>{extreme_backward(sx.get(), sm.get(), g, rd)};
                       });
  }
  return out;
}

template <class T>
Tensor<int64_t> arg_extreme(const char* op, const Tensor<T>& x, const ReductionDims& rd, backend::ArgReduceOp which) {
  check(rd.count > 0, op, "cannot take the index of an extreme of an empty selection (input shape ", x.shape(), ")");
  Tensor<int64_t> out = Tensor<int64_t>::empty(rd.out_shape, x.device());
  backend::arg_reduce(x.device(), op, which, x.data(), x.shape(), x.strides(), rd.reduce, out.data());
  return out;
}

template <class T>
concept Ordered = FloatingPoint<T> || std::same_as<T, int64_t>;

}  // namespace detail

// The largest element (a 0-d tensor). NaN if any element is NaN.
template <detail::Ordered T>
Tensor<T> max(const Tensor<T>& x) {
  check_defined("max", x);
  return detail::extreme("max", "MaxBackward", x, ReductionDims("max", x.shape(), Shape{}, false),
                         backend::ReduceOp::Max);
}
// The largest element along `dim` (the values; argmax gives the indices).
template <detail::Ordered T>
Tensor<T> max(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
  check_defined("max", x);
  return detail::extreme("max", "MaxBackward", x, ReductionDims("max", x.shape(), Shape{dim}, keepdim),
                         backend::ReduceOp::Max);
}

template <detail::Ordered T>
Tensor<T> min(const Tensor<T>& x) {
  check_defined("min", x);
  return detail::extreme("min", "MinBackward", x, ReductionDims("min", x.shape(), Shape{}, false),
                         backend::ReduceOp::Min);
}
template <detail::Ordered T>
Tensor<T> min(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
  check_defined("min", x);
  return detail::extreme("min", "MinBackward", x, ReductionDims("min", x.shape(), Shape{dim}, keepdim),
                         backend::ReduceOp::Min);
}

// Index of the first largest element along `dim` (ties: the first; NaN counts as largest).
template <detail::Ordered T>
Tensor<int64_t> argmax(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
  check_defined("argmax", x);
  return detail::arg_extreme("argmax", x, ReductionDims("argmax", x.shape(), Shape{dim}, keepdim),
                             backend::ArgReduceOp::ArgMax);
}
// Row-major (flattened) index of the first largest element, as a 0-d tensor.
template <detail::Ordered T>
Tensor<int64_t> argmax(const Tensor<T>& x) {
  check_defined("argmax", x);
  return detail::arg_extreme("argmax", x, ReductionDims("argmax", x.shape(), Shape{}, false),
                             backend::ArgReduceOp::ArgMax);
}

template <detail::Ordered T>
Tensor<int64_t> argmin(const Tensor<T>& x, int64_t dim, bool keepdim = false) {
  check_defined("argmin", x);
  return detail::arg_extreme("argmin", x, ReductionDims("argmin", x.shape(), Shape{dim}, keepdim),
                             backend::ArgReduceOp::ArgMin);
}
template <detail::Ordered T>
Tensor<int64_t> argmin(const Tensor<T>& x) {
  check_defined("argmin", x);
  return detail::arg_extreme("argmin", x, ReductionDims("argmin", x.shape(), Shape{}, false),
                             backend::ArgReduceOp::ArgMin);
}

// log(sum(exp(x))) over dims (all dims when empty), computed as
//   m + log(sum(exp(x - m))),  m = max over the slice,
// so that no exp overflows. A slice whose max is not finite uses shift 0:
// all -inf gives -inf, a +inf gives +inf, a NaN gives NaN.
// On either device: the reductions of reduce_new and the elementwise steps of
// the functors of backend/functors.hpp.
template <FloatingPoint T>
Tensor<T> logsumexp(const Tensor<T>& x, const Shape& dims, bool keepdim = false) {
  const char* op = "logsumexp";
  check_defined(op, x);
  const ReductionDims rd(op, x.shape(), dims, keepdim);
  const Strides per_output = detail::keepdim_broadcast_strides(rd, x.shape());
  // shift [rd.keepdim_shape]: the slice max where finite, else 0
  Tensor<T> shift = reduce_new(op, x, rd, backend::ReduceOp::Max);
  backend::map(op, x.device(), shift.shape(), shift.data(), shift.strides(), shift.data(), shift.strides(),
               fn::FiniteOrZero{});
  // e [x's shape] = exp(x - shift)
  Tensor<T> e = Tensor<T>::empty(x.shape(), x.device());
  backend::map(op, x.device(), x.shape(), e.data(), e.strides(), x.data(), x.strides(), shift.data(), per_output,
               fn::ExpOfDifference{});
  // out [rd.out_shape] = shift + log(sum e)
  Tensor<T> out = reduce_new(op, e, rd, backend::ReduceOp::Sum);
  backend::map(op, x.device(), out.shape(), out.data(), out.strides(), shift.data(), shift.strides(), out.data(),
               out.strides(), fn::AddLog{});

  if (autograd::needs_grad(x))
    autograd::record("LogsumexpBackward", out, {x},
                     [sx = autograd::SavedTensor<T>(x, op), sy = autograd::SavedTensor<T>(out, op), rd](
                         const Tensor<T>& g) {
                       // d out / d x_i = exp(x_i - out); a slice of all -inf (out = -inf) gets 0.
                       const Tensor<T>&xs = sx.get(), &y = sy.get();
                       const Strides per_out = detail::keepdim_broadcast_strides(rd, xs.shape());
                       const Tensor<T> gc = dense(g);
                       Tensor<T> gx = Tensor<T>::empty(xs.shape(), xs.device());
                       backend::map("logsumexp", xs.device(), xs.shape(), gx.data(), gx.strides(), xs.data(),
                                    xs.strides(), y.data(), per_out, gc.data(), per_out, fn::LogsumexpGrad{});
                       return std::vector<Tensor<T>>{gx};
                     });
  return out;
}

// Variance over dims (all dims when empty): sum((x - mean)^2) / (count - correction),
// correction = 1 when unbiased (Bessel), else 0. Two passes (mean, then squared
// deviations) for accuracy; on either device, as logsumexp.
template <FloatingPoint T>
Tensor<T> var(const Tensor<T>& x, const Shape& dims, bool unbiased = true, bool keepdim = false) {
  const char* op = "var";
  check_defined(op, x);
  const ReductionDims rd(op, x.shape(), dims, keepdim);
  check(rd.count > 0, op, "variance of an empty selection (shape ", x.shape(), ")");
  const Strides per_output = detail::keepdim_broadcast_strides(rd, x.shape());
  // mu [rd.keepdim_shape]
  Tensor<T> mu = reduce_new(op, x, rd, backend::ReduceOp::Mean);
  // dev2 [x's shape] = (x - mu)^2
  Tensor<T> dev2 = Tensor<T>::empty(x.shape(), x.device());
  backend::map(op, x.device(), x.shape(), dev2.data(), dev2.strides(), x.data(), x.strides(), mu.data(), per_output,
               fn::SquaredDifference{});
  // out [rd.out_shape] = sum dev2 / denom
  const T denom = static_cast<T>(rd.count - (unbiased ? 1 : 0));
  Tensor<T> out = reduce_new(op, dev2, rd, backend::ReduceOp::Sum);
  backend::map(op, x.device(), out.shape(), out.data(), out.strides(), out.data(), out.strides(),
               fn::WithScalar<fn::Div, T>{denom});

  if (autograd::needs_grad(x))
    autograd::record("VarBackward", out, {x},
                     [sx = autograd::SavedTensor<T>(x, op), mu, rd, denom](const Tensor<T>& g) {
                       // d var / d x_i = 2 (x_i - mean) / denom (the mean's own dependence on x_i sums to 0)
                       const Tensor<T>& xs = sx.get();
                       const Strides per_out = detail::keepdim_broadcast_strides(rd, xs.shape());
                       const Tensor<T> gc = dense(g);
                       Tensor<T> gx = Tensor<T>::empty(xs.shape(), xs.device());
                       backend::map("var", xs.device(), xs.shape(), gx.data(), gx.strides(), xs.data(), xs.strides(),
                                    mu.data(), per_out, gc.data(), per_out, fn::VarGrad<T>{T(2) / denom});
                       return std::vector<Tensor<T>>{gx};
                     });
  return out;
}
// Variance of all elements, unbiased (var(x, {}, false) for the biased one). There is
// deliberately no var(x, bool) overload: var(x, {1}) would pick it over the dims form.
template <FloatingPoint T>
Tensor<T> var(const Tensor<T>& x) {
  return var(x, Shape{}, true, false);
}

}  // namespace chord::ops

namespace chord {
using ops::argmax;
using ops::argmin;
using ops::logsumexp;
using ops::max;
using ops::min;
using ops::var;
}  // namespace chord
