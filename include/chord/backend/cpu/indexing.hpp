#pragma once
// Row gathers and gather on the CPU, with their adjoints (ops/indexing.hpp: embedding,
// index_select, gather). Every output element is written by one task, in a fixed order:
// the same bits for any thread count.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cpu/strided_offsets.hpp"
#include "chord/core/shape.hpp"

namespace chord::cpu {

// out[o, i, :] = x[o, idx[i], :] for o < outer, i < L.
// x: [outer, n, inner] contiguous; idx: [L] in [0, n); out: [outer, L, inner] contiguous.
template <class T>
void select_rows(int64_t outer, int64_t n, int64_t inner, int64_t L, const T* x, const int64_t* idx, T* out) {
  cpu::parallel_for(outer * L, inner, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t o = row / L, i = row % L;
      const T* src = x + (o * n + idx[i]) * inner;
      T* dst = out + row * inner;
#pragma omp simd
      for (int64_t c = 0; c < inner; ++c) dst[c] = src[c];
    }
  });
}

// grad[o, r, :] = sum of g[o, i, :] over the i with idx[i] == r, in ascending i
// (0 for an r that no i selects): the adjoint of select_rows.
// g: [outer, L, inner] contiguous; idx: [L] in [0, n); grad: [outer, n, inner] contiguous.
// The positions are bucketed by index first (counting sort, stable), so every
// output row is owned by one thread and summed in a fixed order: no races,
// the same bits for any thread count.
template <class T>
void index_add_rows(int64_t outer, int64_t n, int64_t inner, int64_t L, const T* g, const int64_t* idx, T* grad) {
  std::vector<int64_t> start(static_cast<std::size_t>(n + 1), 0);  // [n + 1]: bucket r is order[start[r], start[r+1])
  std::vector<int64_t> order(static_cast<std::size_t>(L));          // [L]: positions sorted by index, stable
  for (int64_t i = 0; i < L; ++i) ++start[idx[i] + 1];
  for (int64_t r = 0; r < n; ++r) start[r + 1] += start[r];
  {
    std::vector<int64_t> cursor(start.begin(), start.end() - 1);  // [n]
    for (int64_t i = 0; i < L; ++i) order[cursor[idx[i]]++] = i;
  }
  const int64_t per_row = inner * (1 + (n ? L / n : 0));
  cpu::parallel_for(outer * n, per_row, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t o = row / n, r = row % n;
      T* dst = grad + row * inner;
      for (int64_t c = 0; c < inner; ++c) dst[c] = T(0);
      for (int64_t k = start[r]; k < start[r + 1]; ++k) {
        const T* src = g + (o * L + order[k]) * inner;
#pragma omp simd
        for (int64_t c = 0; c < inner; ++c) dst[c] += src[c];
      }
    }
  });
}

// PyTorch's gather along `dim`: out[p] = x[p with its coordinate along dim replaced by index[p]].
// index, out: `shape` contiguous (index values in [0, x's size along dim)); x: any layout with
// `x_strides` (x's shape agrees with `shape` except along dim).
template <class T>
void gather(const Shape& shape, int dim, const T* x, const Strides& x_strides, const int64_t* index, T* out) {
  Shape lead, trail, lead_strides, trail_strides;
  for (int k = 0; k < shape.size(); ++k) {
    if (k < dim) lead.push_back(shape[k]), lead_strides.push_back(x_strides[k]);
    if (k > dim) trail.push_back(shape[k]), trail_strides.push_back(x_strides[k]);
  }
  // Positions as [outer, L, inner]; x's element for (o, l, c) is at x_outer[o] + index * xs + x_inner[c].
  const std::vector<int64_t> x_outer = strided_offsets(lead, lead_strides);    // [outer]
  const std::vector<int64_t> x_inner = strided_offsets(trail, trail_strides);  // [inner]
  const int64_t L = shape[dim], inner = numel_of(trail), xs = x_strides[dim];
  parallel_for(numel_of(shape), 1, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      const int64_t c = e % inner, o = e / (L * inner);
      out[e] = x[x_outer[o] + index[e] * xs + x_inner[c]];
    }
  });
}

// The adjoint of gather: grad (x_shape, contiguous) = 0, then grad[p with index[p] along dim] += g[p]
// for every position p of `shape` (g and index: `shape` contiguous).
template <class T>
void gather_backward(const Shape& shape, int dim, const Shape& x_shape, const int64_t* index, const T* g, T* grad) {
  std::fill_n(grad, numel_of(x_shape), T(0));
  const Strides gs = contiguous_strides(x_shape);
  Shape lead, trail, lead_strides, trail_strides;
  for (int k = 0; k < shape.size(); ++k) {
    if (k < dim) lead.push_back(shape[k]), lead_strides.push_back(gs[k]);
    if (k > dim) trail.push_back(shape[k]), trail_strides.push_back(gs[k]);
  }
  const std::vector<int64_t> g_outer = strided_offsets(lead, lead_strides);    // [outer]
  const std::vector<int64_t> g_inner = strided_offsets(trail, trail_strides);  // [inner]
  const int64_t L = shape[dim], inner = numel_of(trail), outer = numel_of(lead), stride = gs[dim];
  // One task per line (o, c): it alone writes grad's elements with those
  // outer/inner coordinates, adding over l in order.
  parallel_for(outer * inner, L, [&](int64_t begin, int64_t end) {
    for (int64_t line = begin; line < end; ++line) {
      const int64_t o = line / inner, c = line % inner;
      T* base = grad + g_outer[o] + g_inner[c];
      for (int64_t l = 0; l < L; ++l) {
        const int64_t e = (o * L + l) * inner + c;
        base[index[e] * stride] += g[e];
      }
    }
  });
}

}  // namespace chord::cpu
