#pragma once
// Arithmetic with NumPy broadcasting: add, sub, mul, div (tensor or scalar on
// either side), neg, pow, and the operators + - * /.
//
// The gradient of a broadcast input is summed over the broadcast dims
// (sum_to_shape), so it always has the input's shape.

#include <cmath>

#include "chord/autograd/node.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/reduction.hpp"

namespace chord::ops {

template <FloatingPoint T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b, T alpha = T(1)) {
  Tensor<T> out = map_new<T>("add", a, b, fn::AddScaled<T>{alpha});
  if (autograd::needs_grad(a, b))
    autograd::record("AddBackward", out, {a, b}, [sa = a.shape(), sb = b.shape(), alpha](const Tensor<T>& g) {
      Tensor<T> gb = alpha == T(1) ? g : map_new<T>("add", g, fn::Scale<T>{alpha});
      return std::vector<Tensor<T>>{sum_to_shape(g, sa), sum_to_shape(gb, sb)};
    });
  return out;
}

template <FloatingPoint T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
  return add(a, b, T(-1));
}

template <FloatingPoint T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = map_new<T>("mul", a, b, fn::Mul{});
  if (autograd::needs_grad(a, b))
    autograd::record("MulBackward", out, {a, b},
                     [sa = autograd::SavedTensor<T>(a, "mul"), sb = autograd::SavedTensor<T>(b, "mul"),
                      need_a = a.requires_grad(), need_b = b.requires_grad()](const Tensor<T>& g) {
                       const Tensor<T>&a_ = sa.get(), &b_ = sb.get();
                       const fn::Mul times;
                       return std::vector<Tensor<T>>{
                           need_a ? sum_to_shape(map_new<T>("mul", g, b_, times), a_.shape()) : Tensor<T>(),
                           need_b ? sum_to_shape(map_new<T>("mul", g, a_, times), b_.shape()) : Tensor<T>()};
                     });
  return out;
}

template <FloatingPoint T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = map_new<T>("div", a, b, fn::Div{});
  if (autograd::needs_grad(a, b))
    autograd::record("DivBackward", out, {a, b},
                     [sa = autograd::SavedTensor<T>(a, "div"), sb = autograd::SavedTensor<T>(b, "div"),
                      need_a = a.requires_grad(), need_b = b.requires_grad()](const Tensor<T>& g) {
                       const Tensor<T>&a_ = sa.get(), &b_ = sb.get();
                       Tensor<T> ga, gb;
                       if (need_a) ga = sum_to_shape(map_new<T>("div", g, b_, fn::Div{}), a_.shape());
                       if (need_b)  // d(a/b)/db = -a / b^2
                         gb = sum_to_shape(map_new<T>("div", g, a_, b_, fn::DivGradDenominator{}), b_.shape());
                       return std::vector<Tensor<T>>{ga, gb};
                     });
  return out;
}

template <FloatingPoint T>
Tensor<T> neg(const Tensor<T>& x) {
  Tensor<T> out = map_new<T>("neg", x, fn::Neg{});
  if (autograd::needs_grad(x))
    autograd::record("NegBackward", out, {x}, [](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{map_new<T>("neg", g, fn::Neg{})};
    });
  return out;
}

// Affine map with scalars: out = x * scale + shift (the scalar forms of + - * / use it).
template <FloatingPoint T>
Tensor<T> scale_shift(const Tensor<T>& x, T scale, T shift) {
  Tensor<T> out = map_new<T>("mul", x, fn::ScaleShift<T>{scale, shift});
  if (autograd::needs_grad(x))
    autograd::record("ScaleBackward", out, {x}, [scale](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{map_new<T>("mul", g, fn::Scale<T>{scale})};
    });
  return out;
}

// x ** exponent. The gradient exponent * x^(exponent-1) follows std::pow at x = 0.
template <FloatingPoint T>
Tensor<T> pow(const Tensor<T>& x, T exponent) {
  Tensor<T> out = map_new<T>("pow", x, fn::PowScalar<T>{exponent});
  if (autograd::needs_grad(x))
    autograd::record("PowBackward", out, {x}, [sx = autograd::SavedTensor<T>(x, "pow"), exponent](const Tensor<T>& g) {
      if (exponent == T(0)) return std::vector<Tensor<T>>{Tensor<T>::zeros(g.shape(), g.device())};
      return std::vector<Tensor<T>>{map_new<T>("pow", g, sx.get(), fn::PowScalarGrad<T>{exponent})};
    });
  return out;
}

// base ** exponent elementwise, with broadcasting. d/d exponent = out * log(base).
template <FloatingPoint T>
Tensor<T> pow(const Tensor<T>& base, const Tensor<T>& exponent) {
  Tensor<T> out = map_new<T>("pow", base, exponent, fn::Pow{});
  if (autograd::needs_grad(base, exponent))
    autograd::record("PowBackward", out, {base, exponent},
                     [sb = autograd::SavedTensor<T>(base, "pow"), se = autograd::SavedTensor<T>(exponent, "pow"),
                      need_b = base.requires_grad(), need_e = exponent.requires_grad()](const Tensor<T>& g) {
                       const Tensor<T>&b = sb.get(), &e = se.get();
                       Tensor<T> gb, ge;
                       if (need_b) gb = sum_to_shape(map_new<T>("pow", g, b, e, fn::PowGradBase{}), b.shape());
                       // 0^e has derivative 0 in e (for e > 0), as in PyTorch
                       if (need_e) ge = sum_to_shape(map_new<T>("pow", g, b, e, fn::PowGradExponent{}), e.shape());
                       return std::vector<Tensor<T>>{gb, ge};
                     });
  return out;
}

}  // namespace chord::ops

namespace chord {
using ops::add;
using ops::div;
using ops::mul;
using ops::neg;
using ops::pow;
using ops::sub;

template <FloatingPoint T> Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return ops::add(a, b); }
template <FloatingPoint T> Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return ops::sub(a, b); }
template <FloatingPoint T> Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return ops::mul(a, b); }
template <FloatingPoint T> Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return ops::div(a, b); }
template <FloatingPoint T> Tensor<T> operator-(const Tensor<T>& x) { return ops::neg(x); }

// Scalars on either side; the scalar converts to the tensor's element type.
template <FloatingPoint T> Tensor<T> operator+(const Tensor<T>& x, std::type_identity_t<T> s) { return ops::scale_shift(x, T(1), s); }
template <FloatingPoint T> Tensor<T> operator+(std::type_identity_t<T> s, const Tensor<T>& x) { return ops::scale_shift(x, T(1), s); }
template <FloatingPoint T> Tensor<T> operator-(const Tensor<T>& x, std::type_identity_t<T> s) { return ops::scale_shift(x, T(1), -s); }
template <FloatingPoint T> Tensor<T> operator-(std::type_identity_t<T> s, const Tensor<T>& x) { return ops::scale_shift(x, T(-1), s); }
template <FloatingPoint T> Tensor<T> operator*(const Tensor<T>& x, std::type_identity_t<T> s) { return ops::scale_shift(x, s, T(0)); }
template <FloatingPoint T> Tensor<T> operator*(std::type_identity_t<T> s, const Tensor<T>& x) { return ops::scale_shift(x, s, T(0)); }
template <FloatingPoint T> Tensor<T> operator/(const Tensor<T>& x, std::type_identity_t<T> s) { return ops::scale_shift(x, T(1) / s, T(0)); }
template <FloatingPoint T> Tensor<T> operator/(std::type_identity_t<T> s, const Tensor<T>& x) {
  return ops::div(Tensor<T>::full(Shape{}, s, x.device()), x);
}

}  // namespace chord
