#pragma once
// Packed GEMM with AVX2+FMA, AVX-512 and portable (plain C++) micro-kernels (the
// GotoBLAS / BLIS scheme):
//   C[M,N] = alpha * A[M,K] * B[K,N]   (C += ... when accumulate)
// for float and double, every operand given as (pointer, row stride, col stride).
// The kernels are written once over an `Ops` struct of vector operations (one per ISA and
// type); the packing and the drivers below are shared by every ISA.
//
// The packed path, for products with more than a few rows:
//   for jc in N by NC:                      B panel [KC, NC] packed once, shared by the threads
//     for pc in K by KC:
//       pack B[pc:pc+kc, jc:jc+nc]          into NR-wide micro-panels  [nc/NR][kc][NR]
//       for each block of rows ic (split among the threads):
//         pack A[ic:ic+mc, pc:pc+kc]        into MR-tall micro-panels  [mc/MR][kc][MR]   (per thread)
//         for jr in nc by NR, ir in mc by MR:
//           C[ir:ir+MR, jr:jr+NR] (+)= alpha * micro-panel(A) * micro-panel(B)   (the micro-kernel)
//           after the last pc: the tile epilogue on that tile, if any (Problem::epilogue)
//         A's row sums from its micro-panels, if asked (Problem::a_row_sums)
// Packing reads any strides (row-major, transposed, step slices), so no operand is copied first.
// The micro-kernel keeps an MR x NR tile of C in registers (AVX2: 6 x 16 floats in 12 ymm;
// AVX-512: 14 x 32 floats in 28 zmm; portable: 6 x 8 floats in 12 128-bit vectors) and adds
// one rank-1 update per k.
//
// The direct path, for products of a few rows (decoding, GEMVs) or, transposed, of a few
// columns: no packing, since packing B would cost as much as the product.
//   B row-major (col stride 1):   the micro-kernel reads A and B in place ("rows" kernel);
//   B column-major, A row-major:  dot products along K ("dots" kernel).
//
// Determinism. Every element of C is one chain of FMAs over k within a KC block, then one
// update of C per block; the path and the kernel depend only on the sizes and strides, KC only
// on the L1d size (gemm_blocking.hpp), never on the thread count or on which thread computes a
// tile. So any number of threads gives the same bits. (Another ISA gives other bits: the tile
// shapes differ; so does another L1d size, through KC.)

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "chord/backend/cpu/gemm_blocking.hpp"
#include "chord/backend/cpu/isa.hpp"
#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cpu/thread_pool.hpp"

#if CHORD_X86_SIMD
#include <immintrin.h>
#endif

namespace chord::cpu::gemm_kernel {

// Work done on each tile of C once its product is complete (all of K summed), while the tile
// is still in L1: apply(context, c, c_rs, i0, j0, m, n) for the m x n tile whose element (0, 0)
// is C[i0, j0] at c, rows c_rs apart, columns contiguous. It must treat each element alone
// (an activation, a scaling), so that which tiles there are changes no result. A linear layer
// with GELU writes gelu(C) beside C this way, and GELU's backward scales dY W by gelu'(h)
// (backend/cpu/activation.hpp), each saving a pass over a matrix bigger than L2.
// prefetch(context, i0, j0, m, n), when given, runs just before the tile's last product: a hint
// to fetch what apply will read or write, which then arrives while the micro-kernel runs.
template <class T>
struct TileEpilogue {
  using Fn = void (*)(const void* context, T* c, int64_t c_rs, int64_t i0, int64_t j0, int64_t m, int64_t n);
  using PrefetchFn = void (*)(const void* context, int64_t i0, int64_t j0, int64_t m, int64_t n);
  Fn apply = nullptr;
  const void* context = nullptr;
  PrefetchFn prefetch = nullptr;
};

// One product. Element (i, j) of A is a[i * a_rs + j * a_cs], and so on.
template <class T>
struct Problem {
  int64_t M, N, K;
  T alpha;
  const T* a;  // A: [M, K]
  int64_t a_rs, a_cs;
  const T* b;  // B: [K, N]
  int64_t b_rs, b_cs;
  T* c;  // C: [M, N]
  int64_t c_rs, c_cs;
  bool accumulate;
  // B already packed in NR-wide panels by pack_b_panels (then b, b_rs, b_cs are unused), or null.
  const T* b_panels = nullptr;
  // A bias, one value per column of C (element j at bias[j * bias_stride]), or null:
  // C = bias + alpha * A * B, broadcast over the rows (a linear layer's y = x W^T + b).
  // Only without accumulate. The packed path writes it into each tile of C just before
  // the tile's first product, while that tile is in L1, instead of in a pass of its own.
  const T* bias = nullptr;
  int64_t bias_stride = 0;
  // Applied to every tile of C at the end (see TileEpilogue); needs c_cs == 1 and no accumulate.
  TileEpilogue<T> epilogue{};
  // When set, a_row_sums[i] = sum_k A[i, k] for every row i < M, summed k = 0, 1, ..., K - 1 in
  // that order (the bits depend on nothing else). With A = dY^T this is a linear layer's bias
  // gradient beside its weight gradient dY^T X: the packed path adds up A's packed panels,
  // which are in L1, instead of reading dY again.
  T* a_row_sums = nullptr;
};

// C^T = B^T A^T: the same product with the roles of rows and columns swapped (B not prepacked).
template <class T>
Problem<T> transposed(const Problem<T>& p) {
  return {p.N, p.M, p.K, p.alpha, p.b, p.b_cs, p.b_rs, p.a, p.a_cs, p.a_rs, p.c, p.c_cs, p.c_rs, p.accumulate};
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The row stride of a packed A micro-panel of R rows: R rounded up to 8, so that
// it is packed by whole 8 x 8 (float) or 4 x 4 (double) transposes.
constexpr int packed_rows(int R) { return (R + 7) / 8 * 8; }

// A tile kernel: C[0:R, 0:NR] (+)= alpha * A[0:R, 0:kc] * B[0:kc, 0:NR], C row-major with row stride c_rs.
// A is packed ([kc][packed_rows(R)], a_rs/a_cs unused) or read in place; B rows are contiguous, b_rs apart.
// add_c: C += alpha * AB, else C = alpha * AB.
template <class T>
using TileFn = void (*)(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs, T* c,
                        int64_t c_rs, T alpha, bool add_c);
// A dots kernel: C[i, q] (+)= alpha * sum_k A[i, k] * Bcol_q[k] for i < R, q < nv <= 4;
// A rows contiguous, a_rs apart; bcol: 4 column pointers (the ones past nv repeat a valid one).
template <class T>
using DotFn = void (*)(int64_t K, const T* a, int64_t a_rs, const T* const* bcol, T* c, int64_t c_rs, int64_t c_cs,
                       int nv, T alpha, bool add_c);
inline constexpr int kDotCols = 4;
// dst[k * P + r] = src[r * s_r + k] for r < rows, k < kc; 0 for rows <= r < P. dst: [kc, P]
// (P a multiple of 8): a micro-panel packed from lines that are contiguous along k.
template <class T>
using PackFn = void (*)(T* dst, const T* src, int P, int rows, int64_t kc, int64_t s_r);
// Micro-panels packed from a matrix contiguous along r: rows [t R, t R + R) of the source go
// to panel t, dst[t * panel_stride + k * P + r] = src[t R + r + k * s_k] for k < kc, 0 for the
// rows of the panel past `rows` (P a multiple of the vector width, R <= P). Rows R <= r < P of a
// panel are padding, never read: they may hold anything. Reading k by k across all
// ceil(rows / R) panels walks each source line once, in order.
template <class T>
using PackRowsFn = void (*)(T* dst, const T* src, int R, int P, int64_t rows, int64_t kc, int64_t s_k,
                            int64_t panel_stride);

inline constexpr int kMaxRows = 16;  // the most rows of any kernel's tile (bounds the tables below)

// The kernels of one ISA for one type and their blocking.
template <class T>
struct Kernels {
  Isa isa;
  int MR, NR;          // packed tile: MR x NR; packed A micro-panels have packed_rows(MR) rows
  int64_t KC, MC, NC;  // cache blocks: B micro-panel [KC, NR] in L1, A block [MC, KC] in L2, B panel [KC, NC] in L3
  TileFn<T> packed;    // the MR x NR micro-kernel on packed A and B
  // packed_edge[m] (m <= MR): the kernel for a tile of m rows on the same packed panels,
  // with packed_edge_rows[m] >= m rows (MR for the full kernel): the last tile of 256 rows
  // has 4 rows of 14, and the full kernel would spend a whole tile's time on them.
  TileFn<T> packed_edge[kMaxRows + 1];
  int packed_edge_rows[kMaxRows + 1];
  int rows_max;        // direct "rows" tiles have 1..rows_max rows
  TileFn<T> rows[kMaxRows + 1];
  int dot_rows_max;  // direct "dots" kernels: 1..dot_rows_max rows x kDotCols columns
  DotFn<T> dots[kMaxRows + 1];
  PackFn<T> pack_lines;     // the transposing pack
  PackRowsFn<T> pack_rows;  // the copying pack
  int vector_width;         // pack_rows needs P to be a multiple of it
};

#if CHORD_X86_SIMD

// ---- vector operations, one struct per (ISA, type) --------------------------------

namespace avx2 {
struct F32 {
  using T = float;
  using V = __m256;
  static constexpr int W = 8, kRegs = 16;
  CHORD_INLINE_AVX2 static V zero() { return _mm256_setzero_ps(); }
  CHORD_INLINE_AVX2 static V load(const T* p) { return _mm256_loadu_ps(p); }
  CHORD_INLINE_AVX2 static V load_first(const T* p, int n) {  // lanes >= n are 0 and not read
    alignas(32) static constexpr int32_t mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_maskload_ps(p, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mask + 8 - n)));
  }
  CHORD_INLINE_AVX2 static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  CHORD_INLINE_AVX2 static V set1(T x) { return _mm256_set1_ps(x); }
  CHORD_INLINE_AVX2 static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  CHORD_INLINE_AVX2 static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  CHORD_INLINE_AVX2 static V add(V a, V b) { return _mm256_add_ps(a, b); }
  // out[q] = the sum of the lanes of v[q], q < 4, by a fixed tree.
  CHORD_INLINE_AVX2 static void hsum4(const V* v, T* out) {
    const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
  }
};
struct F64 {
  using T = double;
  using V = __m256d;
  static constexpr int W = 4, kRegs = 16;
  CHORD_INLINE_AVX2 static V zero() { return _mm256_setzero_pd(); }
  CHORD_INLINE_AVX2 static V load(const T* p) { return _mm256_loadu_pd(p); }
  CHORD_INLINE_AVX2 static V load_first(const T* p, int n) {
    alignas(32) static constexpr int64_t mask[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
    return _mm256_maskload_pd(p, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mask + 4 - n)));
  }
  CHORD_INLINE_AVX2 static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  CHORD_INLINE_AVX2 static V set1(T x) { return _mm256_set1_pd(x); }
  CHORD_INLINE_AVX2 static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  CHORD_INLINE_AVX2 static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  CHORD_INLINE_AVX2 static V add(V a, V b) { return _mm256_add_pd(a, b); }
  CHORD_INLINE_AVX2 static void hsum4(const V* v, T* out) {
    const __m256d t0 = _mm256_hadd_pd(v[0], v[1]), t1 = _mm256_hadd_pd(v[2], v[3]);
    _mm256_storeu_pd(out, _mm256_add_pd(_mm256_permute2f128_pd(t0, t1, 0x20), _mm256_permute2f128_pd(t0, t1, 0x31)));
  }
};
}  // namespace avx2

namespace avx512 {
struct F32 {
  using T = float;
  using V = __m512;
  static constexpr int W = 16, kRegs = 32;
  CHORD_INLINE_AVX512 static V zero() { return _mm512_setzero_ps(); }
  CHORD_INLINE_AVX512 static V load(const T* p) { return _mm512_loadu_ps(p); }
  CHORD_INLINE_AVX512 static V load_first(const T* p, int n) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
  }
  CHORD_INLINE_AVX512 static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  CHORD_INLINE_AVX512 static V set1(T x) { return _mm512_set1_ps(x); }
  CHORD_INLINE_AVX512 static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  CHORD_INLINE_AVX512 static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  CHORD_INLINE_AVX512 static V add(V a, V b) { return _mm512_add_ps(a, b); }
  // The two halves by zero-masked extracts: the plain extract (and GCC 12's 512 -> 256 cast,
  // built on it) passes an undefined vector through, which GCC 12 then warns (falsely) is
  // used uninitialized. An all-ones mask compiles to the plain instruction.
  CHORD_INLINE_AVX512 static __m256 half(V v, int upper) {
    const __m512d d = _mm512_castps_pd(v);
    return _mm256_castpd_ps(upper ? _mm512_maskz_extractf64x4_pd(0xF, d, 1) : _mm512_maskz_extractf64x4_pd(0xF, d, 0));
  }
  CHORD_INLINE_AVX512 static void hsum4(const V* v, T* out) {
    const __m256 h[4] = {_mm256_add_ps(half(v[0], 0), half(v[0], 1)), _mm256_add_ps(half(v[1], 0), half(v[1], 1)),
                         _mm256_add_ps(half(v[2], 0), half(v[2], 1)), _mm256_add_ps(half(v[3], 0), half(v[3], 1))};
    avx2::F32::hsum4(h, out);
  }
};
struct F64 {
  using T = double;
  using V = __m512d;
  static constexpr int W = 8, kRegs = 32;
  CHORD_INLINE_AVX512 static V zero() { return _mm512_setzero_pd(); }
  CHORD_INLINE_AVX512 static V load(const T* p) { return _mm512_loadu_pd(p); }
  CHORD_INLINE_AVX512 static V load_first(const T* p, int n) {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << n) - 1u), p);
  }
  CHORD_INLINE_AVX512 static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  CHORD_INLINE_AVX512 static V set1(T x) { return _mm512_set1_pd(x); }
  CHORD_INLINE_AVX512 static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  CHORD_INLINE_AVX512 static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  CHORD_INLINE_AVX512 static V add(V a, V b) { return _mm512_add_pd(a, b); }
  // Zero-masked extracts: see F32::half.
  CHORD_INLINE_AVX512 static __m256d half_sum(V v) {
    return _mm256_add_pd(_mm512_maskz_extractf64x4_pd(0xF, v, 0), _mm512_maskz_extractf64x4_pd(0xF, v, 1));
  }
  CHORD_INLINE_AVX512 static void hsum4(const V* v, T* out) {
    const __m256d h[4] = {half_sum(v[0]), half_sum(v[1]), half_sum(v[2]), half_sum(v[3])};
    avx2::F64::hsum4(h, out);
  }
};
}  // namespace avx512

#endif  // CHORD_X86_SIMD

// The portable ISA (any CPU, and set_isa_limit(Isa::Portable)): a "vector" of W scalar
// lanes in plain C++, every operation a loop over the lanes that the compiler turns into
// whatever vectors the build targets (SSE2 on plain x86-64, NEON on AArch64) or scalars.
// No intrinsics and no target attribute; fmadd is a * b + c, which the compiler may fuse
// or not (one choice per build, so the same bits for any thread count).
namespace portable {
#if defined(__GNUC__) || defined(__clang__)
#define CHORD_PORTABLE_INLINE __attribute__((always_inline)) inline
#else
#define CHORD_PORTABLE_INLINE inline
#endif
// V: W lanes of T. A plain array, each operation a loop over the lanes, which GCC 12
// vectorises at full speed (as fast as Eigen's SSE2 GEMM on x86-64, and 25% faster than
// the vector type below). With Clang, which vectorises those loops at half that speed, a
// generic vector type (vector_size: no intrinsics, no target; Clang lowers it to the
// build's vector registers, or to scalars): 20% below Eigen's SSE2 GEMM.
#if defined(__clang__) && !defined(CHORD_PORTABLE_GEMM_ARRAYS)
template <class TT, int WW>
struct Lanes {
  using T = TT;
  typedef T V __attribute__((vector_size(WW * sizeof(T))));
  static constexpr int W = WW, kRegs = 16;
  CHORD_PORTABLE_INLINE static V zero() { return V{}; }
  CHORD_PORTABLE_INLINE static V load(const T* p) {
    V r;
    std::memcpy(&r, p, sizeof(V));
    return r;
  }
  CHORD_PORTABLE_INLINE static V load_first(const T* p, int n) {  // lanes >= n are 0 and not read
    T l[W];
    for (int i = 0; i < W; ++i) l[i] = i < n ? p[i] : T(0);
    return load(l);
  }
  CHORD_PORTABLE_INLINE static void store(T* p, V v) { std::memcpy(p, &v, sizeof(V)); }
  CHORD_PORTABLE_INLINE static V set1(T x) { return V{} + x; }
  CHORD_PORTABLE_INLINE static V fmadd(V a, V b, V c) { return a * b + c; }
  CHORD_PORTABLE_INLINE static V mul(V a, V b) { return a * b; }
  CHORD_PORTABLE_INLINE static V add(V a, V b) { return a + b; }
  // out[q] = the sum of the lanes of v[q], q < 4, by a fixed tree (halving W).
  CHORD_PORTABLE_INLINE static void hsum4(const V* v, T* out) {
    for (int q = 0; q < 4; ++q) {
      T t[W];
      store(t, v[q]);
      for (int w = W / 2; w > 0; w /= 2)
        for (int i = 0; i < w; ++i) t[i] += t[i + w];
      out[q] = t[0];
    }
  }
};
#else
template <class TT, int WW>
struct Lanes {
  using T = TT;
  struct V {
    T l[WW];
  };
  static constexpr int W = WW, kRegs = 16;
  CHORD_PORTABLE_INLINE static V zero() {
    V r;
    for (int i = 0; i < W; ++i) r.l[i] = T(0);
    return r;
  }
  CHORD_PORTABLE_INLINE static V load(const T* p) {
    V r;
    for (int i = 0; i < W; ++i) r.l[i] = p[i];
    return r;
  }
  CHORD_PORTABLE_INLINE static V load_first(const T* p, int n) {  // lanes >= n are 0 and not read
    V r;
    for (int i = 0; i < W; ++i) r.l[i] = i < n ? p[i] : T(0);
    return r;
  }
  CHORD_PORTABLE_INLINE static void store(T* p, V v) {
    for (int i = 0; i < W; ++i) p[i] = v.l[i];
  }
  CHORD_PORTABLE_INLINE static V set1(T x) {
    V r;
    for (int i = 0; i < W; ++i) r.l[i] = x;
    return r;
  }
  CHORD_PORTABLE_INLINE static V fmadd(V a, V b, V c) {
    for (int i = 0; i < W; ++i) c.l[i] = a.l[i] * b.l[i] + c.l[i];
    return c;
  }
  CHORD_PORTABLE_INLINE static V mul(V a, V b) {
    for (int i = 0; i < W; ++i) a.l[i] *= b.l[i];
    return a;
  }
  CHORD_PORTABLE_INLINE static V add(V a, V b) {
    for (int i = 0; i < W; ++i) a.l[i] += b.l[i];
    return a;
  }
  // out[q] = the sum of the lanes of v[q], q < 4, by a fixed tree (halving W).
  CHORD_PORTABLE_INLINE static void hsum4(const V* v, T* out) {
    for (int q = 0; q < 4; ++q) {
      V t = v[q];
      for (int w = W / 2; w > 0; w /= 2)
        for (int i = 0; i < w; ++i) t.l[i] += t.l[i + w];
      out[q] = t.l[0];
    }
  }
};
#endif
using F32 = Lanes<float, 4>;  // 128-bit vectors: SSE2, NEON
using F64 = Lanes<double, 2>;
}  // namespace portable

// ---- the kernels, written once and compiled per ISA ------------------------------
//
// GCC and Clang accept vector intrinsics only inside a function with the matching
// target attribute, and a template cannot take its attribute from a parameter; so
// this macro writes the two kernel templates with the attribute it is given, and is
// expanded once in namespace avx2, once in namespace avx512 and once (with no
// attribute) in namespace portable.
//
// tile<Ops, R, NV, PackedA>: the R x (NV * W) tile of the TileFn contract. Per k: NV
//   vector loads of B, R broadcasts of A, R * NV FMAs into registers. Packed A is
//   [kc][PA], PA = packed_rows(R) unless given (an edge tile's A: see Kernels::packed_edge).
//   A tile of fewer than 8 vectors (a product of 1 to 3 rows) keeps
//   KS sets of sums, k going into sum k % KS, so that enough FMA chains run at once to
//   hide their latency; the sums are added in a fixed order at the end.
// dots<Ops, R>: the R x 4 dot products of the DotFn contract, W lanes of k at a time
//   (two vectors at a time into two sets of sums when the registers allow), the last
//   partial vector by masked loads, then one fixed-order horizontal sum per 4 columns.
// pack_rows<Ops>: the PackRowsFn contract, one vector load and store per W rows. A panel of
//   R < P rows (A's 6-row panels, P = 8) loads a whole vector where the source line goes on
//   past it, which puts the next panel's first rows in the padding: a masked load there cost
//   the S train step's dW products most of their packing time on a Zen 3. Where the lines
//   are short (at most kPackPrefetchMaxLineBytes: a column-major A's block of MC rows) it
//   prefetches the line kPackPrefetchLines ahead, since a walk over lines a row stride apart
//   outruns the hardware prefetcher. Long lines (a row-major B, up to NC wide) stream by
//   themselves, and 8 of them ahead would not fit L1: prefetching them made 2048^2 10% slower.
// Tile, Dots, PackRows: class wrappers of the three, so that make_kernels can take an ISA's
//   kernels as template template parameters.
inline constexpr int64_t kPackPrefetchLines = 8;
inline constexpr int64_t kPackPrefetchMaxLineBytes = 1024;
#define CHORD_GEMM_DEFINE_KERNELS(TARGET)                                                                         \
  template <class Ops, int R, int NV, bool PackedA, int PA = 0>                                                   \
  TARGET void tile(int64_t kc, const typename Ops::T* a, int64_t a_rs, int64_t a_cs, const typename Ops::T* b,    \
                   int64_t b_rs, typename Ops::T* c, int64_t c_rs, typename Ops::T alpha, bool add_c) {           \
    using V = typename Ops::V;                                                                                    \
    constexpr int W = Ops::W, P = PA > 0 ? PA : packed_rows(R), KS = R * NV >= 8 ? 1 : 8 / (R * NV);              \
    /* C's rows are far apart (a row stride of 2048 floats puts them 8 KB apart): fetch the tile's lines now, */   \
    /* while the FMAs run, instead of missing on them all at the end. */                                          \
    _Pragma("GCC unroll 16") for (int i = 0; i < R; ++i) {                                                        \
      CHORD_PREFETCH_FOR_WRITE(c + i * c_rs);                                                                     \
      CHORD_PREFETCH_FOR_WRITE(c + i * c_rs + NV * W - 1);                                                        \
    }                                                                                                             \
    V acc[KS][R][NV]; /* the C tile, [R][NV * W], as KS partial sums over k (KS > 1: short tiles) */              \
    _Pragma("GCC unroll 4") for (int u = 0; u < KS; ++u) _Pragma("GCC unroll 16") for (int i = 0; i < R; ++i)     \
        _Pragma("GCC unroll 4") for (int j = 0; j < NV; ++j) acc[u][i][j] = Ops::zero();                          \
    /* k = k0 + u goes into sum u; the k past the last multiple of KS into sum 0 */                               \
    const int64_t k_full = kc - kc % KS;                                                                          \
    for (int64_t k0 = 0; k0 < k_full; k0 += KS) {                                                                 \
      _Pragma("GCC unroll 8") for (int u = 0; u < KS; ++u) {                                                      \
        const int64_t k = k0 + u;                                                                                 \
        V bv[NV];                                                                                                 \
        _Pragma("GCC unroll 4") for (int j = 0; j < NV; ++j) bv[j] = Ops::load(b + k * b_rs + j * W);             \
        _Pragma("GCC unroll 16") for (int i = 0; i < R; ++i) {                                                    \
          const V av = Ops::set1(PackedA ? a[k * P + i] : a[i * a_rs + k * a_cs]);                                \
          _Pragma("GCC unroll 4") for (int j = 0; j < NV; ++j) acc[u][i][j] = Ops::fmadd(av, bv[j], acc[u][i][j]); \
        }                                                                                                         \
      }                                                                                                           \
    }                                                                                                             \
    for (int64_t k = k_full; k < kc; ++k) {                                                                       \
      V bv[NV];                                                                                                   \
      _Pragma("GCC unroll 4") for (int j = 0; j < NV; ++j) bv[j] = Ops::load(b + k * b_rs + j * W);               \
      _Pragma("GCC unroll 16") for (int i = 0; i < R; ++i) {                                                      \
        const V av = Ops::set1(PackedA ? a[k * P + i] : a[i * a_rs + k * a_cs]);                                  \
        _Pragma("GCC unroll 4") for (int j = 0; j < NV; ++j) acc[0][i][j] = Ops::fmadd(av, bv[j], acc[0][i][j]);  \
      }                                                                                                           \
    }                                                                                                             \
    _Pragma("GCC unroll 4") for (int u = 1; u < KS; ++u) _Pragma("GCC unroll 16") for (int i = 0; i < R; ++i)     \
        _Pragma("GCC unroll 4") for (int j = 0; j < NV; ++j) acc[0][i][j] = Ops::add(acc[0][i][j], acc[u][i][j]); \
    const V va = Ops::set1(alpha);                                                                                \
    _Pragma("GCC unroll 16") for (int i = 0; i < R; ++i) _Pragma("GCC unroll 4") for (int j = 0; j < NV; ++j) {   \
      typename Ops::T* cp = c + i * c_rs + j * W;                                                                 \
      Ops::store(cp, add_c ? Ops::fmadd(va, acc[0][i][j], Ops::load(cp)) : Ops::mul(va, acc[0][i][j]));           \
    }                                                                                                             \
  }                                                                                                               \
                                                                                                                  \
  template <class Ops, int R>                                                                                     \
  TARGET void dots(int64_t K, const typename Ops::T* a, int64_t a_rs, const typename Ops::T* const* bcol,         \
                   typename Ops::T* c, int64_t c_rs, int64_t c_cs, int nv, typename Ops::T alpha, bool add_c) {   \
    using V = typename Ops::V;                                                                                    \
    constexpr int W = Ops::W, RN = 4, KU = 2 * R * RN + RN + 1 <= Ops::kRegs ? 2 : 1;                             \
    V acc[KU][R][RN];                                                                                             \
    _Pragma("GCC unroll 2") for (int u = 0; u < KU; ++u) _Pragma("GCC unroll 16") for (int i = 0; i < R; ++i)     \
        _Pragma("GCC unroll 4") for (int q = 0; q < RN; ++q) acc[u][i][q] = Ops::zero();                          \
    int64_t k = 0;                                                                                                \
    for (; k + KU * W <= K; k += KU * W) {                                                                        \
      _Pragma("GCC unroll 2") for (int u = 0; u < KU; ++u) {                                                      \
        V bv[RN];                                                                                                 \
        _Pragma("GCC unroll 4") for (int q = 0; q < RN; ++q) bv[q] = Ops::load(bcol[q] + k + u * W);              \
        _Pragma("GCC unroll 16") for (int i = 0; i < R; ++i) {                                                    \
          const V av = Ops::load(a + i * a_rs + k + u * W);                                                       \
          _Pragma("GCC unroll 4") for (int q = 0; q < RN; ++q) acc[u][i][q] = Ops::fmadd(av, bv[q], acc[u][i][q]); \
        }                                                                                                         \
      }                                                                                                           \
    }                                                                                                             \
    for (; k < K; k += W) {                                                                                       \
      const int n = K - k < W ? static_cast<int>(K - k) : W;                                                      \
      V bv[RN];                                                                                                   \
      _Pragma("GCC unroll 4") for (int q = 0; q < RN; ++q) bv[q] = Ops::load_first(bcol[q] + k, n);               \
      _Pragma("GCC unroll 16") for (int i = 0; i < R; ++i) {                                                      \
        const V av = Ops::load_first(a + i * a_rs + k, n);                                                        \
        _Pragma("GCC unroll 4") for (int q = 0; q < RN; ++q) acc[0][i][q] = Ops::fmadd(av, bv[q], acc[0][i][q]);  \
      }                                                                                                           \
    }                                                                                                             \
    for (int i = 0; i < R; ++i) {                                                                                 \
      if (KU == 2)                                                                                                \
        for (int q = 0; q < RN; ++q) acc[0][i][q] = Ops::add(acc[0][i][q], acc[KU - 1][i][q]);                    \
      typename Ops::T s[RN];                                                                                      \
      Ops::hsum4(acc[0][i], s);                                                                                   \
      for (int q = 0; q < nv; ++q) {                                                                              \
        typename Ops::T* cp = c + i * c_rs + q * c_cs;                                                            \
        *cp = add_c ? *cp + alpha * s[q] : alpha * s[q];                                                          \
      }                                                                                                           \
    }                                                                                                             \
  }                                                                                                               \
                                                                                                                  \
  template <class Ops>                                                                                            \
  TARGET void pack_rows(typename Ops::T* dst, const typename Ops::T* src, int R, int P, int64_t rows, int64_t kc, \
                        int64_t s_k, int64_t panel_stride) {                                                      \
    constexpr int W = Ops::W;                                                                                     \
    const int64_t panels = (rows + R - 1) / R;                                                                    \
    const int64_t prefetch_until =                                                                                \
        rows * int64_t(sizeof(typename Ops::T)) <= kPackPrefetchMaxLineBytes ? kc - kPackPrefetchLines : 0;       \
    for (int64_t k = 0; k < kc; ++k) {                                                                            \
      const typename Ops::T* sk = src + k * s_k;                                                                  \
      if (k < prefetch_until) prefetch_rows(sk + kPackPrefetchLines * s_k, 0, 1, rows, false);                    \
      for (int64_t t = 0; t < panels; ++t) {                                                                      \
        const int64_t left = rows - t * R;                                                                        \
        const int nrow = left < R ? static_cast<int>(left) : R;                                                   \
        typename Ops::T* d = dst + t * panel_stride + k * P;                                                      \
        const typename Ops::T* s = sk + t * R;                                                                    \
        for (int r0 = 0; r0 < P; r0 += W) {                                                                       \
          const int n = nrow - r0 >= W ? W : (nrow > r0 ? nrow - r0 : 0);                                         \
          const bool whole = n == W || (n > 0 && t * R + r0 + W <= rows);                                         \
          Ops::store(d + r0, whole ? Ops::load(s + r0) : n > 0 ? Ops::load_first(s + r0, n) : Ops::zero());       \
        }                                                                                                         \
      }                                                                                                           \
    }                                                                                                             \
  }                                                                                                               \
  /* Class wrappers, so that the kernel templates can be passed as template template parameters. */               \
  template <class Ops, int R, int NV, bool P, int PA = 0>                                                         \
  struct Tile {                                                                                                   \
    static constexpr TileFn<typename Ops::T> run = &tile<Ops, R, NV, P, PA>;                                      \
  };                                                                                                              \
  template <class Ops, int R>                                                                                     \
  struct Dots {                                                                                                   \
    static constexpr DotFn<typename Ops::T> run = &dots<Ops, R>;                                                  \
  };                                                                                                              \
  template <class Ops>                                                                                            \
  struct PackRows {                                                                                               \
    static constexpr PackRowsFn<typename Ops::T> run = &pack_rows<Ops>;                                           \
  };

#if CHORD_X86_SIMD
namespace avx2 {
CHORD_GEMM_DEFINE_KERNELS(CHORD_TARGET_AVX2)
}
namespace avx512 {
CHORD_GEMM_DEFINE_KERNELS(CHORD_TARGET_AVX512)
}
#endif
namespace portable {
CHORD_GEMM_DEFINE_KERNELS()
}
#undef CHORD_GEMM_DEFINE_KERNELS

// The PackFn contract in plain C++, by 8 x 8 blocks (the portable ISA's transposing pack).
template <class T>
void pack_lines_portable(T* dst, const T* src, int P, int rows, int64_t kc, int64_t s_r) {
  for (int r0 = 0; r0 < P; r0 += 8) {
    const int n = std::min(8, std::max(0, rows - r0));  // lines of this block that exist
    for (int64_t k0 = 0; k0 < kc; k0 += 8) {
      const int nk = static_cast<int>(std::min<int64_t>(8, kc - k0));
      T* d = dst + k0 * P + r0;
      for (int q = 0; q < n; ++q)
        for (int k = 0; k < nk; ++k) d[k * P + q] = src[(r0 + q) * s_r + k0 + k];
      for (int q = n; q < 8; ++q)
        for (int k = 0; k < nk; ++k) d[k * P + q] = T(0);
    }
  }
}

#if CHORD_X86_SIMD

// ---- packing by 8 x 8 (float) and 4 x 4 (double) transposes in registers -------------

// The PackFn contract, with AVX (also used on AVX-512 CPUs).
template <class T>
CHORD_TARGET_AVX2 void pack_lines_avx2(T* dst, const T* src, int P, int rows, int64_t kc, int64_t s_r) {
  if constexpr (std::is_same_v<T, float>) {
    for (int r0 = 0; r0 < P; r0 += 8) {
      const int n = std::min(8, std::max(0, rows - r0));  // lines of this block that exist
      int64_t k = 0;
      for (; k + 8 <= kc; k += 8) {
        __m256 v[8];  // v[q] = line r0 + q, k .. k + 7
        for (int q = 0; q < 8; ++q) v[q] = q < n ? _mm256_loadu_ps(src + (r0 + q) * s_r + k) : _mm256_setzero_ps();
        const __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
        const __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
        const __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
        const __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        T* d = dst + k * P + r0;  // column k + q of the block goes to d + q * P
        _mm256_storeu_ps(d + 0 * P, _mm256_permute2f128_ps(u0, u4, 0x20));
        _mm256_storeu_ps(d + 1 * P, _mm256_permute2f128_ps(u1, u5, 0x20));
        _mm256_storeu_ps(d + 2 * P, _mm256_permute2f128_ps(u2, u6, 0x20));
        _mm256_storeu_ps(d + 3 * P, _mm256_permute2f128_ps(u3, u7, 0x20));
        _mm256_storeu_ps(d + 4 * P, _mm256_permute2f128_ps(u0, u4, 0x31));
        _mm256_storeu_ps(d + 5 * P, _mm256_permute2f128_ps(u1, u5, 0x31));
        _mm256_storeu_ps(d + 6 * P, _mm256_permute2f128_ps(u2, u6, 0x31));
        _mm256_storeu_ps(d + 7 * P, _mm256_permute2f128_ps(u3, u7, 0x31));
      }
      for (; k < kc; ++k)
        for (int q = 0; q < 8; ++q) dst[k * P + r0 + q] = q < n ? src[(r0 + q) * s_r + k] : T(0);
    }
  } else {
    for (int r0 = 0; r0 < P; r0 += 4) {
      const int n = std::min(4, std::max(0, rows - r0));
      int64_t k = 0;
      for (; k + 4 <= kc; k += 4) {
        __m256d v[4];
        for (int q = 0; q < 4; ++q) v[q] = q < n ? _mm256_loadu_pd(src + (r0 + q) * s_r + k) : _mm256_setzero_pd();
        const __m256d t0 = _mm256_unpacklo_pd(v[0], v[1]), t1 = _mm256_unpackhi_pd(v[0], v[1]);
        const __m256d t2 = _mm256_unpacklo_pd(v[2], v[3]), t3 = _mm256_unpackhi_pd(v[2], v[3]);
        T* d = dst + k * P + r0;
        _mm256_storeu_pd(d + 0 * P, _mm256_permute2f128_pd(t0, t2, 0x20));
        _mm256_storeu_pd(d + 1 * P, _mm256_permute2f128_pd(t1, t3, 0x20));
        _mm256_storeu_pd(d + 2 * P, _mm256_permute2f128_pd(t0, t2, 0x31));
        _mm256_storeu_pd(d + 3 * P, _mm256_permute2f128_pd(t1, t3, 0x31));
      }
      for (; k < kc; ++k)
        for (int q = 0; q < 4; ++q) dst[k * P + r0 + q] = q < n ? src[(r0 + q) * s_r + k] : T(0);
    }
  }
}

#endif  // CHORD_X86_SIMD

// ---- the kernel tables ----------------------------------------------------------------

// The edge kernel of E rows for a table of MR-row tiles (see make_kernels), or null when
// the table does not use it (E >= MR, or fewer than 8 vectors): not instantiated then.
template <class Ops, int MR, int NV, int E, template <class, int, int, bool, int> class TileT>
constexpr TileFn<typename Ops::T> edge_kernel() {
  if constexpr (E < MR && E * NV >= 8) {
    return TileT<Ops, E, NV, true, packed_rows(MR)>::run;
  } else {
    return nullptr;
  }
}

// The table for one ISA and type: MR x (NV vectors) packed tiles, blocked for this CPU's caches
// (gemm_blocking.hpp);
// direct tiles of 1..RowsMax rows; dots kernels of 1..DotRows rows; pack_lines its
// transposing pack.
template <class Ops, int MR, int NV, int RowsMax, int DotRows,
          template <class, int, int, bool, int> class TileT, template <class, int> class DotsT,
          template <class> class PackRowsT, std::size_t... I, std::size_t... J>
Kernels<typename Ops::T> make_kernels(Isa isa, PackFn<typename Ops::T> pack_lines, std::index_sequence<I...>,
                                      std::index_sequence<J...>) {
  static_assert(sizeof...(I) == RowsMax && sizeof...(J) == DotRows && RowsMax <= kMaxRows && DotRows <= kMaxRows &&
                MR <= kMaxRows && NV * Ops::W <= 64 && (NV * Ops::W) % 8 == 0);
  Kernels<typename Ops::T> k{};
  k.isa = isa;
  k.MR = MR;
  k.NR = NV * Ops::W;
  const Blocking blocks = gemm_blocking(MR, NV * Ops::W, static_cast<int>(sizeof(typename Ops::T)));
  k.KC = blocks.KC;
  k.MC = blocks.MC;
  k.NC = blocks.NC;
  k.packed = TileT<Ops, MR, NV, true, 0>::run;
  // Edge tiles of m < MR rows run the smallest of these kernels with at least m rows
  // (the packed rows past m are zeros); only tiles of 8 or more vectors, which sum each
  // element in one chain over k like the full tile, so an edge row has the same bits.
  constexpr int kEdge[] = {4, 6, 8, 10, 12};
  const TileFn<typename Ops::T> edge_fns[] = {
      edge_kernel<Ops, MR, NV, 4, TileT>(), edge_kernel<Ops, MR, NV, 6, TileT>(), edge_kernel<Ops, MR, NV, 8, TileT>(),
      edge_kernel<Ops, MR, NV, 10, TileT>(), edge_kernel<Ops, MR, NV, 12, TileT>()};
  for (int m = 1; m <= MR; ++m) {
    k.packed_edge[m] = k.packed;
    k.packed_edge_rows[m] = MR;
    for (int e = 0; e < 5; ++e)
      if (kEdge[e] >= m && kEdge[e] < MR && kEdge[e] * NV >= 8) {
        k.packed_edge[m] = edge_fns[e];
        k.packed_edge_rows[m] = kEdge[e];
        break;
      }
  }
  k.rows_max = RowsMax;
  ((k.rows[I + 1] = TileT<Ops, int(I + 1), NV, false, 0>::run), ...);
  k.dot_rows_max = DotRows;
  ((k.dots[J + 1] = DotsT<Ops, int(J + 1)>::run), ...);
  k.pack_lines = pack_lines;
  k.pack_rows = PackRowsT<Ops>::run;
  k.vector_width = Ops::W;
  return k;
}

// The kernels for T on `isa` (the portable ones below AVX2), or nullptr for other types.
//
// Tiles: AVX2 float 6 x 16 and double 6 x 8 (12 of the 16 ymm registers hold C); AVX-512 float
// 14 x 32 and double 14 x 16 (28 of the 32 zmm registers); portable float 6 x 8 and double
// 4 x 8 (a generic core's 16 128-bit registers; on x86-64 built for plain SSE2 they run about
// as fast as Eigen's SSE2 GEMM did). The cache blocks KC, MC, NC are set when a table is first
// built, from this CPU's caches (gemm_blocking.hpp): on a Zen 3 (32 KB L1d, 512 KB L2) AVX2
// float gets KC 512, MC 126; on a Zen 4 (32 KB, 1 MB) AVX-512 float gets KC 256, MC 504.
template <class T>
const Kernels<T>* kernels_for(Isa isa) {
  using std::make_index_sequence;
  if constexpr (std::is_same_v<T, float>) {
#if CHORD_X86_SIMD
    static const Kernels<float> k2 = make_kernels<avx2::F32, 6, 2, 6, 2, avx2::Tile, avx2::Dots, avx2::PackRows>(
        Isa::Avx2, &pack_lines_avx2<float>, make_index_sequence<6>{}, make_index_sequence<2>{});
    static const Kernels<float> k512 =
        make_kernels<avx512::F32, 14, 2, 8, 4, avx512::Tile, avx512::Dots, avx512::PackRows>(
            Isa::Avx512, &pack_lines_avx2<float>, make_index_sequence<8>{}, make_index_sequence<4>{});
    if (isa == Isa::Avx512) return &k512;
    if (isa == Isa::Avx2) return &k2;
#endif
    static const Kernels<float> kp =
        make_kernels<portable::F32, 6, 2, 6, 2, portable::Tile, portable::Dots, portable::PackRows>(
            Isa::Portable, &pack_lines_portable<float>, make_index_sequence<6>{}, make_index_sequence<2>{});
    return &kp;
  } else if constexpr (std::is_same_v<T, double>) {
#if CHORD_X86_SIMD
    static const Kernels<double> k2 = make_kernels<avx2::F64, 6, 2, 6, 2, avx2::Tile, avx2::Dots, avx2::PackRows>(
        Isa::Avx2, &pack_lines_avx2<double>, make_index_sequence<6>{}, make_index_sequence<2>{});
    static const Kernels<double> k512 =
        make_kernels<avx512::F64, 14, 2, 8, 4, avx512::Tile, avx512::Dots, avx512::PackRows>(
            Isa::Avx512, &pack_lines_avx2<double>, make_index_sequence<8>{}, make_index_sequence<4>{});
    if (isa == Isa::Avx512) return &k512;
    if (isa == Isa::Avx2) return &k2;
#endif
    static const Kernels<double> kp =
        make_kernels<portable::F64, 4, 4, 4, 2, portable::Tile, portable::Dots, portable::PackRows>(
            Isa::Portable, &pack_lines_portable<double>, make_index_sequence<4>{}, make_index_sequence<2>{});
    return &kp;
  } else {
    (void)isa;
    return nullptr;
  }
}

// ---- packing and drivers (portable code: they only move data and call the kernels) --------

// A thread's scratch buffer `slot` of at least `count` elements, 64-byte aligned, kept for
// the thread's life and grown on demand. Slots: 0 = packed B, 1 = packed A, 2 = B edge.
template <class T>
T* scratch(int slot, std::size_t count) {
  struct Block {
    T* p = nullptr;
    std::size_t n = 0;
    ~Block() {
      if (p) ::operator delete(p, std::align_val_t{64});
    }
  };
  thread_local Block blocks[3];
  Block& b = blocks[slot];
  if (b.n < count) {
    if (b.p) ::operator delete(b.p, std::align_val_t{64});
    b.p = nullptr;
    b.p = static_cast<T*>(::operator new(count * sizeof(T), std::align_val_t{64}));
    b.n = count;
  }
  return b.p;
}

// dst[k * P + r] = src[r * s_r + k * s_k] for r < rows, k < kc; 0 for rows <= r < R
// (entries R <= r < P are never read: they may be left alone or zeroed). dst: [kc, P].
// A micro-panel of A (R = MR, s_r = a_rs, s_k = a_cs) or of B (R = P = NR, s_r = b_cs, s_k = b_rs).
template <class T>
void pack_panel(const Kernels<T>& kn, T* dst, const T* src, int R, int P, int rows, int64_t kc, int64_t s_r,
                int64_t s_k) {
  if ((s_r == 1 || rows == 1) && P % kn.vector_width == 0) {  // each k reads `rows` adjacent elements
    kn.pack_rows(dst, src, R, P, rows, kc, s_k, kc * P);
  } else if (s_r == 1 || rows == 1) {
    for (int64_t k = 0; k < kc; ++k) {
      const T* s = src + k * s_k;
      T* d = dst + k * P;
      for (int r = 0; r < rows; ++r) d[r] = s[r];
      for (int r = rows; r < R; ++r) d[r] = T(0);
    }
  } else if (s_k == 1) {  // each line r is contiguous along k: transposes
    kn.pack_lines(dst, src, P, rows, kc, s_r);
  } else {
    for (int64_t k = 0; k < kc; ++k) {
      for (int r = 0; r < rows; ++r) dst[k * P + r] = src[r * s_r + k * s_k];
      for (int r = rows; r < R; ++r) dst[k * P + r] = T(0);
    }
  }
}

// A partial tile (or one with strided columns) through kernel fn and a row-major [R, NR]
// buffer: the same arithmetic as a whole tile, so the same bits.
template <class T>
[[gnu::noinline]] void run_partial_tile(TileFn<T> fn, int R, int NR, int64_t kc, const T* a, int64_t a_rs,
                                        int64_t a_cs, const T* b, int64_t b_rs, T* c, int64_t c_rs, int64_t c_cs, int m,
                                        int n, T alpha, bool add_c) {
  alignas(64) T buf[kMaxRows * 64];  // [R, NR]
  for (int i = 0; i < R * NR; ++i) buf[i] = T(0);
  if (add_c)
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) buf[i * NR + j] = c[i * c_rs + j * c_cs];
  fn(kc, a, a_rs, a_cs, b, b_rs, buf, NR, alpha, add_c);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) c[i * c_rs + j * c_cs] = buf[i * NR + j];
}

// One tile of C through kernel fn: straight into C when it is a whole tile with unit column
// stride, else through run_partial_tile. Inline, so that a whole tile, the common case, costs
// a call of fn alone (the partial tile's 4 KB buffer made every tile's call measurably slower).
template <class T>
inline void run_tile(TileFn<T> fn, int R, int NR, int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                     int64_t b_rs, T* c, int64_t c_rs, int64_t c_cs, int m, int n, T alpha, bool add_c) {
  if (m == R && n == NR && c_cs == 1) [[likely]] {
    fn(kc, a, a_rs, a_cs, b, b_rs, c, c_rs, alpha, add_c);
  } else {
    run_partial_tile(fn, R, NR, kc, a, a_rs, a_cs, b, b_rs, c, c_rs, c_cs, m, n, alpha, add_c);
  }
}

// sums[r] = sum_k panel[k * P + r] for r < rows, k = 0 .. kc - 1 in order, added to what
// sums holds (or from 0 when `first`). panel: a packed A micro-panel [kc][P]. All P lanes are
// summed, in registers, each in k order like a plain loop (the padding lanes' sums are dropped);
// a loop over `rows`, a bound known only at run time, kept its sums in memory, one
// store-to-load round trip per k.
template <class T, int P>
void add_panel_row_sums(const T* panel, int rows, int64_t kc, T* sums, bool first) {
  T acc[P];
  for (int r = 0; r < P; ++r) acc[r] = first || r >= rows ? T(0) : sums[r];
  for (int64_t k = 0; k < kc; ++k)
    for (int r = 0; r < P; ++r) acc[r] += panel[k * P + r];
  for (int r = 0; r < rows; ++r) sums[r] = acc[r];
}
// The same for P = packed_rows(R) of any kernel's R <= kMaxRows: 8 or 16.
template <class T>
void add_panel_row_sums(const T* panel, int P, int rows, int64_t kc, T* sums, bool first) {
  static_assert(kMaxRows <= 16, "packed A panels have 8 or 16 rows");
  if (P == 16) {
    add_panel_row_sums<T, 16>(panel, rows, kc, sums, first);
  } else {
    add_panel_row_sums<T, 8>(panel, rows, kc, sums, first);
  }
}

// C[i, j] = bias[j * bias_stride] for i < m, j < n.
template <class T>
void fill_with_bias(T* c, int64_t c_rs, int64_t c_cs, int64_t m, int64_t n, const T* bias, int64_t bias_stride) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * c_rs + j * c_cs] = bias[j * bias_stride];
}

// Rows of B per task when threads pack a row-major B together.
inline constexpr int64_t kPackRowsPerTask = 16;

// Products at least this large (M * N * K) use several threads.
inline constexpr int64_t kThreadingWork = int64_t{1} << 20;

// The packed path (see the top of the file) on `threads` threads.
template <class T>
void gemm_packed(const Kernels<T>& kn, const Problem<T>& p, int threads) {
  const int MR = kn.MR, NR = kn.NR, MP = packed_rows(kn.MR);
  const int64_t M = p.M, N = p.N, K = p.K;
  const Blocking blk = blocking_override().KC > 0 ? overridden(blocking_override(), NR)
                                                    : Blocking{kn.KC, kn.MC, kn.NC};
  const int64_t KC = blk.KC, MC = blk.MC, NC = blk.NC;
  const int64_t nc_max = std::min<int64_t>(NC, ceil_div(N, NR) * NR), kc_max = std::min<int64_t>(KC, K);
  T* bpack = p.b_panels ? nullptr : scratch<T>(0, static_cast<std::size_t>(kc_max * nc_max));  // [nc / NR][kc][NR]
  // Blocks of whole MR-row tiles, as even as possible, a multiple of the thread count.
  // Rows that fit in fewer blocks than there are threads (a few hundred: the tokens of a
  // small batch) stay one block per MC instead, and the threads split the NR-wide column
  // panels: rows split among the threads by whole tiles would leave one thread a tile
  // more than the other (19 tiles of 256 rows: 10 against 9), while panels split evenly.
  // Each group then packs its block of A itself (A is the small operand there) and, when
  // the rows are one block, its own panels of B, which then stay in its core's cache.
  const int64_t m_tiles = ceil_div(M, MR);
  int64_t blocks = ceil_div(m_tiles * MR, MC), col_groups = 1;
  if (threads > 1 && blocks < threads) {
    col_groups = threads;
  } else if (threads > 1) {
    blocks = ceil_div(blocks, threads) * threads;
  }
  blocks = std::min(blocks, m_tiles);
  const int64_t tiles_per_block = ceil_div(m_tiles, blocks);
  const bool b_per_group = col_groups > 1 && blocks == 1 && !p.b_panels;
  // Operands contiguous along the packed dim are packed by pack_rows across whole blocks.
  const bool b_rows = p.b_cs == 1 && NR % kn.vector_width == 0;
  const bool a_cols = p.a_rs == 1 && MP % kn.vector_width == 0;

  // Runs task(t) for every t < n: on the thread pool, or here when threads is 1.
  auto for_each = [threads](int64_t n, auto&& task) {
    if (threads > 1) {
      ThreadPool::instance().run(n, task);
    } else {
      for (int64_t t = 0; t < n; ++t) task(t);
    }
  };
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min<int64_t>(NC, N - jc), n_panels = ceil_div(nc, NR);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min<int64_t>(KC, K - pc);
      const bool add_c = p.accumulate || pc > 0;
      // B's panels of this block: [n_panels][kc][NR], packed here or already packed.
      auto b_panel = [&](int64_t jp) {
        return p.b_panels ? p.b_panels + ((jc / NR + jp) * K + pc) * NR : bpack + jp * kc * NR;
      };
      if (b_per_group) {
        // packed below, by the task that uses the panels
      } else if (!p.b_panels && b_rows) {  // B row-major: each task packs some k of every panel
        for_each(ceil_div(kc, kPackRowsPerTask), [&](int64_t kk) {
          const int64_t k0 = kk * kPackRowsPerTask, len = std::min(kPackRowsPerTask, kc - k0);
          kn.pack_rows(bpack + k0 * NR, p.b + (pc + k0) * p.b_rs + jc, NR, NR, nc, len, p.b_rs, kc * NR);
        });
      } else if (!p.b_panels) {
        for_each(n_panels, [&](int64_t jp) {
          const int64_t j0 = jc + jp * NR;
          pack_panel(kn, bpack + jp * kc * NR, p.b + pc * p.b_rs + j0 * p.b_cs, NR, NR,
                     static_cast<int>(std::min<int64_t>(NR, N - j0)), kc, p.b_cs, p.b_rs);
        });
      }
      // C's bias goes into a tile before the tile's first product (pc == 0), the epilogue after its last.
      const bool with_bias = p.bias && pc == 0, last_k = pc + kc == K;
      for_each(blocks * col_groups, [&](int64_t task) {
        T* apack = scratch<T>(1, static_cast<std::size_t>(tiles_per_block * MP * kc_max));  // [tiles][kc][MP]
        const int64_t blk = task / col_groups, group = task % col_groups;
        const int64_t t0 = blk * m_tiles / blocks, t1 = (blk + 1) * m_tiles / blocks;
        const int64_t jp0 = group * n_panels / col_groups, jp1 = (group + 1) * n_panels / col_groups;
        if (b_per_group)
          for (int64_t jp = jp0; jp < jp1; ++jp) {
            const int64_t j0 = jc + jp * NR;
            pack_panel(kn, bpack + jp * kc * NR, p.b + pc * p.b_rs + j0 * p.b_cs, NR, NR,
                       static_cast<int>(std::min<int64_t>(NR, N - j0)), kc, p.b_cs, p.b_rs);
          }
        if (a_cols) {  // A column-major: the block's panels k by k
          kn.pack_rows(apack, p.a + t0 * MR + pc * p.a_cs, MR, MP, std::min(M, t1 * MR) - t0 * MR, kc, p.a_cs,
                       kc * MP);
        } else {
          for (int64_t t = t0; t < t1; ++t) {
            const int64_t i0 = t * MR;
            pack_panel(kn, apack + (t - t0) * kc * MP, p.a + i0 * p.a_rs + pc * p.a_cs, MR, MP,
                       static_cast<int>(std::min<int64_t>(MR, M - i0)), kc, p.a_rs, p.a_cs);
          }
        }
        for (int64_t jp = jp0; jp < jp1; ++jp) {
          const int64_t j0 = jc + jp * NR;
          const int n = static_cast<int>(std::min<int64_t>(NR, N - j0));
          for (int64_t t = t0; t < t1; ++t) {
            const int64_t i0 = t * MR;
            const int m = static_cast<int>(std::min<int64_t>(MR, M - i0));
            T* c = p.c + i0 * p.c_rs + j0 * p.c_cs;
            if (with_bias) fill_with_bias(c, p.c_rs, p.c_cs, m, n, p.bias + j0 * p.bias_stride, p.bias_stride);
            if (last_k && p.epilogue.prefetch) p.epilogue.prefetch(p.epilogue.context, i0, j0, m, n);
            run_tile(kn.packed_edge[m], kn.packed_edge_rows[m], NR, kc, apack + (t - t0) * kc * MP, 0, 0, b_panel(jp),
                     NR, c, p.c_rs, p.c_cs, m, n, p.alpha, add_c || with_bias);
            if (last_k && p.epilogue.apply) p.epilogue.apply(p.epilogue.context, c, p.c_rs, i0, j0, m, n);
          }
        }
        // A's row sums from its panels, while they are in L1 (every column group packs the
        // same panels; the first adds them up). Each row's sum runs through the K blocks in order.
        if (p.a_row_sums && group == 0 && jc == 0)
          for (int64_t t = t0; t < t1; ++t) {
            const int64_t i0 = t * MR;
            add_panel_row_sums(apack + (t - t0) * kc * MP, MP, static_cast<int>(std::min<int64_t>(MR, M - i0)), kc,
                               p.a_row_sums + i0, pc == 0);
          }
      });
    }
  }
}

// The direct "rows" path: A read in place, the whole K in one chain, columns in NR-wide
// chunks run in parallel. B row-major (b_cs == 1) is read in place too, but for the last
// partial chunk, which reads a zero-padded copy; any other B (a transposed weight, W^T,
// as in a decoding step's x W^T) is packed chunk by chunk into a [K, NR] panel first, which
// costs about a fifth of the product and lets it run on the tile kernel.
template <class T>
void gemm_rows(const Kernels<T>& kn, const Problem<T>& p) {
  const int NR = kn.NR;
  const int64_t M = p.M, N = p.N, K = p.K, chunks = ceil_div(N, NR);
  const bool b_rows = p.b_cs == 1 && !p.b_panels;
  const int64_t full = b_rows ? N / NR : 0;  // chunks read in place
  const T* bedge = nullptr;
  if (b_rows && full < chunks) {
    T* e = scratch<T>(2, static_cast<std::size_t>(K * NR));  // [K, NR]
    pack_panel(kn, e, p.b + full * NR * p.b_cs, NR, NR, static_cast<int>(N - full * NR), K, p.b_cs, p.b_rs);
    bedge = e;
  }
  parallel_for(chunks, M * K * NR / 8, [&](int64_t c0, int64_t c1) {
    for (int64_t ch = c0; ch < c1; ++ch) {
      const int64_t j0 = ch * NR;
      const int n = static_cast<int>(std::min<int64_t>(NR, N - j0));
      const T* b = ch < full ? p.b + j0 : bedge;
      const int64_t b_rs = ch < full ? p.b_rs : NR;
      if (p.b_panels) {
        b = p.b_panels + ch * K * NR;
      } else if (!b_rows) {  // this thread's panel, [K, NR]
        T* panel = scratch<T>(2, static_cast<std::size_t>(K * NR));
        pack_panel(kn, panel, p.b + j0 * p.b_cs, NR, NR, n, K, p.b_cs, p.b_rs);
        b = panel;
      }
      for (int64_t i0 = 0; i0 < M; i0 += kn.rows_max) {
        const int m = static_cast<int>(std::min<int64_t>(kn.rows_max, M - i0));
        run_tile(kn.rows[m], m, NR, K, p.a + i0 * p.a_rs, p.a_rs, p.a_cs, b, b_rs, p.c + i0 * p.c_rs + j0 * p.c_cs,
                 p.c_rs, p.c_cs, m, n, p.alpha, p.accumulate);
      }
    }
  });
}

// The direct "dots" path: A row-major (a_cs == 1), B column-major (b_rs == 1). Groups of
// kDotCols columns of B run in parallel; each group is read once while every row of A
// passes over it.
template <class T>
void gemm_dots(const Kernels<T>& kn, const Problem<T>& p) {
  const int64_t M = p.M, N = p.N, K = p.K, groups = ceil_div(N, kDotCols);
  parallel_for(groups, M * K * kDotCols / 8, [&](int64_t g0, int64_t g1) {
    const T* cols[kDotCols];
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t j0 = g * kDotCols;
      const int nv = static_cast<int>(std::min<int64_t>(kDotCols, N - j0));
      for (int q = 0; q < kDotCols; ++q) cols[q] = p.b + std::min<int64_t>(j0 + q, N - 1) * p.b_cs;
      for (int64_t i0 = 0; i0 < M; i0 += kn.dot_rows_max) {
        const int m = static_cast<int>(std::min<int64_t>(kn.dot_rows_max, M - i0));
        kn.dots[m](K, p.a + i0 * p.a_rs, p.a_rs, cols, p.c + i0 * p.c_rs + j0 * p.c_cs, p.c_rs, p.c_cs, nv, p.alpha,
                   p.accumulate);
      }
    }
  });
}

// B [K, N] (any strides) packed once for many products with kn: dst [ceil(N / NR)][K][NR],
// columns past N zero. Products given these panels (Problem::b_panels) skip packing B, and
// read it in long contiguous runs: for a decoding step's x W^T this is about 3 times faster
// than reading W^T in place.
template <class T>
void pack_b_panels(const Kernels<T>& kn, const T* b, int64_t b_rs, int64_t b_cs, int64_t K, int64_t N, T* dst) {
  const int NR = kn.NR;
  parallel_for(ceil_div(N, NR), K * NR, [&](int64_t first, int64_t last) {
    for (int64_t jp = first; jp < last; ++jp)
      pack_panel(kn, dst + jp * K * NR, b + jp * NR * b_cs, NR, NR, static_cast<int>(std::min<int64_t>(NR, N - jp * NR)),
                 K, b_cs, b_rs);
  });
}

// Products with at most this many rows (or, transposed, columns) take a direct path.
inline constexpr int64_t kDirectMaxRows = 16;
// Below this many rows, a product with B column-major runs as dot products (a GEMV
// streams B once; packing it would double that); from it on, B is packed by chunks.
inline constexpr int64_t kDotsMaxRows = 3;

// Which path a product takes; a function of the sizes and strides only.
enum class Path { Rows, Dots, Packed };
template <class T>
Path path_of(const Problem<T>& p) {
  if (p.b_panels) return p.M <= kDirectMaxRows ? Path::Rows : Path::Packed;
  if (p.M <= kDirectMaxRows) {
    if (p.a_cs == 1 && p.b_rs == 1 && (p.b_cs != 1 || p.N == 1) && (p.M <= kDotsMaxRows || p.N == 1))
      return Path::Dots;
    return Path::Rows;
  }
  return Path::Packed;
}

// p.a_row_sums[i] = sum_k A[i, k], k in order: the same sums as the packed path's.
template <class T>
void row_sums(const Problem<T>& p) {
  for (int64_t i = 0; i < p.M; ++i) {
    T s = T(0);
    for (int64_t k = 0; k < p.K; ++k) s += p.a[i * p.a_rs + k * p.a_cs];
    p.a_row_sums[i] = s;
  }
}

// C = alpha * A * B (+ C) with kernels kn, with the extras the Problem asks for (bias,
// epilogue, A's row sums); threads > 1 lets the product use that many threads (it runs
// serially anyway inside a parallel region or when small).
template <class T>
void gemm(const Kernels<T>& kn, Problem<T> p, int threads) {
  if (p.M <= 0) return;
  if (p.N <= 0) {  // no C; A's rows may still be summed
    if (p.a_row_sums) row_sums(p);
    return;
  }
  check(!p.epilogue.apply || (p.c_cs == 1 && !p.accumulate), "gemm",
        "internal: a tile epilogue needs C row-major and written, not accumulated");
  if (p.K <= 0) {  // an empty sum: C = 0, or the bias (or unchanged when accumulating)
    if (p.bias) {
      fill_with_bias(p.c, p.c_rs, p.c_cs, p.M, p.N, p.bias, p.bias_stride);
    } else if (!p.accumulate) {
      for (int64_t i = 0; i < p.M; ++i)
        for (int64_t j = 0; j < p.N; ++j) p.c[i * p.c_rs + j * p.c_cs] = T(0);
    }
    if (p.a_row_sums) std::fill(p.a_row_sums, p.a_row_sums + p.M, T(0));
    if (p.epilogue.apply) p.epilogue.apply(p.epilogue.context, p.c, p.c_rs, 0, 0, p.M, p.N);
    return;
  }
  // A product of few columns and many rows is one of few rows, transposed.
  const bool transpose = p.M > kDirectMaxRows && p.N <= kDirectMaxRows && !p.b_panels;
  const bool packed = !transpose && path_of(p) == Path::Packed;  // only the packed path fuses the extras below
  if (p.bias && !packed) {
    fill_with_bias(p.c, p.c_rs, p.c_cs, p.M, p.N, p.bias, p.bias_stride);
    p.bias = nullptr;
    p.accumulate = true;
  }
  if (p.a_row_sums && !packed) {
    row_sums(p);
    p.a_row_sums = nullptr;
  }
  // Off the packed path the epilogue runs once, on the whole of C, at the end.
  const TileEpilogue<T> whole_c_epilogue = packed ? TileEpilogue<T>{} : p.epilogue;
  T* const c = p.c;
  const int64_t c_rs = p.c_rs, M = p.M, N = p.N;
  if (!packed) p.epilogue = {};
  if (transpose) p = transposed(p);
  if (in_parallel_region() || p.M * p.N * p.K < kThreadingWork) threads = 1;
  switch (path_of(p)) {
    case Path::Rows: gemm_rows(kn, p); break;
    case Path::Dots: gemm_dots(kn, p); break;
    default: gemm_packed(kn, p, std::max(threads, 1)); break;
  }
  if (whole_c_epilogue.apply) whole_c_epilogue.apply(whole_c_epilogue.context, c, c_rs, 0, 0, M, N);
}

}  // namespace chord::cpu::gemm_kernel
