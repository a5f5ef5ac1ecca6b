#pragma once
// The triangular part of (batches of) matrices, on the CPU (ops/triangular.hpp):
//   lower: out[b, i, j] = x[b, i, j] where j - i <= k, else 0   (tril)
//   upper: out[b, i, j] = x[b, i, j] where j - i >= k, else 0   (triu)
// x: `shape` = [batch..., M, N] (at least 2 dims) with `strides`; out: `shape` contiguous.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cpu/strided_offsets.hpp"
#include "chord/core/shape.hpp"

namespace chord::cpu {

template <class T>
void triangle(bool upper, int64_t k, const Shape& shape, const T* x, const Strides& strides, T* out) {
  const int nd = shape.size();
  const int64_t M = shape[nd - 2], N = shape[nd - 1];
  const int64_t rs = strides[nd - 2], cs = strides[nd - 1];
  Shape batch_shape, batch_strides;
  for (int d = 0; d < nd - 2; ++d) {
    batch_shape.push_back(shape[d]);
    batch_strides.push_back(strides[d]);
  }
  const std::vector<int64_t> batch_offsets = strided_offsets(batch_shape, batch_strides);  // [batch]
  const int64_t rows = static_cast<int64_t>(batch_offsets.size()) * M;
  parallel_for(rows, N, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / M, i = row % M;
      // The kept columns [lo, hi) of row i: j - i <= k (lower) or j - i >= k (upper).
      const int64_t lo = upper ? std::clamp<int64_t>(i + k, 0, N) : 0;
      const int64_t hi = upper ? N : std::clamp<int64_t>(i + k + 1, 0, N);
      const T* s = x + batch_offsets[b] + i * rs;
      T* o = out + row * N;
      for (int64_t j = 0; j < lo; ++j) o[j] = T(0);
      for (int64_t j = lo; j < hi; ++j) o[j] = s[j * cs];
      for (int64_t j = hi; j < N; ++j) o[j] = T(0);
    }
  });
}

}  // namespace chord::cpu
