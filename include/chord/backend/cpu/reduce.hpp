#pragma once
// Reductions over any set of dimensions of a strided input.
//
// A Reducer says how values combine:
//   struct Sum { using Acc = T; Acc init() const; Acc combine(Acc, T) const;
//                Acc merge(Acc, Acc) const; T finish(Acc, int64_t count) const; };
// The input is viewed as [kept dims..., reduced dims...]; each output element
// is reduced by one thread in a fixed order (8 independent lanes, then the
// lanes merged in order), so results are bit-identical for any thread count.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "chord/backend/cpu/parallel.hpp"
#include "chord/core/shape.hpp"

namespace chord::cpu {

// Dimensions of the input split into kept (output) and reduced ones, each group
// with adjacent contiguous dims merged.
struct ReductionLayout {
  Shape kept_shape, kept_strides;        // over the output, in output order
  Shape reduced_shape, reduced_strides;  // innermost last
  int64_t reduced_count = 1;

  ReductionLayout(const Shape& shape, const Strides& strides, const std::vector<bool>& reduce) {
    for (int d = 0; d < shape.size(); ++d) {
      if (shape[d] == 1) continue;
      Shape& sizes = reduce[d] ? reduced_shape : kept_shape;
      Shape& strd = reduce[d] ? reduced_strides : kept_strides;
      if (!sizes.empty() && strd.back() == strides[d] * shape[d]) {
        sizes[sizes.size() - 1] *= shape[d];
        strd[strd.size() - 1] = strides[d];
      } else {
        sizes.push_back(shape[d]);
        strd.push_back(strides[d]);
      }
      if (reduce[d]) reduced_count *= shape[d];
    }
  }
};

// Reduces the elements at base + sum_i idx_i * reduced_strides[i].
template <class T, class Reducer>
typename Reducer::Acc reduce_one(const T* base, const ReductionLayout& L, const Reducer& r) {
  using Acc = typename Reducer::Acc;
  const int nd = L.reduced_shape.size();
  if (nd == 0) return r.combine(r.init(), *base);
  const int64_t inner = L.reduced_shape.back(), inner_stride = L.reduced_strides.back();
  const int64_t outer = L.reduced_count / inner;
  constexpr int kLanes = 8;
  std::array<Acc, kLanes> lanes;
  lanes.fill(r.init());
  for (int64_t row = 0; row < outer; ++row) {
    int64_t off = 0, rem = row;
    for (int d = nd - 2; d >= 0; --d) {
      off += (rem % L.reduced_shape[d]) * L.reduced_strides[d];
      rem /= L.reduced_shape[d];
    }
    const T* x = base + off;
    int64_t i = 0;
    if (inner_stride == 1) {
      for (; i + kLanes <= inner; i += kLanes)
        for (int l = 0; l < kLanes; ++l) lanes[l] = r.combine(lanes[l], x[i + l]);
      for (; i < inner; ++i) lanes[i % kLanes] = r.combine(lanes[i % kLanes], x[i]);
    } else {
      for (; i < inner; ++i) lanes[i % kLanes] = r.combine(lanes[i % kLanes], x[i * inner_stride]);
    }
  }
  Acc acc = lanes[0];
  for (int l = 1; l < kLanes; ++l) acc = r.merge(acc, lanes[l]);
  return acc;
}

// out (contiguous, numel = product of kept dims) = reduction of `in` over the dims where reduce[d].
template <class T, class Out, class Reducer>
void reduce(const T* in, const Shape& shape, const Strides& strides, const std::vector<bool>& reduce_dims, Out* out,
            const Reducer& r) {
  const ReductionLayout L(shape, strides, reduce_dims);
  const int64_t outputs = numel_of(L.kept_shape);
  const int64_t count = L.reduced_count;
  if (count == 0) {  // reducing an empty dimension: every output is the reducer's identity
    for (int64_t o = 0; o < outputs; ++o) out[o] = r.finish(r.init(), 0);
    return;
  }

  // Few outputs, many inputs (a full sum): split the reduction into chunks of
  // fixed size, reduce them in parallel, merge the partials in order.
  if (outputs == 1 && count >= 4 * kParallelGrain && L.reduced_shape.size() == 1 && L.reduced_strides[0] == 1) {
    const int64_t chunk = kParallelGrain;
    const int64_t chunks = (count + chunk - 1) / chunk;
    std::vector<typename Reducer::Acc> partial(chunks);
    parallel_for(chunks, chunk, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        ReductionLayout piece = L;
        piece.reduced_shape[0] = std::min(chunk, count - c * chunk);
        piece.reduced_count = piece.reduced_shape[0];
        partial[c] = reduce_one(in + c * chunk, piece, r);
      }
    });
    auto acc = partial[0];
    for (int64_t c = 1; c < chunks; ++c) acc = r.merge(acc, partial[c]);
    out[0] = r.finish(acc, count);
    return;
  }

  // Reducing leading dims of a row-major block ([R, K] with K contiguous, e.g.
  // a bias gradient): walk rows and accumulate whole rows, vectorized over K.
  if (L.kept_shape.size() == 1 && L.kept_strides[0] == 1 && L.reduced_shape.size() == 1 &&
      L.reduced_strides[0] == L.kept_shape[0] && count > 1) {
    const int64_t K = L.kept_shape[0];
    // Blocks of 256 columns: long enough rows per visit to stream well.
    constexpr int64_t kBlock = 256;
    const int64_t blocks = (K + kBlock - 1) / kBlock;
    parallel_for(blocks, kBlock * count, [&](int64_t first_block, int64_t last_block) {
      std::vector<typename Reducer::Acc> acc(kBlock);
      for (int64_t blk = first_block; blk < last_block; ++blk) {
        const int64_t begin = blk * kBlock, width = std::min(kBlock, K - begin);
        std::fill(acc.begin(), acc.end(), r.init());
        for (int64_t row = 0; row < count; ++row) {
          const T* x = in + row * K + begin;
          for (int64_t k = 0; k < width; ++k) acc[k] = r.combine(acc[k], x[k]);
        }
        for (int64_t k = 0; k < width; ++k) out[begin + k] = r.finish(acc[k], count);
      }
    });
    return;
  }

  parallel_for(outputs, count, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      int64_t off = 0, rem = o;
      for (int d = L.kept_shape.size() - 1; d >= 0; --d) {
        off += (rem % L.kept_shape[d]) * L.kept_strides[d];
        rem /= L.kept_shape[d];
      }
      out[o] = r.finish(reduce_one(in + off, L, r), count);
    }
  });
}

// Reducers. Acc is the accumulator; finish turns it into the output value.
template <class T>
struct SumReducer {
  using Acc = T;
  Acc init() const { return T(0); }
  Acc combine(Acc a, T x) const { return a + x; }
  Acc merge(Acc a, Acc b) const { return a + b; }
  T finish(Acc a, int64_t) const { return a; }
};

template <class T>
struct MeanReducer : SumReducer<T> {
  T finish(T a, int64_t count) const { return count ? a / static_cast<T>(count) : T(NAN); }
};

// ---- max / min / argmax / argmin ---------------------------------------------
//
// NaN propagates as in PyTorch: a NaN among the reduced values makes the max
// (and the min) NaN, and argmax/argmin point at the first NaN.

template <class T>
bool is_nan_value(T v) {
  if constexpr (std::numeric_limits<T>::has_quiet_NaN) return std::isnan(v);
  else return false;
}

template <class T>
struct MaxReducer {
  using Acc = T;
  Acc init() const {
    if constexpr (std::numeric_limits<T>::has_infinity) return -std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::lowest();
  }
  Acc combine(Acc a, T x) const { return (is_nan_value(a) || a >= x) ? a : x; }
  Acc merge(Acc a, Acc b) const { return combine(a, b); }
  T finish(Acc a, int64_t) const { return a; }
};

template <class T>
struct MinReducer {
  using Acc = T;
  Acc init() const {
    if constexpr (std::numeric_limits<T>::has_infinity) return std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::max();
  }
  Acc combine(Acc a, T x) const { return (is_nan_value(a) || a <= x) ? a : x; }
  Acc merge(Acc a, Acc b) const { return combine(a, b); }
  T finish(Acc a, int64_t) const { return a; }
};

// better(x, best): x should replace the current best (strictly more extreme,
// or the first NaN), so ties keep the first index as PyTorch does.
template <class T>
struct ArgMaxBetter {
  bool operator()(T x, T best) const { return x > best || (is_nan_value(x) && !is_nan_value(best)); }
};
template <class T>
struct ArgMinBetter {
  bool operator()(T x, T best) const { return x < best || (is_nan_value(x) && !is_nan_value(best)); }
};

// out_index (contiguous, numel = product of kept dims) = the row-major index,
// within the reduced dims, of the first extreme element of each output's
// slice of `in`. The reduced selection must be non-empty (the caller checks).
template <class T, class Better>
void arg_reduce(const T* in, const Shape& shape, const Strides& strides, const std::vector<bool>& reduce_dims,
                int64_t* out_index, const Better& better) {
  // Merging adjacent dims and dropping size-1 dims keeps the row-major order,
  // so a running counter over the merged layout is the row-major index.
  const ReductionLayout L(shape, strides, reduce_dims);
  const int64_t outputs = numel_of(L.kept_shape);
  const int nd = L.reduced_shape.size();
  const int64_t inner = nd ? L.reduced_shape.back() : 1, inner_stride = nd ? L.reduced_strides.back() : 0;
  const int64_t outer = L.reduced_count / inner;
  parallel_for(outputs, L.reduced_count, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      int64_t base = 0, rem = o;
      for (int d = L.kept_shape.size() - 1; d >= 0; --d) {
        base += (rem % L.kept_shape[d]) * L.kept_strides[d];
        rem /= L.kept_shape[d];
      }
      T best = in[base];
      int64_t best_index = 0;
      for (int64_t row = 0; row < outer; ++row) {
        int64_t off = base;
        int64_t r = row;
        for (int d = nd - 2; d >= 0; --d) {
          off += (r % L.reduced_shape[d]) * L.reduced_strides[d];
          r /= L.reduced_shape[d];
        }
        for (int64_t i = 0; i < inner; ++i) {
          const T x = in[off + i * inner_stride];
          if (better(x, best)) {
            best = x;
            best_index = row * inner + i;
          }
        }
      }
      out_index[o] = best_index;
    }
  });
}

}  // namespace chord::cpu
