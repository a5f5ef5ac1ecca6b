#pragma once
// softmax and log_softmax along any dim (negative counts from the end).
//
// The softmax dim is moved last and made contiguous (a copy only when the
// input is not already laid out that way), the fused row kernels of
// backend/dispatch/softmax.hpp run on the dense [rows, n] buffer, and the result is
// that buffer viewed back in the input's dim order: for a dim other than the
// last the result is a permuted (non-contiguous) view, which saves a copy.
//
// Backward (y the output, g its gradient, sums along dim):
//   softmax:     gx = y * (g - sum(g * y))
//   log_softmax: gx = g - exp(y) * sum(g)

#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/dispatch/softmax.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/view.hpp"

namespace chord::ops {

namespace detail {

// x with dim d moved last: a view, no copy and no autograd.
template <Element T>
Tensor<T> move_dim_last(const Tensor<T>& x, int d) {
  if (x.dim() == 0 || d == x.dim() - 1) return x;
  Shape shape, strides;
  for (int i = 0; i < x.dim(); ++i) {
    if (i == d) continue;
    shape.push_back(x.shape()[i]);
    strides.push_back(x.strides()[i]);
  }
  shape.push_back(x.shape()[d]);
  strides.push_back(x.strides()[d]);
  return alias(x, shape, strides, x.storage_offset());
}

// The inverse of move_dim_last: y's last dim moved back to position d.
template <Element T>
Tensor<T> move_last_to(const Tensor<T>& y, int d) {
  const int n = y.dim();
  if (n == 0 || d == n - 1) return y;
  Shape shape, strides;
  for (int i = 0, j = 0; i < n; ++i) {
    const int from = i == d ? n - 1 : j++;
    shape.push_back(y.shape()[from]);
    strides.push_back(y.strides()[from]);
  }
  return alias(y, shape, strides, y.storage_offset());
}

// x with dim d last and dense ([rows, n] row-major), copied only when needed.
template <Element T>
Tensor<T> rows_of(const Tensor<T>& x, int d) {
  Tensor<T> t = move_dim_last(x, d);
  return dense(t);
}

// Length of the rows along dim d (a 0-d tensor is one row of one element).
template <Element T>
int64_t row_length(const Tensor<T>& x, int d) {
  return x.dim() == 0 ? 1 : x.shape()[d];
}
template <Element T>
int64_t row_count(const Tensor<T>& x, int d) {
  const int64_t n = row_length(x, d);
  return n == 0 ? 0 : x.numel() / n;
}

template <FloatingPoint T, bool Log>
Tensor<T> softmax_along(const char* op, const char* node, const Tensor<T>& x, int64_t dim) {
  check_defined(op, x);
  const int d = wrap_dim(dim, x.dim(), op);
  const int64_t n = row_length(x, d), rows = row_count(x, d);
  const Tensor<T> xr = rows_of(x, d);                         // [rows, n]
  Tensor<T> yr = Tensor<T>::empty(xr.shape(), x.device());  // [rows, n]
  if constexpr (Log) backend::log_softmax_forward(x.device(), op, xr.data(), yr.data(), rows, n);
  else backend::softmax_forward(x.device(), op, xr.data(), yr.data(), rows, n);
  Tensor<T> y = move_last_to(yr, d);

  if (autograd::needs_grad(x))
    autograd::record(node, y, {x}, [sy = autograd::SavedTensor<T>(y, op), op, d, n, rows](const Tensor<T>& g) {
      const Tensor<T> yr = rows_of(sy.get(), d);  // [rows, n]; no copy, y is a view of a dense buffer
      const Tensor<T> gr = rows_of(g, d);         // [rows, n]
      Tensor<T> gxr = Tensor<T>::empty(yr.shape(), yr.device());  // [rows, n]
      if constexpr (Log) backend::log_softmax_backward(yr.device(), op, yr.data(), gr.data(), gxr.data(), rows, n);
      else backend::softmax_backward(yr.device(), op, yr.data(), gr.data(), gxr.data(), rows, n);
      return std::vector<Tensor<T>>{move_last_to(gxr, d)};
    });
  return y;
}

}  // namespace detail

// exp(x) / sum(exp(x)) along dim, computed max-shifted (no overflow).
template <FloatingPoint T>
Tensor<T> softmax(const Tensor<T>& x, int64_t dim) {
  return detail::softmax_along<T, false>("softmax", "SoftmaxBackward", x, dim);
}

// x - log(sum(exp(x))) along dim, computed max-shifted (no overflow, no log(0)
// from an underflowed softmax).
template <FloatingPoint T>
Tensor<T> log_softmax(const Tensor<T>& x, int64_t dim) {
  return detail::softmax_along<T, true>("log_softmax", "LogSoftmaxBackward", x, dim);
}

}  // namespace chord::ops

namespace chord {
using ops::log_softmax;
using ops::softmax;
}  // namespace chord
