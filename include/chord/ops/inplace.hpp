#pragma once
// In-place operations: fill_, zero_, copy_, add_, sub_, mul_, div_,
// masked_fill_. Each bumps the storage's version counter, so a tensor that
// was saved for backward and then changed is caught at backward time.
//
// They are refused on a tensor that requires grad while grad mode is on (the
// graph would be silently wrong); optimizers update parameters under no_grad.

#include "chord/ops/elementwise.hpp"
#include "chord/ops/view.hpp"

namespace chord::ops {

template <Element T>
void check_inplace_allowed(const char* op, const Tensor<T>& x) {
  check_defined(op, x);
  check(!(x.requires_grad() && is_grad_enabled()), op,
        "an in-place operation on a tensor that requires grad would corrupt the autograd graph; "
        "use the out-of-place op, or run it under chord::no_grad");
  // An expanded view maps several elements to one memory location: writing
  // through it would leave whichever element came last.
  for (int d = 0; d < x.dim(); ++d)
    check(x.strides()[d] != 0 || x.shape()[d] <= 1, op, "cannot write in place into an expanded tensor (shape ",
          x.shape(), ", strides ", x.strides(), "): several elements share one memory location; clone() it first");
}

template <Element T>
Tensor<T>& fill_(Tensor<T>& x, T value) {
  check_inplace_allowed("fill_", x);
  backend::map("fill_", x.device(), x.shape(), x.data(), x.strides(), x.data(), x.strides(), fn::Fill<T>{value});
  x.bump_version();
  return x;
}

// Copies source (broadcast to x's shape) into x. The two may be on different
// devices (as in PyTorch): source is first moved to x's device.
template <Element T>
Tensor<T>& copy_(Tensor<T>& x, const Tensor<T>& source) {
  check_inplace_allowed("copy_", x);
  check_defined("copy_", source);
  map_inplace("copy_", x, source.device() == x.device() ? source : source.detach().to(x.device()), fn::Second{});
  x.bump_version();
  return x;
}

#define CHORD_INPLACE_BINARY(name, Op)                                                      \
  template <FloatingPoint T>                                                                \
  Tensor<T>& name(Tensor<T>& x, const Tensor<T>& other) {                                   \
    check_inplace_allowed(#name, x);                                                        \
    map_inplace(#name, x, other, Op{});                                                     \
    x.bump_version();                                                                       \
    return x;                                                                               \
  }                                                                                         \
  template <FloatingPoint T>                                                                \
  Tensor<T>& name(Tensor<T>& x, std::type_identity_t<T> s) {                                \
    check_inplace_allowed(#name, x);                                                        \
    backend::map(#name, x.device(), x.shape(), x.data(), x.strides(), x.data(), x.strides(), \
                 fn::WithScalar<Op, T>{s});                                                 \
    x.bump_version();                                                                       \
    return x;                                                                               \
  }
CHORD_INPLACE_BINARY(add_, fn::Add)
CHORD_INPLACE_BINARY(sub_, fn::Sub)
CHORD_INPLACE_BINARY(mul_, fn::Mul)
CHORD_INPLACE_BINARY(div_, fn::Div)
#undef CHORD_INPLACE_BINARY

template <FloatingPoint T>
Tensor<T>& masked_fill_(Tensor<T>& x, const Tensor<bool>& mask, T value) {
  check_inplace_allowed("masked_fill_", x);
  map_inplace("masked_fill_", x, mask, fn::MaskedFill<T>{value});
  x.bump_version();
  return x;
}

}  // namespace chord::ops

namespace chord {
using ops::add_;
using ops::copy_;
using ops::div_;
using ops::fill_;
using ops::masked_fill_;
using ops::mul_;
using ops::sub_;

template <Element T>
Tensor<T>& Tensor<T>::fill_(T value) {
  return ops::fill_(*this, value);
}
template <Element T>
Tensor<T>& Tensor<T>::copy_(const Tensor& source) {
  return ops::copy_(*this, source);
}
}  // namespace chord
