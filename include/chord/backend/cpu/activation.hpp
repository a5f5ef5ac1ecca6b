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

}  // namespace chord::cpu
