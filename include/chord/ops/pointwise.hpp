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
#include "chord/backend/cpu/activation.hpp"
#include "chord/backend/cpu/vector_math.hpp"
#include "chord/ops/elementwise.hpp"

namespace chord::ops {

// out = f(x), with grad_x = grad * df(x, out): the pattern of every op here.
// exp, tanh and sigmoid use cpu::vector_exp / vector_tanh (within 1-2 ulp of libm),
// which vectorize where libm's functions would keep the loop scalar.
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
  return unary_op("exp", "ExpBackward", x, [](T v) { return cpu::vector_exp(v); }, [](T, T y) { return y; });
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
  return unary_op("tanh", "TanhBackward", x, [](T v) { return cpu::vector_tanh(v); },
                  [](T, T y) { return T(1) - y * y; });
}

template <FloatingPoint T>
Tensor<T> sigmoid(const Tensor<T>& x) {
  // vector_exp(-v) is +inf for very negative v (never NaN), which gives 0.
  auto f = [](T v) { return T(1) / (T(1) + cpu::vector_exp(-v)); };
  return unary_op("sigmoid", "SigmoidBackward", x, f, [](T, T y) { return y * (T(1) - y); });
}

template <FloatingPoint T>
Tensor<T> relu(const Tensor<T>& x) {
  return unary_op("relu", "ReluBackward", x, [](T v) { return v > T(0) ? v : T(0); },
                  [](T v, T) { return v > T(0) ? T(1) : T(0); });
}

// GELU, tanh approximation (GPT-2):
//   gelu(x) = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
// through the vectorized kernels of backend/cpu/activation.hpp (one exp per element).
template <FloatingPoint T>
Tensor<T> gelu(const Tensor<T>& x) {
  const char* op = "gelu";
  check_defined(op, x);
  check_cpu(op, x);
  const Tensor<T> input = dense(x);
  Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());
  cpu::gelu_forward(input.data(), out.data(), input.numel());
  if (autograd::needs_grad(x))
    autograd::record("GeluBackward", out, {x}, [saved = autograd::SavedTensor<T>(input, op), op](const Tensor<T>& g) {
      const Tensor<T>& xs = saved.get();
      const Tensor<T> grad = dense(g);
      Tensor<T> dx = Tensor<T>::empty(xs.shape(), xs.device());
      cpu::gelu_backward(xs.data(), grad.data(), dx.data(), xs.numel());
      return std::vector<Tensor<T>>{dx};
    });
  return out;
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
