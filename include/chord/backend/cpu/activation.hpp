#pragma once
// GELU (tanh form) forward and backward on dense buffers, vectorized.
//
//   gelu(x)  = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//            = x s,                  s = sigmoid(2u) = 1 / (1 + exp(-2u))
//   gelu'(x) = s + 2 x s (1 - s) u',  u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
// (0.5 (1 + tanh(u)) = sigmoid(2u), and 0.5 (1 - tanh(u)^2) = 2 s (1 - s)), so each
// element costs one vector_exp and one division. For large |x| exp(-2u) is 0 or
// +inf, which gives gelu(x) = x or 0 and gelu'(x) = 1 or 0, as the limits say.
//
// Work is cut into chunks whose bounds depend only on n, and each element is
// computed alone: the results do not depend on the thread count.

#include <cstdint>

#include "chord/backend/cpu/isa.hpp"
#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cpu/vector_math.hpp"

namespace chord::cpu {

namespace activation_detail {

template <class T>
struct GeluTerms {
  T s, du;  // sigmoid(2u) and du/dx
};

template <class T>
inline GeluTerms<T> gelu_terms(T x) {
  constexpr T kSqrt2OverPi = T(0.7978845608028654);
  constexpr T kCubic = T(0.044715);
  const T x2 = x * x;
  const T u = kSqrt2OverPi * (x + kCubic * x2 * x);
  return {T(1) / (T(1) + vector_exp(T(-2) * u)), kSqrt2OverPi * (T(1) + T(3) * kCubic * x2)};
}

struct GeluForward {
  // x, y: [n]
  template <class T>
  static void run(const T* x, T* y, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * gelu_terms(x[i]).s;
  }
};

struct GeluBackward {
  // x, dy, dx: [n]
  template <class T>
  static void run(const T* x, const T* dy, T* dx, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      const GeluTerms<T> g = gelu_terms(x[i]);
      dx[i] = dy[i] * (g.s + T(2) * x[i] * g.s * (T(1) - g.s) * g.du);
    }
  }
};

// The same on a tile: m rows of n elements, rows *_rs apart (one dispatch per tile of a GEMM).
struct GeluForwardTile {
  template <class T>
  static void run(const T* x, int64_t x_rs, T* y, int64_t y_rs, int64_t m, int64_t n) {
    for (int64_t i = 0; i < m; ++i) GeluForward::run(x + i * x_rs, y + i * y_rs, n);
  }
};
struct GeluBackwardTile {
  template <class T>
  static void run(const T* x, int64_t x_rs, const T* dy, int64_t dy_rs, T* dx, int64_t dx_rs, int64_t m, int64_t n) {
    for (int64_t i = 0; i < m; ++i) GeluBackward::run(x + i * x_rs, dy + i * dy_rs, dx + i * dx_rs, n);
  }
};

}  // namespace activation_detail

// y = gelu(x). x, y: [n] (y may be x).
template <class T>
void gelu_forward(const T* x, T* y, int64_t n) {
  const Isa isa = active_isa();
  parallel_for(n, 8, [&](int64_t begin, int64_t end) {
    run_kernel<activation_detail::GeluForward>(isa, x + begin, y + begin, end - begin);
  });
}

// dx = dy * gelu'(x). x, dy, dx: [n] (dx may be dy).
template <class T>
void gelu_backward(const T* x, const T* dy, T* dx, int64_t n) {
  const Isa isa = active_isa();
  parallel_for(n, 10, [&](int64_t begin, int64_t end) {
    run_kernel<activation_detail::GeluBackward>(isa, x + begin, dy + begin, dx + begin, end - begin);
  });
}

// ---- GELU as a GEMM's tile epilogue (gemm_kernel::TileEpilogue, cpu::GemmExtras) --------
// The same per-element arithmetic as gelu_forward / gelu_backward, run on one tile of C
// (m rows of n contiguous elements, c_rs apart) right after the GEMM wrote it.

// out = gelu(C), C unchanged: a linear layer whose output h = x W^T + b goes through GELU
// keeps h (GELU's backward needs it) and writes gelu(h) in the same visit of the tile.
// out: [M, N] with row stride out_rs, at the tile's (i0, j0).
template <class T>
struct GeluIntoEpilogue {
  T* out;
  int64_t out_rs;
  Isa isa = active_isa();

  static void apply(const void* self, T* c, int64_t c_rs, int64_t i0, int64_t j0, int64_t m, int64_t n) {
    const auto& e = *static_cast<const GeluIntoEpilogue*>(self);
    run_kernel<activation_detail::GeluForwardTile>(e.isa, static_cast<const T*>(c), c_rs, e.out + i0 * e.out_rs + j0,
                                                   e.out_rs, m, n);
  }
  static void prefetch(const void* self, int64_t i0, int64_t j0, int64_t m, int64_t n) {
    const auto& e = *static_cast<const GeluIntoEpilogue*>(self);
    prefetch_rows(e.out + i0 * e.out_rs + j0, e.out_rs, m, n, true);
  }
};

// C = C * gelu'(x): GELU's backward, with C = dL/d gelu(x) just computed by a GEMM (for an MLP,
// dY W_proj). x: [M, N] with row stride x_rs (the pre-activation the forward kept).
template <class T>
struct GeluGradEpilogue {
  const T* x;
  int64_t x_rs;
  Isa isa = active_isa();

  static void apply(const void* self, T* c, int64_t c_rs, int64_t i0, int64_t j0, int64_t m, int64_t n) {
    const auto& e = *static_cast<const GeluGradEpilogue*>(self);
    run_kernel<activation_detail::GeluBackwardTile>(e.isa, e.x + i0 * e.x_rs + j0, e.x_rs, static_cast<const T*>(c),
                                                    c_rs, c, c_rs, m, n);
  }
  static void prefetch(const void* self, int64_t i0, int64_t j0, int64_t m, int64_t n) {
    const auto& e = *static_cast<const GeluGradEpilogue*>(self);
    prefetch_rows(e.x + i0 * e.x_rs + j0, e.x_rs, m, n, false);
  }
};

}  // namespace chord::cpu
