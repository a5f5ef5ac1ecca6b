#pragma once
// Triangular parts of (batches of) matrices, over the last two dims:
//   tril(x, k): keeps x[..., i, j] where j - i <= k, zero elsewhere;
//   triu(x, k): keeps x[..., i, j] where j - i >= k, zero elsewhere.
// k = 0 is the main diagonal, k > 0 above it, k < 0 below it (as in PyTorch).
// Backward: the gradient masked the same way (tril(g, k), triu(g, k)).
// On a GPU: one kernel, backend/cuda/triangular.hpp.
//
// causal_mask(n) is the [n, n] bool mask of an attention score matrix that is
// true where key j comes after query i (j > i): the positions to mask out.

#include <algorithm>
#include <utility>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cuda/triangular.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/view.hpp"

namespace chord::ops {

namespace triangular_detail {

// out[b, i, j] = x[b, i, j] for j in kept(i) = [lo, hi), 0 elsewhere (on the cpu).
// x: [batch..., M, N] any strides; out: [batch..., M, N] contiguous (new).
template <Element T, class KeptColumns>
Tensor<T> keep_columns(const Tensor<T>& x, KeptColumns kept) {
  const int nd = x.dim();
  const int64_t M = x.shape()[nd - 2], N = x.shape()[nd - 1];
  const int64_t rs = x.strides()[nd - 2], cs = x.strides()[nd - 1];
  Shape batch_shape, batch_strides;
  for (int d = 0; d < nd - 2; ++d) {
    batch_shape.push_back(x.shape()[d]);
    batch_strides.push_back(x.strides()[d]);
  }
  std::vector<int64_t> batch_offsets;  // [batch]: offset of each matrix of x
  alias(x, batch_shape, batch_strides, 0).for_each_offset([&](int64_t off) { batch_offsets.push_back(off); });

  Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());
  const T* src = x.data();
  T* dst = out.data();
  const int64_t rows = static_cast<int64_t>(batch_offsets.size()) * M;
  cpu::parallel_for(rows, N, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / M, i = row % M;
      const auto [lo, hi] = kept(i, N);
      const T* s = src + batch_offsets[b] + i * rs;
      T* o = dst + row * N;
      for (int64_t j = 0; j < lo; ++j) o[j] = T(0);
      for (int64_t j = lo; j < hi; ++j) o[j] = s[j * cs];
      for (int64_t j = hi; j < N; ++j) o[j] = T(0);
    }
  });
  return out;
}

// Columns j of row i with j - i <= k: [0, clamp(i + k + 1, 0, N)).
inline auto lower(int64_t k) {
  return [k](int64_t i, int64_t N) { return std::pair<int64_t, int64_t>{0, std::clamp<int64_t>(i + k + 1, 0, N)}; };
}
// Columns j of row i with j - i >= k: [clamp(i + k, 0, N), N).
inline auto upper(int64_t k) {
  return [k](int64_t i, int64_t N) { return std::pair<int64_t, int64_t>{std::clamp<int64_t>(i + k, 0, N), N}; };
}

// The lower (tril) or upper (triu) part of x into a new contiguous tensor, on x's device
// (on a GPU: backend/cuda/triangular.hpp).
template <Element T>
Tensor<T> triangle(const char* op, const Tensor<T>& x, cuda::Triangle part, int64_t diagonal) {
  check(x.dim() >= 2, op, "expects a tensor with at least 2 dims (a matrix or a batch of them), got shape ",
        x.shape());
  const bool upper_part = part == cuda::Triangle::Upper;
  if (!x.device().is_cuda()) return upper_part ? keep_columns(x, upper(diagonal)) : keep_columns(x, lower(diagonal));
  Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());  // x's shape, contiguous
  if constexpr (built_with_cuda())
    cuda::triangle<T>(cuda::Context{x.device().index, op}, part, diagonal, x.shape(), x.data(), x.strides(),
                      out.data());
  return out;
}

}  // namespace triangular_detail

template <Element T>
Tensor<T> tril(const Tensor<T>& x, int64_t diagonal = 0) {
  check_defined("tril", x);
  Tensor<T> out = triangular_detail::triangle("tril", x, cuda::Triangle::Lower, diagonal);
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("TrilBackward", out, {x}, [diagonal](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{triangular_detail::triangle("tril", g, cuda::Triangle::Lower, diagonal)};
      });
  return out;
}

template <Element T>
Tensor<T> triu(const Tensor<T>& x, int64_t diagonal = 0) {
  check_defined("triu", x);
  Tensor<T> out = triangular_detail::triangle("triu", x, cuda::Triangle::Upper, diagonal);
  if constexpr (FloatingPoint<T>)
    if (autograd::needs_grad(x))
      autograd::record("TriuBackward", out, {x}, [diagonal](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{triangular_detail::triangle("triu", g, cuda::Triangle::Upper, diagonal)};
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
