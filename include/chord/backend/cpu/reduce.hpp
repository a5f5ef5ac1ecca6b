#pragma once
// Reductions over any set of dimensions of a strided input.
//
// A Reducer says how values combine:
//   struct Sum { using Acc = T; Acc init() const; Acc combine(Acc, T) const;
//                Acc merge(Acc, Acc) const; T finish(Acc, int64_t count) const; };
// The input is viewed as [kept dims..., reduced dims...]; each output element
// is reduced by one thread in a fixed order (8 independent lanes, then the
// lanes merged in order), so results are bit-identical for any thread count.

#include <array>
#include <cstdint>
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
    parallel_for(K, count, [&](int64_t begin, int64_t end) {
      std::vector<typename Reducer::Acc> acc(end - begin, r.init());
      for (int64_t row = 0; row < count; ++row) {
        const T* x = in + row * K;
        for (int64_t k = begin; k < end; ++k) acc[k - begin] = r.combine(acc[k - begin], x[k]);
      }
      for (int64_t k = begin; k < end; ++k) out[k] = r.finish(acc[k - begin], count);
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

}  // namespace chord::cpu
