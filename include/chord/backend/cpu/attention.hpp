#pragma once
// Fused causal multi-head attention on strided [B, H, T, D] buffers, forward and
// backward, flash-attention style: the forward keeps only the output and the
// per-row logsumexp, the backward recomputes the probabilities block by block.
//
// Masking. Query i (of Tq) sits at absolute position Tk - Tq + i and sees the keys
// j with key_start[b] <= j <= Tk - Tq + i (key_start null: from 0). A query that
// sees no key outputs zeros (its logsumexp is -inf) and gets and passes zero
// gradient.
//
// Forward, per head, with scale = 1 / sqrt(D):
//   S = scale * Q K^T (masked),  lse_i = log(sum_j exp(S_ij)),  P = exp(S - lse),  O = P V.
// Backward (dO the gradient of O, rows of P recomputed from S and the saved lse):
//   dP = dO V^T
//   dS = P * (dP - delta),  delta_i = rowsum(dO * O)_i = sum_j P_ij dP_ij
//   dQ = scale * dS K,   dK = scale * dS^T Q,   dV = P^T dO
//
// The products are cpu::gemm calls on the strided rows in place, made inside
// the parallel loops (so each runs serially on its thread). Work is split by
// (batch, head) and query blocks (or key blocks for dK, dV) of fixed sizes;
// every output element is written by one task, in an order that depends only
// on the sizes: the results are bit-identical for any number of threads. The
// row kernels (softmax numerators, probabilities and score gradients) run
// through run_kernel (vector_math.hpp): AVX-512 or AVX2 builds chosen at run
// time (active_isa()), like the GEMM's micro-kernels.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "chord/backend/cpu/gemm.hpp"
#include "chord/backend/cpu/isa.hpp"
#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cpu/vector_math.hpp"
#include "chord/core/allocator.hpp"

namespace chord::cpu {

// One [B, H, T, D] operand read through its strides: element (b, h, t, d) is
// data[b * batch_stride + h * head_stride + t * row_stride + d] (the last dim
// is contiguous). A null data pointer marks an output that is not wanted.
template <class T>
struct HeadsView {
  T* data = nullptr;
  int64_t batch_stride = 0, head_stride = 0, row_stride = 0;
  T* head(int64_t b, int64_t h) const { return data + b * batch_stride + h * head_stride; }
};

struct AttentionSizes {
  int64_t B = 0, H = 0, Tq = 0, Tk = 0, D = 0;
};

namespace attention_detail {

// Query rows per block, and keys per block of the backward's dK/dV pass.
inline constexpr int64_t kQueryBlock = 16;
inline constexpr int64_t kKeyBlock = 64;
// With at least this many heads (B * H) the backward runs one task per head
// (5 products per block); with fewer it runs a dQ pass over query blocks and a
// dK/dV pass over key blocks (7 products per block, but more tasks to share).
inline constexpr int64_t kHeadsPerFusedBackward = 16;
// With at least this many queries, K (and, in the backward, V) are first copied
// transposed, [B, H, D, Tk]: the score products Q K^T and dO V^T then read both
// operands along rows, which the GEMM's direct path runs about 3 times faster
// than the dot products it otherwise needs. With fewer (decoding: Tq = 1) the
// forward runs each query row through attend_row, reading K and V in place: the
// copy would cost as much as the product.
inline constexpr int64_t kTransposeMinQueries = 8;

// The row stride of a transposed head, [D, Tk]: Tk rounded up to 8 (whole 8 x 8 transposes).
inline int64_t transposed_stride(int64_t Tk) { return (Tk + 7) / 8 * 8; }

// dst[bh][d][j] = src(b, h, j, d) for j < Tk, d < D (0 for Tk <= j < transposed_stride(Tk)):
// every head of a [B, H, Tk, D] operand transposed into a dense [B * H, D, transposed_stride(Tk)]
// buffer, by the GEMM's transposing pack where the CPU has one.
template <class T>
void transpose_heads(const AttentionSizes& s, HeadsView<const T> src, T* dst) {
  const int64_t stride = transposed_stride(s.Tk);
  const gemm_kernel::Kernels<T>* kn = gemm_kernel::kernels_for<T>(active_isa());
  parallel_for(s.B * s.H, 2 * s.Tk * s.D, [&](int64_t first, int64_t last) {
    for (int64_t bh = first; bh < last; ++bh) {
      const T* in = src.head(bh / s.H, bh % s.H);
      T* out = dst + bh * s.D * stride;
      if (kn) {
        kn->pack_lines(out, in, static_cast<int>(stride), static_cast<int>(s.Tk), s.D, src.row_stride);
        continue;
      }
      for (int64_t d = 0; d < s.D; ++d)
        for (int64_t j = 0; j < stride; ++j) out[d * stride + j] = j < s.Tk ? in[j * src.row_stride + d] : T(0);
    }
  });
}

template <class T>
T scale_of(int64_t D) {
  return D > 0 ? T(1) / std::sqrt(static_cast<T>(D)) : T(1);
}

// Row kernels on one query's scores p[0, n) against n keys of which the first
// `seen` (>= 1) are visible. They run over all n entries, the hidden ones set to
// -inf (whose exp is 0), so that blocks of equal rows vectorize without tails.

// Softmax numerators: p[c] = exp(p[c] - max) (0 for hidden keys); returns max and the sum.
template <class T>
struct RowStats {
  T max, sum;
};
struct SoftmaxNumerators {
  template <class T>
  static void run(T* p, int64_t n, int64_t seen, RowStats<T>* stats) {
    std::fill(p + seen, p + n, -std::numeric_limits<T>::infinity());
    T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
    for (int64_t c = 0; c < n; ++c) m = p[c] > m ? p[c] : m;  // this form becomes vmaxps; std::max does not
    T sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < n; ++c) {
      p[c] = vector_exp(p[c] - m);
      sum += p[c];
    }
    *stats = {m, sum};
  }
};
template <class T>
RowStats<T> softmax_numerators(Isa isa, T* p, int64_t n, int64_t seen) {
  RowStats<T> stats;
  run_kernel<SoftmaxNumerators>(isa, p, n, seen, &stats);
  return stats;
}

// The backward's probabilities and score gradients: p[c] = exp(p[c] - lse) (0 for
// hidden keys) and, when ds is not null, ds[c] = p[c] * (ds[c] - delta).
struct ProbabilitiesAndGrads {
  template <class T>
  static void run(T* p, T* ds, int64_t n, int64_t seen, T lse, T delta) {
    std::fill(p + seen, p + n, -std::numeric_limits<T>::infinity());
#pragma omp simd
    for (int64_t c = 0; c < n; ++c) p[c] = vector_exp(p[c] - lse);
    if (!ds) return;
#pragma omp simd
    for (int64_t c = 0; c < n; ++c) ds[c] = p[c] * (ds[c] - delta);
  }
};
template <class T>
void probabilities_and_grads(Isa isa, T* p, T* ds, int64_t n, int64_t seen, T lse, T delta) {
  run_kernel<ProbabilitiesAndGrads>(isa, p, ds, n, seen, lse, delta);
}

// One query row against its n (>= 1) visible keys, for decoding (few queries), where the
// products are matrix-vector ones and a GEMM call per row would cost more than the work:
//   p[j] = scale * q . k_j,  max m, p[j] = exp(p[j] - m),  o = sum_j p[j] v_j / sum_j p[j],
//   lse = m + log(sum_j p[j]).
// q: [D]; k, v: [n, D] rows at k_rs / v_rs apart; p: [n] scratch; o: [D].
// With AVX2 or AVX-512 and D a multiple of the vector width (at most kRowChunks vectors)
// the scores and the weighted sum run on vector registers (scores_row and
// weighted_sum_row below, 4 keys per horizontal sum; o's vectors held in registers
// across the keys); otherwise on the portable loops.
inline constexpr int kRowChunks = 16;

// The portable loops: p[j] = scale * q . k_j, and o = sum_j p[j] v_j.
template <class T>
void scores_row_portable(const T* q, const T* k, int64_t k_rs, int64_t n, int64_t D, T scale, T* p) {
  for (int64_t j = 0; j < n; ++j) {
    const T* kj = k + j * k_rs;
    T dot = 0;
    for (int64_t d = 0; d < D; ++d) dot += q[d] * kj[d];
    p[j] = scale * dot;
  }
}
template <class T>
void weighted_sum_row_portable(const T* p, const T* v, int64_t v_rs, int64_t n, int64_t D, T* o) {
  std::fill(o, o + D, T(0));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t d = 0; d < D; ++d) o[d] += p[j] * v[j * v_rs + d];
}

// The vector kernels for one ISA and head size, or nulls (then the portable loops run).
template <class T>
struct RowKernels {
  void (*scores)(const T*, const T*, int64_t, int64_t, T, T*) = nullptr;
  void (*weighted)(const T*, const T*, int64_t, int64_t, T*) = nullptr;
};

#if CHORD_X86_SIMD
// scores_row<Ops>: p[j] = scale * q . k_j; weighted_sum_row<Ops>: o = sum_j p[j] v_j.
// Both need D = C * W with C <= kRowChunks.
#define CHORD_ATTEND_ROW_KERNELS(TARGET)                                                                          \
  template <class Ops, int C>                                                                                     \
  TARGET void scores_row(const typename Ops::T* q, const typename Ops::T* k, int64_t k_rs, int64_t n,            \
                         typename Ops::T scale, typename Ops::T* p) {                                             \
    using V = typename Ops::V;                                                                                    \
    constexpr int W = Ops::W;                                                                                     \
    V qv[C];                                                                                                      \
    _Pragma("GCC unroll 16") for (int c = 0; c < C; ++c) qv[c] = Ops::load(q + c * W);                           \
    for (int64_t j0 = 0; j0 < n; j0 += 4) {                                                                       \
      const typename Ops::T* kj[4]; /* keys past n repeat the last one; their sums are dropped */                 \
      _Pragma("GCC unroll 4") for (int u = 0; u < 4; ++u) kj[u] = k + std::min<int64_t>(j0 + u, n - 1) * k_rs;   \
      V acc[4] = {Ops::zero(), Ops::zero(), Ops::zero(), Ops::zero()};                                            \
      _Pragma("GCC unroll 16") for (int c = 0; c < C; ++c)                                                        \
          _Pragma("GCC unroll 4") for (int u = 0; u < 4; ++u) acc[u] =                                            \
              Ops::fmadd(qv[c], Ops::load(kj[u] + c * W), acc[u]);                                                \
      typename Ops::T sums[4];                                                                                    \
      Ops::hsum4(acc, sums);                                                                                      \
      for (int u = 0; u < 4 && j0 + u < n; ++u) p[j0 + u] = scale * sums[u];                                      \
    }                                                                                                             \
  }                                                                                                               \
  template <class Ops, int C>                                                                                     \
  TARGET void weighted_sum_row(const typename Ops::T* p, const typename Ops::T* v, int64_t v_rs, int64_t n,      \
                               typename Ops::T* o) {                                                              \
    using V = typename Ops::V;                                                                                    \
    constexpr int W = Ops::W;                                                                                     \
    V acc[C];                                                                                                     \
    _Pragma("GCC unroll 16") for (int c = 0; c < C; ++c) acc[c] = Ops::zero();                                   \
    for (int64_t j = 0; j < n; ++j) {                                                                             \
      const V w = Ops::set1(p[j]);                                                                                \
      _Pragma("GCC unroll 16") for (int c = 0; c < C; ++c) acc[c] =                                              \
          Ops::fmadd(w, Ops::load(v + j * v_rs + c * W), acc[c]);                                                 \
    }                                                                                                             \
    _Pragma("GCC unroll 16") for (int c = 0; c < C; ++c) Ops::store(o + c * W, acc[c]);                          \
  }

namespace avx2 {
CHORD_ATTEND_ROW_KERNELS(CHORD_TARGET_AVX2)
}
namespace avx512 {
CHORD_ATTEND_ROW_KERNELS(CHORD_TARGET_AVX512)
}
#undef CHORD_ATTEND_ROW_KERNELS
#endif

#if CHORD_X86_SIMD
// The kernels of namespace NS with vector ops OPS for D = C * W, C a power of two up to
// kRowChunks (nulls for any other D).
#define CHORD_ROW_KERNELS_FOR(NS, OPS)                                                                            \
  [&]() -> RowKernels<T> {                                                                                        \
    using Ops = gemm_kernel::NS::OPS;                                                                             \
    switch (D % Ops::W ? 0 : D / Ops::W) {                                                                        \
      case 1: return {&NS::scores_row<Ops, 1>, &NS::weighted_sum_row<Ops, 1>};                                    \
      case 2: return {&NS::scores_row<Ops, 2>, &NS::weighted_sum_row<Ops, 2>};                                    \
      case 4: return {&NS::scores_row<Ops, 4>, &NS::weighted_sum_row<Ops, 4>};                                    \
      case 8: return {&NS::scores_row<Ops, 8>, &NS::weighted_sum_row<Ops, 8>};                                    \
      case 16: return {&NS::scores_row<Ops, 16>, &NS::weighted_sum_row<Ops, 16>};                                 \
      default: return {};                                                                                         \
    }                                                                                                             \
  }()
#endif

template <class T>
RowKernels<T> row_kernels(Isa isa, int64_t D) {
#if CHORD_X86_SIMD
  if constexpr (std::is_same_v<T, float>) {
    if (isa >= Isa::Avx512) return CHORD_ROW_KERNELS_FOR(avx512, F32);
    if (isa >= Isa::Avx2) return CHORD_ROW_KERNELS_FOR(avx2, F32);
  } else if constexpr (std::is_same_v<T, double>) {
    if (isa >= Isa::Avx512) return CHORD_ROW_KERNELS_FOR(avx512, F64);
    if (isa >= Isa::Avx2) return CHORD_ROW_KERNELS_FOR(avx2, F64);
  }
#endif
  (void)isa, (void)D;
  return {};
}
#undef CHORD_ROW_KERNELS_FOR

template <class T>
void attend_row(Isa isa, const T* q, const T* k, int64_t k_rs, const T* v, int64_t v_rs, int64_t n, int64_t D,
                T scale, T* p, T* o, T* lse) {
  const RowKernels<T> kn = row_kernels<T>(isa, D);
  if (kn.scores) kn.scores(q, k, k_rs, n, scale, p);
  else scores_row_portable(q, k, k_rs, n, D, scale, p);
  const RowStats<T> st = softmax_numerators(isa, p, n, n);
  if (kn.weighted) kn.weighted(p, v, v_rs, n, o);
  else weighted_sum_row_portable(p, v, v_rs, n, D, o);
  const T inv = T(1) / st.sum;
  for (int64_t d = 0; d < D; ++d) o[d] *= inv;
  *lse = st.max + std::log(st.sum);
}

// How many of the keys [j0, j0 + n) query i sees (they are a prefix: j0 >= key_start).
inline int64_t visible_keys(const AttentionSizes& s, int64_t i, int64_t j0, int64_t n) {
  return std::clamp<int64_t>(s.Tk - s.Tq + i + 1 - j0, 0, n);
}

// Zeroes rows [r0, r1) of one head of an output.
template <class T>
void zero_rows(T* head, int64_t row_stride, int64_t r0, int64_t r1, int64_t D) {
  for (int64_t r = r0; r < r1; ++r) std::fill_n(head + r * row_stride, D, T(0));
}

// The backward's view of one head (b, h): pointers to its rows and its saved
// statistics, and the block step that recomputes P and dS.
template <class T>
struct HeadGrads {
  const AttentionSizes& s;
  T scale;
  const T *q, *k, *v, *dout;  // [Tq|Tk, D] rows of this head
  int64_t q_rs, k_rs, v_rs, do_rs;
  const T *lse, *delta;  // [Tq] each
  Isa isa;
  const T *kt, *vt;  // [D, kt_rs] each: this head's K and V transposed, or null (then k and v are read)
  int64_t kt_rs;     // transposed_stride(Tk)

  // For query rows [i0, i1) and keys [j0, j1) (j0 >= key_start):
  //   p[r, c]  = exp(scale * q_i . k_j - lse_i) where query i sees key j, else 0
  //   ds[r, c] = p[r, c] * (dO_i . v_j - delta_i)   (skipped when ds is null)
  // with i = i0 + r, j = j0 + c; p, ds: [i1 - i0, j1 - j0] row-major.
  void block(int64_t i0, int64_t i1, int64_t j0, int64_t j1, T* p, T* ds) const {
    const int64_t rows = i1 - i0, n = j1 - j0;
    if (kt) gemm<T>(rows, n, s.D, scale, q + i0 * q_rs, q_rs, 1, kt + j0, kt_rs, 1, p, n, 1);
    else gemm<T>(rows, n, s.D, scale, q + i0 * q_rs, q_rs, 1, k + j0 * k_rs, 1, k_rs, p, n, 1);
    if (ds && vt) gemm<T>(rows, n, s.D, T(1), dout + i0 * do_rs, do_rs, 1, vt + j0, kt_rs, 1, ds, n, 1);
    else if (ds) gemm<T>(rows, n, s.D, T(1), dout + i0 * do_rs, do_rs, 1, v + j0 * v_rs, 1, v_rs, ds, n, 1);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = i0 + r, seen = visible_keys(s, i, j0, n);
      T* pr = p + r * n;
      T* dsr = ds ? ds + r * n : nullptr;
      if (seen == 0) {  // lse is -inf: nothing to exponentiate
        std::fill(pr, pr + n, T(0));
        if (dsr) std::fill(dsr, dsr + n, T(0));
        continue;
      }
      probabilities_and_grads(isa, pr, dsr, n, seen, lse[i], delta[i]);
    }
  }
};

}  // namespace attention_detail

// Forward. q: [B, H, Tq, D]; k, v: [B, H, Tk, D] (Tk >= Tq); key_start: [B] or
// null. Writes out: [B, H, Tq, D] (must not overlap the inputs) and
// lse: [B, H, Tq] contiguous, the logsumexp of each query's scaled scores.
template <class T>
void attention_forward(const AttentionSizes& s, HeadsView<const T> q, HeadsView<const T> k, HeadsView<const T> v,
                       const int64_t* key_start, HeadsView<T> out, T* lse) {
  using namespace attention_detail;
  const int64_t Br = kQueryBlock, blocks = (s.Tq + Br - 1) / Br;
  const T scale = scale_of<T>(s.D);
  const Isa isa = active_isa();
  const int64_t kt_rs = transposed_stride(s.Tk);
  HostBuffer<T> kt;  // [B * H, D, kt_rs], when the queries are many enough
  if (s.Tq >= kTransposeMinQueries) {
    kt = HostBuffer<T>(static_cast<std::size_t>(s.B * s.H * s.D * kt_rs));
    transpose_heads(s, k, kt.data());
  }
  parallel_for(s.B * s.H * blocks, 2 * Br * std::max<int64_t>(s.Tk, 1) * std::max<int64_t>(s.D, 1),
               [&](int64_t first, int64_t last) {
    HostBuffer<T> p(static_cast<std::size_t>(std::min(Br, s.Tq) * s.Tk));  // [rows, n]: scores, then numerators
    T inv_sum[kQueryBlock];                                   // [rows]: 1 / sum of each row's numerators
    for (int64_t task = first; task < last; ++task) {
      const int64_t bh = task / blocks, b = bh / s.H, h = bh % s.H;
      const int64_t i0 = (task % blocks) * Br, i1 = std::min(s.Tq, i0 + Br), rows = i1 - i0;
      const int64_t j0 = key_start ? key_start[b] : 0, j1 = s.Tk - s.Tq + i1;  // keys any row of the block sees
      const int64_t n = std::max<int64_t>(0, j1 - j0);
      T* o = out.head(b, h) + i0 * out.row_stride;  // [rows, D]
      T* l = lse + bh * s.Tq + i0;                   // [rows]
      if (n == 0) {
        zero_rows(o, out.row_stride, 0, rows, s.D);
        std::fill_n(l, rows, -std::numeric_limits<T>::infinity());
        continue;
      }
      const T* qh = q.head(b, h) + i0 * q.row_stride;
      if (!kt.data()) {  // few queries: row by row
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t seen = visible_keys(s, i0 + r, j0, n);
          if (seen == 0) {
            zero_rows(o, out.row_stride, r, r + 1, s.D);
            l[r] = -std::numeric_limits<T>::infinity();
            continue;
          }
          attend_row(isa, qh + r * q.row_stride, k.head(b, h) + j0 * k.row_stride, k.row_stride,
                     v.head(b, h) + j0 * v.row_stride, v.row_stride, seen, s.D, scale, p.data(), o + r * out.row_stride,
                     l + r);
        }
        continue;
      }
      if (kt.data())
        gemm<T>(rows, n, s.D, scale, qh, q.row_stride, 1, kt.data() + bh * s.D * kt_rs + j0, kt_rs, 1, p.data(), n, 1);
      else
        gemm<T>(rows, n, s.D, scale, qh, q.row_stride, 1, k.head(b, h) + j0 * k.row_stride, 1, k.row_stride, p.data(),
                n, 1);
      for (int64_t r = 0; r < rows; ++r) {
        T* pr = p.data() + r * n;
        const int64_t seen = visible_keys(s, i0 + r, j0, n);
        if (seen == 0) {
          std::fill(pr, pr + n, T(0));
          l[r] = -std::numeric_limits<T>::infinity();
          inv_sum[r] = 0;
          continue;
        }
        const RowStats<T> st = softmax_numerators(isa, pr, n, seen);
        l[r] = st.max + std::log(st.sum);
        inv_sum[r] = T(1) / st.sum;
      }
      // O = (numerators V) / sum, the division on the [rows, D] result rather than on P.
      gemm<T>(rows, s.D, n, T(1), p.data(), n, 1, v.head(b, h) + j0 * v.row_stride, v.row_stride, 1, o,
              out.row_stride, 1);
      for (int64_t r = 0; r < rows; ++r) {
        T* orow = o + r * out.row_stride;
        const T f = inv_sum[r];
#pragma omp simd
        for (int64_t d = 0; d < s.D; ++d) orow[d] *= f;
      }
    }
  });
}

// Backward. q, k, v, out, lse, key_start as in (and from) the forward; dout:
// [B, H, Tq, D], the gradient of out. Writes dq: [B, H, Tq, D] and dk, dv:
// [B, H, Tk, D], each skipped when its data is null; they must not overlap
// each other or the inputs.
template <class T>
void attention_backward(const AttentionSizes& s, HeadsView<const T> q, HeadsView<const T> k, HeadsView<const T> v,
                        HeadsView<const T> out, HeadsView<const T> dout, const T* lse, const int64_t* key_start,
                        HeadsView<T> dq, HeadsView<T> dk, HeadsView<T> dv) {
  using namespace attention_detail;
  const int64_t B = s.B, H = s.H, Tq = s.Tq, Tk = s.Tk, D = s.D, heads = B * H;
  const bool want_q = dq.data, want_k = dk.data, want_v = dv.data;
  if (heads == 0 || !(want_q || want_k || want_v)) return;
  const T scale = scale_of<T>(D);
  const Isa isa = active_isa();

  // delta [B, H, Tq]: rowsum(dO * O).
  HostBuffer<T> delta(static_cast<std::size_t>(heads * Tq));
  parallel_for(heads * Tq, 2 * std::max<int64_t>(D, 1), [&](int64_t first, int64_t last) {
    for (int64_t row = first; row < last; ++row) {
      const int64_t bh = row / std::max<int64_t>(Tq, 1), i = row % std::max<int64_t>(Tq, 1);
      const T* o = out.head(bh / H, bh % H) + i * out.row_stride;
      const T* g = dout.head(bh / H, bh % H) + i * dout.row_stride;
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t d = 0; d < D; ++d) sum += o[d] * g[d];
      delta[row] = sum;
    }
  });

  const int64_t kt_rs = transposed_stride(Tk);
  HostBuffer<T> kt, vt;  // [B * H, D, kt_rs] each, when the queries are many enough
  if (Tq >= kTransposeMinQueries) {
    kt = HostBuffer<T>(static_cast<std::size_t>(heads * D * kt_rs));
    transpose_heads(s, k, kt.data());
    if (want_q || want_k) {
      vt = HostBuffer<T>(kt.size());
      transpose_heads(s, v, vt.data());
    }
  }
  auto head_of = [&](int64_t bh) {
    const int64_t b = bh / H, h = bh % H;
    return HeadGrads<T>{s,
                        scale,
                        q.head(b, h),
                        k.head(b, h),
                        v.head(b, h),
                        dout.head(b, h),
                        q.row_stride,
                        k.row_stride,
                        v.row_stride,
                        dout.row_stride,
                        lse + bh * Tq,
                        delta.data() + bh * Tq,
                        isa,
                        kt.data() ? kt.data() + bh * D * kt_rs : nullptr,
                        vt.data() ? vt.data() + bh * D * kt_rs : nullptr,
                        kt_rs};
  };
  const bool need_ds = want_q || want_k;
  const int64_t Br = kQueryBlock, q_blocks = (Tq + Br - 1) / Br;
  const int64_t work_per_head = 6 * std::max<int64_t>(Tq, 1) * std::max<int64_t>(Tk, 1) * std::max<int64_t>(D, 1);

  // dQ rows [i0, i1) = scale * dS K over the keys the block sees (ds, p: [Br, Tk] scratch).
  auto dq_block = [&](const HeadGrads<T>& g, int64_t b, int64_t h, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                      const T* ds) {
    T* dqh = dq.head(b, h);
    if (j1 <= j0) return zero_rows(dqh, dq.row_stride, i0, i1, D);
    gemm<T>(i1 - i0, D, j1 - j0, scale, ds, j1 - j0, 1, g.k + j0 * g.k_rs, g.k_rs, 1, dqh + i0 * dq.row_stride,
            dq.row_stride, 1);
  };
  // dV rows [j0, j1) += P^T dO and dK rows [j0, j1) += scale * dS^T Q over query rows [i0, i1).
  auto dkv_block = [&](const HeadGrads<T>& g, int64_t b, int64_t h, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                       const T* p, const T* ds) {
    const int64_t rows = i1 - i0, n = j1 - j0;
    if (want_v)
      gemm<T>(n, D, rows, T(1), p, 1, n, g.dout + i0 * g.do_rs, g.do_rs, 1, dv.head(b, h) + j0 * dv.row_stride,
              dv.row_stride, 1, /*accumulate=*/true);
    if (want_k)
      gemm<T>(n, D, rows, scale, ds, 1, n, g.q + i0 * g.q_rs, g.q_rs, 1, dk.head(b, h) + j0 * dk.row_stride,
              dk.row_stride, 1, /*accumulate=*/true);
  };

  if (heads >= kHeadsPerFusedBackward) {
    // One task per head: its query blocks in order, dK and dV accumulated across them.
    parallel_for(heads, work_per_head, [&](int64_t first, int64_t last) {
      HostBuffer<T> p(static_cast<std::size_t>(std::min(Br, Tq) * Tk)), ds(need_ds ? p.size() : 0);  // [Br, Tk] each
      for (int64_t bh = first; bh < last; ++bh) {
        const int64_t b = bh / H, h = bh % H, ks = key_start ? key_start[b] : 0;
        const HeadGrads<T> g = head_of(bh);
        if (want_k) zero_rows(dk.head(b, h), dk.row_stride, 0, Tk, D);
        if (want_v) zero_rows(dv.head(b, h), dv.row_stride, 0, Tk, D);
        for (int64_t i0 = 0; i0 < Tq; i0 += Br) {
          const int64_t i1 = std::min(Tq, i0 + Br), j1 = Tk - Tq + i1;
          if (j1 > ks) {
            g.block(i0, i1, ks, j1, p.data(), need_ds ? ds.data() : nullptr);
            dkv_block(g, b, h, i0, i1, ks, j1, p.data(), ds.data());
          }
          if (want_q) dq_block(g, b, h, i0, i1, ks, j1, ds.data());
        }
      }
    });
    return;
  }

  // Few heads: a dQ pass over (head, query block) tasks ...
  if (want_q)
    parallel_for(heads * q_blocks, work_per_head / std::max<int64_t>(q_blocks, 1), [&](int64_t first, int64_t last) {
      HostBuffer<T> p(static_cast<std::size_t>(std::min(Br, Tq) * Tk)), ds(p.size());  // [Br, Tk] each
      for (int64_t task = first; task < last; ++task) {
        const int64_t bh = task / q_blocks, b = bh / H, h = bh % H, ks = key_start ? key_start[b] : 0;
        const int64_t i0 = (task % q_blocks) * Br, i1 = std::min(Tq, i0 + Br), j1 = Tk - Tq + i1;
        const HeadGrads<T> g = head_of(bh);
        if (j1 > ks) g.block(i0, i1, ks, j1, p.data(), ds.data());
        dq_block(g, b, h, i0, i1, ks, j1, ds.data());
      }
    });
  // ... and a dK/dV pass over (head, key block) tasks, each over the query blocks that see its keys.
  if (!(want_k || want_v)) return;
  const int64_t Bc = kKeyBlock, k_blocks = (Tk + Bc - 1) / Bc;
  parallel_for(heads * k_blocks, work_per_head / std::max<int64_t>(k_blocks, 1), [&](int64_t first, int64_t last) {
    HostBuffer<T> p(static_cast<std::size_t>(std::min(Br, Tq) * Bc)), ds(need_ds ? p.size() : 0);  // [Br, Bc] each
    for (int64_t task = first; task < last; ++task) {
      const int64_t bh = task / k_blocks, b = bh / H, h = bh % H, ks = key_start ? key_start[b] : 0;
      const int64_t c0 = (task % k_blocks) * Bc, c1 = std::min(Tk, c0 + Bc), j0 = std::max(c0, ks);
      const HeadGrads<T> g = head_of(bh);
      if (want_k) zero_rows(dk.head(b, h), dk.row_stride, c0, c1, D);
      if (want_v) zero_rows(dv.head(b, h), dv.row_stride, c0, c1, D);
      if (j0 >= c1) continue;  // keys of this block are all padding
      // The first query that sees key j0 sits at position j0.
      for (int64_t i0 = std::max<int64_t>(0, j0 - (Tk - Tq)); i0 < Tq; i0 += Br) {
        const int64_t i1 = std::min(Tq, i0 + Br);
        g.block(i0, i1, j0, c1, p.data(), need_ds ? ds.data() : nullptr);
        dkv_block(g, b, h, i0, i1, j0, c1, p.data(), ds.data());
      }
    }
  });
}

}  // namespace chord::cpu
