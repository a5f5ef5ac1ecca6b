#pragma once
// The scalar functions of the elementwise ops, as named function objects
// (namespace chord::fn) that both backends run: cpu::map calls them in its
// loops, and the CUDA implementation unit instantiates its map kernels for
// them (backend/cuda/elementwise.hpp lists which). A lambda cannot cross that
// line: a kernel cannot call host code that g++ compiled.
//
// Each op in ops/ names its functor: exp is map(x, fn::Exp{}), its backward
// map(g, x, y, fn::TimesDerivative<fn::ExpDerivative>{}), add with alpha is
// map(a, b, fn::AddScaled<T>{alpha}). On the host the bodies are exactly the
// expressions the CPU kernels compute (exp, tanh and sigmoid through
// cpu::vector_exp / vector_tanh, which vectorize); in device code (__CUDA_ARCH__)
// exp and tanh are CUDA's, and sigmoid takes exp of a non-positive number only.
//
// Stateless functors have a templated call operator and work for every
// element type; functors with a parameter (a scalar, a bound) take the
// element type as a template argument.

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "chord/backend/cpu/vector_math.hpp"
#include "chord/backend/host_device.hpp"

namespace chord::fn {

// NaN test that also compiles for integer and bool elements (which have none).
template <class T>
CHORD_HOST_DEVICE bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

// ---- copies and fills ------------------------------------------------------------

struct Identity {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v) const { return v; }
};
// (a, b) -> b: copy_ through map_inplace.
struct Second {
  template <class A, class B>
  CHORD_HOST_DEVICE B operator()(A, B b) const { return b; }
};
template <class T>
struct Fill {
  T value;
  CHORD_HOST_DEVICE T operator()(T) const { return value; }
};

// ---- arithmetic ------------------------------------------------------------------

struct Neg {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v) const { return -v; }
};
struct Add {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T y) const { return x + y; }
};
struct Sub {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T y) const { return x - y; }
};
struct Mul {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T y) const { return x * y; }
};
struct Div {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T y) const { return x / y; }
};
// x + alpha * y (add and sub).
template <class T>
struct AddScaled {
  T alpha;
  CHORD_HOST_DEVICE T operator()(T x, T y) const { return x + alpha * y; }
};
// v * scale (scalar multiplication, gradients of scaled ops).
template <class T>
struct Scale {
  T scale;
  CHORD_HOST_DEVICE T operator()(T v) const { return v * scale; }
};
// v * scale + shift (the scalar forms of + - * /).
template <class T>
struct ScaleShift {
  T scale, shift;
  CHORD_HOST_DEVICE T operator()(T v) const { return v * scale + shift; }
};
// (g, a, b) -> d(a / b)/db * g = -g a / b^2.
struct DivGradDenominator {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T g, T x, T y) const { return -g * x / (y * y); }
};
// A binary op with a fixed right operand: x op s (the scalar overloads).
template <class Op, class T>
struct WithScalar {
  T scalar;
  CHORD_HOST_DEVICE auto operator()(T x) const { return Op{}(x, scalar); }
};

// ---- powers ------------------------------------------------------------------------

template <class T>
struct PowScalar {
  T exponent;
  CHORD_HOST_DEVICE T operator()(T v) const { return std::pow(v, exponent); }
};
// (g, x) -> g * e * x^(e - 1)
template <class T>
struct PowScalarGrad {
  T exponent;
  CHORD_HOST_DEVICE T operator()(T g, T v) const { return g * exponent * std::pow(v, exponent - T(1)); }
};
struct Pow {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T b, T e) const { return std::pow(b, e); }
};
// (g, base, exponent) -> d/d base
struct PowGradBase {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T g, T b, T e) const { return e == T(0) ? T(0) : g * e * std::pow(b, e - T(1)); }
};
// (g, base, exponent) -> d/d exponent; 0^e has derivative 0 in e (for e > 0), as in PyTorch
struct PowGradExponent {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T g, T b, T e) const { return b == T(0) ? T(0) : g * std::pow(b, e) * std::log(b); }
};

// ---- pointwise math and activations --------------------------------------------------
//
// Each function f comes with its derivative df(x, y), y = f(x), and the
// backward multiplies: (g, x, y) -> g * df(x, y).

template <class DF>
struct TimesDerivative {
  DF df;
  template <class T>
  CHORD_HOST_DEVICE T operator()(T g, T x, T y) const { return g * df(x, y); }
};

struct Exp {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v) const {
#ifdef __CUDA_ARCH__
    return std::exp(v);
#else
    return cpu::vector_exp(v);
#endif
  }
};
struct ExpDerivative {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T, T y) const { return y; }
};
struct Log {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v) const { return std::log(v); }
};
struct LogDerivative {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v, T) const { return T(1) / v; }
};
struct Sqrt {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v) const { return std::sqrt(v); }
};
struct SqrtDerivative {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T, T y) const { return T(0.5) / y; }
};
struct Abs {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v) const { return std::abs(v); }
};
struct AbsDerivative {  // abs'(0) = 0
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v, T) const { return T((v > T(0)) - (v < T(0))); }
};
struct Tanh {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v) const {
#ifdef __CUDA_ARCH__
    return std::tanh(v);
#else
    return cpu::vector_tanh(v);
#endif
  }
};
struct TanhDerivative {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T, T y) const { return T(1) - y * y; }
};
// On the host 1 / (1 + vector_exp(-v)): vector_exp(-v) is +inf for very negative v (never
// NaN), which gives 0. On the GPU written so that neither branch overflows.
struct Sigmoid {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v) const {
#ifdef __CUDA_ARCH__
    if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
#else
    return T(1) / (T(1) + cpu::vector_exp(-v));
#endif
  }
};
struct SigmoidDerivative {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T, T y) const { return y * (T(1) - y); }
};
struct Relu {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v) const { return v > T(0) ? v : T(0); }
};
struct ReluDerivative {  // relu'(0) = 0
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v, T) const { return v > T(0) ? T(1) : T(0); }
};

// GELU, tanh approximation (GPT-2), in the form the GPU runs (the CPU's gelu op has
// kernels of its own, backend/cpu/activation.hpp):
//   gelu(x) = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//   gelu'(x) = 0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
struct Gelu {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v) const {
    constexpr T kSqrt2OverPi = T(0.7978845608028654), kCubic = T(0.044715);
    return T(0.5) * v * (T(1) + std::tanh(kSqrt2OverPi * (v + kCubic * v * v * v)));
  }
};
struct GeluDerivative {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v, T) const {
    constexpr T kSqrt2OverPi = T(0.7978845608028654), kCubic = T(0.044715);
    const T t = std::tanh(kSqrt2OverPi * (v + kCubic * v * v * v));
    return T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * kSqrt2OverPi * (T(1) + T(3) * kCubic * v * v);
  }
};

template <class T>
struct Clamp {
  T lo, hi;
  CHORD_HOST_DEVICE T operator()(T v) const { return v < lo ? lo : (v > hi ? hi : v); }
};
// The gradient passes where lo <= x <= hi (bounds included).
template <class T>
struct ClampDerivative {
  T lo, hi;
  CHORD_HOST_DEVICE T operator()(T v, T) const { return v >= lo && v <= hi ? T(1) : T(0); }
};

// ---- comparisons and selection -----------------------------------------------------

struct Equal {
  template <class T>
  CHORD_HOST_DEVICE bool operator()(T x, T y) const { return x == y; }
};
struct NotEqual {
  template <class T>
  CHORD_HOST_DEVICE bool operator()(T x, T y) const { return x != y; }
};
struct Less {
  template <class T>
  CHORD_HOST_DEVICE bool operator()(T x, T y) const { return x < y; }
};
struct LessEqual {
  template <class T>
  CHORD_HOST_DEVICE bool operator()(T x, T y) const { return x <= y; }
};
struct Greater {
  template <class T>
  CHORD_HOST_DEVICE bool operator()(T x, T y) const { return x > y; }
};
struct GreaterEqual {
  template <class T>
  CHORD_HOST_DEVICE bool operator()(T x, T y) const { return x >= y; }
};

// maximum (Pick = Greater) and minimum (Pick = Less): x where Pick(x, y), else y.
template <class Pick>
struct PickFirst {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T y) const { return Pick{}(x, y) ? x : y; }
};
// Their backward: the share of g that goes to x (1, 0, or 1/2 on ties) and to y (the rest).
template <class Pick>
struct PickShareFirst {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T g, T x, T y) const { return g * (x == y ? T(0.5) : (Pick{}(x, y) ? T(1) : T(0))); }
};
template <class Pick>
struct PickShareSecond {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T g, T x, T y) const {
    return g * (T(1) - (x == y ? T(0.5) : (Pick{}(x, y) ? T(1) : T(0))));
  }
};

// (c, x, y) -> c ? x : y
struct Where {
  template <class T>
  CHORD_HOST_DEVICE T operator()(bool c, T x, T y) const { return c ? x : y; }
};
// (c, g) -> c ? g : 0, and c ? 0 : g (where's backward).
struct KeepWhere {
  template <class T>
  CHORD_HOST_DEVICE T operator()(bool c, T g) const { return c ? g : T(0); }
};
struct KeepWhereNot {
  template <class T>
  CHORD_HOST_DEVICE T operator()(bool c, T g) const { return c ? T(0) : g; }
};
// (v, mask) -> mask ? value : v
template <class T>
struct MaskedFill {
  T value;
  CHORD_HOST_DEVICE T operator()(T v, bool m) const { return m ? value : v; }
};
// (g, mask) -> mask ? 0 : g (masked_fill's backward).
struct ZeroWhere {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T g, bool m) const { return m ? T(0) : g; }
};

// ---- the backward of max and min ------------------------------------------------------

// Whether x is (one of) the extreme value m of its slice; NaN counts as equal to NaN.
template <class T>
CHORD_HOST_DEVICE bool ties_with(T x, T m) {
  return x == m || (is_nan(x) && is_nan(m));
}
// (x, m) -> 1 where x ties with its slice's extreme m, else 0.
struct TiesIndicator {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T m) const { return ties_with(x, m) ? T(1) : T(0); }
};
// (x, m, share) -> share where x ties with m, else 0.
struct TiesSelect {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T m, T share) const { return ties_with(x, m) ? share : T(0); }
};

// ---- logsumexp and var (ops/reduction.hpp) ----
//   logsumexp: s = max(x) (0 where not finite);  out = s + log(sum exp(x - s))
//              backward: gx = g * exp(x - out)  (0 where out = -inf: an all -inf slice)
//   var:       m = mean(x);  out = sum (x - m)^2 / (count - correction)
//              backward: gx = g * 2 / (count - correction) * (x - m)

// v where finite, else 0: logsumexp's shift (no shift for a slice of infinities or NaN).
struct FiniteOrZero {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T v) const { return std::isfinite(v) ? v : T(0); }
};
// (x, s) -> exp(x - s)
struct ExpOfDifference {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T s) const { return std::exp(x - s); }
};
// (s, sum) -> s + log(sum)
struct AddLog {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T s, T sum) const { return s + std::log(sum); }
};
// (x, y, g) -> g * exp(x - y), 0 where y = -inf (y = logsumexp of x's slice)
struct LogsumexpGrad {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T y, T g) const {
    return y == -std::numeric_limits<T>::infinity() ? T(0) : g * std::exp(x - y);
  }
};
// (x, m) -> (x - m)^2
struct SquaredDifference {
  template <class T>
  CHORD_HOST_DEVICE T operator()(T x, T m) const { return (x - m) * (x - m); }
};
// (x, m, g) -> g * scale * (x - m): var's backward with scale = 2 / (count - correction)
template <class T>
struct VarGrad {
  T scale;
  CHORD_HOST_DEVICE T operator()(T x, T m, T g) const { return g * scale * (x - m); }
};

}  // namespace chord::fn
