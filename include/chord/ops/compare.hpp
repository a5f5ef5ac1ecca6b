#pragma once
// Comparisons and selection: eq/ne/lt/le/gt/ge (bool results), minimum,
// maximum, where, masked_fill.
//
// Gradient convention: where a == b, minimum and maximum give each input half
// of the gradient (PyTorch's choice: the subgradient in the middle).

#include "chord/autograd/node.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/reduction.hpp"

namespace chord::ops {

#define CHORD_COMPARISON(name, Compare)                                                     \
  template <Element T>                                                                      \
  Tensor<bool> name(const Tensor<T>& a, const Tensor<T>& b) {                               \
    return map_new<bool>(#name, a, b, Compare{});                                           \
  }                                                                                         \
  template <Element T>                                                                      \
  Tensor<bool> name(const Tensor<T>& a, std::type_identity_t<T> s) {                        \
    return map_new<bool>(#name, a, fn::WithScalar<Compare, T>{s});                          \
  }
CHORD_COMPARISON(eq, fn::Equal)
CHORD_COMPARISON(ne, fn::NotEqual)
CHORD_COMPARISON(lt, fn::Less)
CHORD_COMPARISON(le, fn::LessEqual)
CHORD_COMPARISON(gt, fn::Greater)
CHORD_COMPARISON(ge, fn::GreaterEqual)
#undef CHORD_COMPARISON

namespace detail {
// Shared by maximum and minimum: `Pick(a, b)` (fn::Greater or fn::Less) says where a is the result.
template <class Pick, FloatingPoint T>
Tensor<T> pick(const char* op, const char* node, const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = map_new<T>(op, a, b, fn::PickFirst<Pick>{});
  if (autograd::needs_grad(a, b))
    autograd::record(node, out, {a, b},
                     [sa = autograd::SavedTensor<T>(a, op), sb = autograd::SavedTensor<T>(b, op), op](
                         const Tensor<T>& g) {
                       const Tensor<T>&x = sa.get(), &y = sb.get();
                       // share of the gradient going to a: 1, 0, or 1/2 on ties; b gets the rest
                       Tensor<T> ga = map_new<T>(op, g, x, y, fn::PickShareFirst<Pick>{});
                       Tensor<T> gb = map_new<T>(op, g, x, y, fn::PickShareSecond<Pick>{});
                       return std::vector<Tensor<T>>{sum_to_shape(ga, x.shape()), sum_to_shape(gb, y.shape())};
                     });
  return out;
}
}  // namespace detail

template <FloatingPoint T>
Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::pick<fn::Greater>("maximum", "MaximumBackward", a, b);
}
template <FloatingPoint T>
Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::pick<fn::Less>("minimum", "MinimumBackward", a, b);
}

// condition ? a : b elementwise, all three broadcast together.
template <FloatingPoint T>
Tensor<T> where(const Tensor<bool>& condition, const Tensor<T>& a, const Tensor<T>& b) {
  check_defined("where", condition, "condition");
  Tensor<T> out = map_new<T>("where", condition, a, b, fn::Where{});
  if (autograd::needs_grad(a, b))
    autograd::record("WhereBackward", out, {a, b},
                     [saved = autograd::SavedTensor<bool>(condition, "where"), sa = a.shape(), sb = b.shape()](
                         const Tensor<T>& g) {
      const Tensor<bool>& condition = saved.get();
      Tensor<T> ga = map_new<T>("where", condition, g, fn::KeepWhere{});
      Tensor<T> gb = map_new<T>("where", condition, g, fn::KeepWhereNot{});
      return std::vector<Tensor<T>>{sum_to_shape(ga, sa), sum_to_shape(gb, sb)};
    });
  return out;
}

// x with `value` wherever mask (broadcast to x's shape) is true; no gradient flows there.
template <FloatingPoint T>
Tensor<T> masked_fill(const Tensor<T>& x, const Tensor<bool>& mask, T value) {
  check_defined("masked_fill", x);
  check_defined("masked_fill", mask, "mask");
  check(broadcast_shapes(x.shape(), mask.shape(), "masked_fill") == x.shape(), "masked_fill", "a mask of shape ",
        mask.shape(), " does not broadcast to the input's shape ", x.shape());
  Tensor<T> out = map_new<T>("masked_fill", x, mask, fn::MaskedFill<T>{value});
  if (autograd::needs_grad(x))
    autograd::record("MaskedFillBackward", out, {x}, [saved = autograd::SavedTensor<bool>(mask, "masked_fill")](
                                                        const Tensor<T>& g) {
      const Tensor<bool>& mask = saved.get();
      return std::vector<Tensor<T>>{map_new<T>("masked_fill", g, mask, fn::ZeroWhere{})};
    });
  return out;
}

}  // namespace chord::ops

namespace chord {
using ops::eq;
using ops::ge;
using ops::gt;
using ops::le;
using ops::lt;
using ops::masked_fill;
using ops::maximum;
using ops::minimum;
using ops::ne;
using ops::where;
}  // namespace chord
