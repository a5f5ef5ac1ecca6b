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
#include "chord/backend/dispatch/activation.hpp"
#include "chord/backend/cpu/vector_math.hpp"
#include "chord/ops/elementwise.hpp"

namespace chord::ops {

// out = f(x), with grad_x = grad * df(x, out): the pattern of every op here. f and
// df are functors of chord::fn (backend/functors.hpp), which the CUDA kernels run
// too. On the CPU exp, tanh and sigmoid use cpu::vector_exp / vector_tanh (within
// 1-2 ulp of libm), which vectorize where libm's functions would keep the loop scalar.
template <FloatingPoint T, class F, class DF>
Tensor<T> unary_op(const char* op, const char* node_name, const Tensor<T>& x, F f, DF df) {
  Tensor<T> out = map_new<T>(op, x, f);
  if (autograd::needs_grad(x))
    autograd::record(node_name, out, {x},
                     [sx = autograd::SavedTensor<T>(x, op), sy = autograd::SavedTensor<T>(out, op), op, df](
                         const Tensor<T>& g) {
                       return std::vector<Tensor<T>>{
                           map_new<T>(op, g, sx.get(), sy.get(), fn::TimesDerivative<DF>{df})};
                     });
  return out;
}

template <FloatingPoint T>
Tensor<T> exp(const Tensor<T>& x) {
  return unary_op("exp", "ExpBackward", x, fn::Exp{}, fn::ExpDerivative{});
}

template <FloatingPoint T>
Tensor<T> log(const Tensor<T>& x) {
  return unary_op("log", "LogBackward", x, fn::Log{}, fn::LogDerivative{});
}

template <FloatingPoint T>
Tensor<T> sqrt(const Tensor<T>& x) {
  return unary_op("sqrt", "SqrtBackward", x, fn::Sqrt{}, fn::SqrtDerivative{});
}

template <FloatingPoint T>
Tensor<T> abs(const Tensor<T>& x) {
  return unary_op("abs", "AbsBackward", x, fn::Abs{}, fn::AbsDerivative{});
}

template <FloatingPoint T>
Tensor<T> tanh(const Tensor<T>& x) {
  return unary_op("tanh", "TanhBackward", x, fn::Tanh{}, fn::TanhDerivative{});
}

template <FloatingPoint T>
Tensor<T> sigmoid(const Tensor<T>& x) {
  return unary_op("sigmoid", "SigmoidBackward", x, fn::Sigmoid{}, fn::SigmoidDerivative{});
}

template <FloatingPoint T>
Tensor<T> relu(const Tensor<T>& x) {
  return unary_op("relu", "ReluBackward", x, fn::Relu{}, fn::ReluDerivative{});
}

// GELU, tanh approximation (GPT-2):
//   gelu(x) = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
// through the vectorized kernels of backend/cpu/activation.hpp (one exp per element);
// on a GPU through the map kernels with fn::Gelu and fn::GeluDerivative.
template <FloatingPoint T>
Tensor<T> gelu(const Tensor<T>& x) {
  const char* op = "gelu";
  check_defined(op, x);
  const Tensor<T> input = dense(x);
  Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());
  backend::gelu_forward(x.device(), op, input.shape(), input.data(), out.data());
  if (autograd::needs_grad(x))
    autograd::record("GeluBackward", out, {x}, [saved = autograd::SavedTensor<T>(input, op), op](const Tensor<T>& g) {
      const Tensor<T>& xs = saved.get();
      const Tensor<T> grad = dense(g);
      Tensor<T> dx = Tensor<T>::empty(xs.shape(), xs.device());
      backend::gelu_backward(xs.device(), op, xs.shape(), xs.data(), grad.data(), dx.data());
      return std::vector<Tensor<T>>{dx};
    });
  return out;
}

// Limits x to [lo, hi]; either bound may be +-infinity to leave that side open.
template <FloatingPoint T>
Tensor<T> clamp(const Tensor<T>& x, T lo, T hi) {
  check(!(lo > hi), "clamp", "lower bound ", lo, " is above upper bound ", hi);
  return unary_op("clamp", "ClampBackward", x, fn::Clamp<T>{lo, hi}, fn::ClampDerivative<T>{lo, hi});
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
