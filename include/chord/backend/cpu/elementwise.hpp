#pragma once
// Elementwise kernels on strided operands with NumPy broadcasting.
//
// Every elementwise op runs through one loop nest: the operands are described
// by (pointer, strides) over a common loop shape, with stride 0 along
// broadcast dimensions. Adjacent dimensions that are contiguous for every
// operand are merged, so the common cases (all contiguous; one operand a
// broadcast row or scalar) become one long inner loop the compiler vectorizes.

#include <algorithm>
#include <array>
#include <cstdint>

#include "chord/backend/cpu/parallel.hpp"
#include "chord/core/shape.hpp"

namespace chord::cpu {

// The loop nest over `shape` for N operands: strides[k] are operand k's
// strides (in elements) over `shape`, after merging dimensions.
template <int N>
struct LoopNest {
  Shape shape;
  std::array<Strides, N> strides;

  LoopNest(const Shape& loop_shape, const std::array<Strides, N>& operand_strides) {
    // Drop size-1 dims, then merge dim i into i+1 where every operand is contiguous across them.
    for (int d = 0; d < loop_shape.size(); ++d) {
      if (loop_shape[d] == 1) continue;
      const int last = shape.size() - 1;
      bool mergeable = last >= 0;
      for (int k = 0; k < N && mergeable; ++k)
        mergeable = strides[k][last] == operand_strides[k][d] * loop_shape[d];
      if (mergeable) {
        shape[last] *= loop_shape[d];
        for (int k = 0; k < N; ++k) strides[k][last] = operand_strides[k][d];
      } else {
        shape.push_back(loop_shape[d]);
        for (int k = 0; k < N; ++k) strides[k].push_back(operand_strides[k][d]);
      }
    }
    if (shape.empty()) {  // a single element
      shape.push_back(1);
      for (int k = 0; k < N; ++k) strides[k].push_back(0);
    }
  }

  int64_t inner_size() const { return shape.back(); }
  int64_t outer_size() const { return numel_of(shape) / shape.back(); }
  int64_t inner_stride(int k) const { return strides[k].back(); }

  // Offsets of each operand at the start of outer row `row`.
  std::array<int64_t, N> row_offsets(int64_t row) const {
    std::array<int64_t, N> off{};
    for (int d = shape.size() - 2; d >= 0; --d) {
      const int64_t i = row % shape[d];
      row /= shape[d];
      for (int k = 0; k < N; ++k) off[k] += i * strides[k][d];
    }
    return off;
  }

  // Calls row(offsets, length) over every element: each outer row, cut into
  // pieces of at most kParallelGrain elements so that one long contiguous row
  // (the common all-contiguous case) is shared between threads too.
  template <class RowFn>
  void run(RowFn&& row) const {
    if (numel_of(shape) == 0) return;
    const int64_t inner = inner_size();
    const int64_t pieces = (inner + kParallelGrain - 1) / kParallelGrain;
    const int64_t piece_len = (inner + pieces - 1) / pieces;
    parallel_for(outer_size() * pieces, piece_len, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        std::array<int64_t, N> off = row_offsets(t / pieces);
        const int64_t start = (t % pieces) * piece_len;
        for (int k = 0; k < N; ++k) off[k] += start * inner_stride(k);
        row(off, std::min(piece_len, inner - start));
      }
    });
  }
};

// out = f(a), elementwise. out is written through out_strides over `shape`.
template <class Out, class A, class F>
void map(const Shape& shape, Out* out, const Strides& out_strides, const A* a, const Strides& a_strides, F f) {
  LoopNest<2> loop(shape, {out_strides, a_strides});
  const int64_t so = loop.inner_stride(0), sa = loop.inner_stride(1);
  loop.run([&](const std::array<int64_t, 2>& off, int64_t n) {
    Out* o = out + off[0];
    const A* x = a + off[1];
    if (so == 1 && sa == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * so] = f(x[i * sa]);
    }
  });
}

// out = f(a, b), elementwise with broadcasting (a_strides, b_strides over `shape`).
template <class Out, class A, class B, class F>
void map(const Shape& shape, Out* out, const Strides& out_strides, const A* a, const Strides& a_strides, const B* b,
         const Strides& b_strides, F f) {
  LoopNest<3> loop(shape, {out_strides, a_strides, b_strides});
  const int64_t so = loop.inner_stride(0), sa = loop.inner_stride(1), sb = loop.inner_stride(2);
  loop.run([&](const std::array<int64_t, 3>& off, int64_t n) {
    Out* o = out + off[0];
    const A* x = a + off[1];
    const B* y = b + off[2];
    if (so == 1 && sa == 1 && sb == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
    } else if (so == 1 && sa == 1 && sb == 0) {
      const B y0 = *y;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y0);
    } else if (so == 1 && sa == 0 && sb == 1) {
      const A x0 = *x;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = f(x0, y[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * so] = f(x[i * sa], y[i * sb]);
    }
  });
}

// out = f(a, b, c), elementwise with broadcasting.
template <class Out, class A, class B, class C, class F>
void map(const Shape& shape, Out* out, const Strides& out_strides, const A* a, const Strides& a_strides, const B* b,
         const Strides& b_strides, const C* c, const Strides& c_strides, F f) {
  LoopNest<4> loop(shape, {out_strides, a_strides, b_strides, c_strides});
  const int64_t so = loop.inner_stride(0), sa = loop.inner_stride(1), sb = loop.inner_stride(2),
                sc = loop.inner_stride(3);
  loop.run([&](const std::array<int64_t, 4>& off, int64_t n) {
    Out* o = out + off[0];
    const A* x = a + off[1];
    const B* y = b + off[2];
    const C* z = c + off[3];
    if (so == 1 && sa == 1 && sb == 1 && sc == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i], z[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * so] = f(x[i * sa], y[i * sb], z[i * sc]);
    }
  });
}

}  // namespace chord::cpu
