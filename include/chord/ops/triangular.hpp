#pragma once
// Triangular parts of (batches of) matrices, over the last two dims:
//   tril(x, k): keeps x[..., i, j] where j - i <= k, zero elsewhere;
//   triu(x, k): keeps x[..., i, j] where j - i >= k, zero elsewhere.
// k = 0 is the main diagonal, k > 0 above it, k < 0 below it (as in PyTorch).
// Backward: the gradient masked the same way (tril(g, k), triu(g, k)).
// The kernels: backend/dispatch/triangular.hpp (one loop on the CPU, one kernel on a GPU).
//
// causal_mask(n) is the [n, n] bool mask of an attention score matrix that is
// true where key j comes after query i (j > i): the positions to mask out.

#include <algorithm>
#include <utility>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/dispatch/triangular.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/view.hpp"

namespace chord::ops {

namespace triangular_detail {

// The lower (tril) or upper (triu) part of x into a new contiguous tensor, on x's device.
template <Element T>
Tensor<T> triangle(const char* op, const Tensor<T>& x, backend::Triangle part, int64_t diagonal) {
  check(x.dim() >= 2, op, "expects a tensor with at least 2 dims (a matrix or a batch of them), got shape ",
        x.shape());
  Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());  // x's shape, contiguous
  backend::triangle<T>(x.device(), op, part, diagonal, x.shape(), x.data(), x.strides(), out.data());
  return out;
}

}  // namespace triangular_detail

template <Element T>
Tensor<T> tril(const Tensor<T>& x, int64_t diagonal = 0) {
  check_defined("tril", x);
  Tensor<T> out = triangular_detail::triangle("tril", x, backend::Triangle::Lower, diagonal);
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("TrilBackward", out, {x}, [diagonal](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{triangular_detail::triangle("tril", g, backend::Triangle::Lower, diagonal)};
      });
  return out;
}

template <Element T>
Tensor<T> triu(const Tensor<T>& x, int64_t diagonal = 0) {
  check_defined("triu", x);
  Tensor<T> out = triangular_detail::triangle("triu", x, backend::Triangle::Upper, diagonal);
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("TriuBackward", out, {x}, [diagonal](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{triangular_detail::triangle("triu", g, backend::Triangle::Upper, diagonal)};
      });
  return out;
}

// [size, size] bool: true at (i, j) where j > i, the future positions a causal
// attention row i must not see.
inline Tensor<bool> causal_mask(int64_t size) {
  check(size >= 0, "causal_mask", "size must be non-negative, got ", size);
  Tensor<bool> mask = Tensor<bool>::empty(Shape{size, size});  // [size, size]
  bool* m = mask.data();
  for (int64_t i = 0; i < size; ++i)
    for (int64_t j = 0; j < size; ++j) m[i * size + j] = j > i;
  return mask;
}

}  // namespace chord::ops

namespace chord {
using ops::causal_mask;
using ops::tril;
using ops::triu;
}  // namespace chord
