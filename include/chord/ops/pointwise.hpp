#pragma once
// Pointwise math and activations: exp, log, sqrt, abs, tanh, sigmoid, relu,
// gelu (tanh form), clamp.
//
// Gradients at kinks (the convention PyTorch uses):
//   relu'(0) = 0;  abs'(0) = 0;
//   clamp passes the gradient where lo <= x <= hi (bounds included), 0 outside;
//   sqrt'(0) = +inf and log'(0) = +inf, as the math says.

#include <cmath>
#include <limits>
#include <numbers>

#include "chord/autograd/node.hpp"
#include "chord/ops/elementwise.hpp"

namespace chord::ops {

// out = f(x), with grad_x = grad * df(x, out): the pattern of every op here.
template <FloatingPoint T, class F, class DF>
Tensor<T> unary_op(const char* op, const char* node_name, const Tensor<T>& x, F f, DF df) {
  Tensor<T> out = map_new<T>(op, x, f);
  if (autograd::needs_grad(x))
    autograd::record(node_name, out, {x},
                     [sx = autograd::SavedTensor<T>(x, op), sy = autograd::SavedTensor<T>(out, op), op, df](
                         const Tensor<T>& g) {
                       return std::vector<Tensor<T>>{map_new<T>(op, g, sx.get(), sy.get(),
                                                                [df](T gv, T xv, T yv) { return gv * df(xv, yv); })};
                     });
  return out;
}

template <FloatingPoint T>
Tensor<T> exp(const Tensor<T>& x) {
  return unary_op("exp", "ExpBackward", x, [](T v) { return std::exp(v); }, [](T, T y) { return y; });
}

template <FloatingPoint T>
Tensor<T> log(const Tensor<T>& x) {
  return unary_op("log", "LogBackward", x, [](T v) { return std::log(v); }, [](T v, T) { return T(1) / v; });
}

template <FloatingPoint T>
Tensor<T> sqrt(const Tensor<T>& x) {
  return unary_op("sqrt", "SqrtBackward", x, [](T v) { return std::sqrt(v); },
                  [](T, T y) { return T(0.5) / y; });
}

template <FloatingPoint T>
Tensor<T> abs(const Tensor<T>& x) {
  return unary_op("abs", "AbsBackward", x, [](T v) { return std::abs(v); },
                  [](T v, T) { return T((v > T(0)) - (v < T(0))); });
}

template <FloatingPoint T>
Tensor<T> tanh(const Tensor<T>& x) {
  return unary_op("tanh", "TanhBackward", x, [](T v) { return std::tanh(v); }, [](T, T y) { return T(1) - y * y; });
}

template <FloatingPoint T>
Tensor<T> sigmoid(const Tensor<T>& x) {
  // Written so that neither branch overflows: exp of a non-positive number only.
  auto f = [](T v) {
    if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
  };
  return unary_op("sigmoid", "SigmoidBackward", x, f, [](T, T y) { return y * (T(1) - y); });
}

template <FloatingPoint T>
Tensor<T> relu(const Tensor<T>& x) {
  return unary_op("relu", "ReluBackward", x, [](T v) { return v > T(0) ? v : T(0); },
                  [](T v, T) { return v > T(0) ? T(1) : T(0); });
}

// GELU, tanh approximation (GPT-2):
//   gelu(x) = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
//   gelu'(x) = 0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
template <FloatingPoint T>
Tensor<T> gelu(const Tensor<T>& x) {
  static constexpr T kSqrt2OverPi = T(0.7978845608028654);
  static constexpr T kCubic = T(0.044715);
  auto f = [](T v) { return T(0.5) * v * (T(1) + std::tanh(kSqrt2OverPi * (v + kCubic * v * v * v))); };
  auto df = [](T v, T) {
    const T t = std::tanh(kSqrt2OverPi * (v + kCubic * v * v * v));
    return T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * kSqrt2OverPi * (T(1) + T(3) * kCubic * v * v);
  };
  return unary_op("gelu", "GeluBackward", x, f, df);
}

// Limits x to [lo, hi]; either bound may be +-infinity to leave that side open.
template <FloatingPoint T>
Tensor<T> clamp(const Tensor<T>& x, T lo, T hi) {
  check(!(lo > hi), "clamp", "lower bound ", lo, " is above upper bound ", hi);
  return unary_op("clamp", "ClampBackward", x, [lo, hi](T v) { return v < lo ? lo : (v > hi ? hi : v); },
                  [lo, hi](T v, T) { return v >= lo && v <= hi ? T(1) : T(0); });
}
template <FloatingPoint T>
Tensor<T> clamp_min(const Tensor<T>& x, T lo) {
  return clamp(x, lo, std::numeric_limits<T>::infinity());
}
template <FloatingPoint T>
Tensor<T> clamp_max(const Tensor<T>& x, T hi) {
  return clamp(x, -std::numeric_limits<T>::infinity(), hi);
}

}  // namespace chord::ops

namespace chord {
using ops::abs;
using ops::clamp;
using ops::clamp_max;
using ops::clamp_min;
using ops::exp;
using ops::gelu;
using ops::log;
using ops::relu;
using ops::sigmoid;
using ops::sqrt;
using ops::tanh;
}  // namespace chord
