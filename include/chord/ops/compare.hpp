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

#define CHORD_COMPARISON(name, expr)                                                        \
  template <Element T>                                                                      \
  Tensor<bool> name(const Tensor<T>& a, const Tensor<T>& b) {                               \
    return map_new<bool>(#name, a, b, [](T x, T y) { return expr; });                       \
  }                                                                                         \
  template <Element T>                                                                      \
  Tensor<bool> name(const Tensor<T>& a, std::type_identity_t<T> s) {                        \
    return map_new<bool>(#name, a, [s](T x) { const T y = s; return expr; });               \
  }
CHORD_COMPARISON(eq, x == y)
CHORD_COMPARISON(ne, x != y)
CHORD_COMPARISON(lt, x < y)
CHORD_COMPARISON(le, x <= y)
CHORD_COMPARISON(gt, x > y)
CHORD_COMPARISON(ge, x >= y)
#undef CHORD_COMPARISON

namespace detail {
// Shared by maximum and minimum: `pick_a(a, b)` says where a is the result.
template <FloatingPoint T, class PickA>
Tensor<T> pick(const char* op, const char* node, const Tensor<T>& a, const Tensor<T>& b, PickA pick_a) {
  Tensor<T> out = map_new<T>(op, a, b, [pick_a](T x, T y) { return pick_a(x, y) ? x : y; });
  if (autograd::needs_grad(a, b))
    autograd::record(node, out, {a, b},
                     [sa = autograd::SavedTensor<T>(a, op), sb = autograd::SavedTensor<T>(b, op), op,
                      pick_a](const Tensor<T>& g) {
                       const Tensor<T>&x = sa.get(), &y = sb.get();
                       // share of the gradient going to a: 1, 0, or 1/2 on ties
                       auto share_a = [pick_a](T xv, T yv) { return xv == yv ? T(0.5) : (pick_a(xv, yv) ? T(1) : T(0)); };
                       Tensor<T> ga = map_new<T>(op, g, x, y, [share_a](T gv, T xv, T yv) { return gv * share_a(xv, yv); });
                       Tensor<T> gb =
                           map_new<T>(op, g, x, y, [share_a](T gv, T xv, T yv) { return gv * (T(1) - share_a(xv, yv)); });
                       return std::vector<Tensor<T>>{sum_to_shape(ga, x.shape()), sum_to_shape(gb, y.shape())};
                     });
  return out;
}
}  // namespace detail

template <FloatingPoint T>
Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::pick("maximum", "MaximumBackward", a, b, [](T x, T y) { return x > y; });
}
template <FloatingPoint T>
Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::pick("minimum", "MinimumBackward", a, b, [](T x, T y) { return x < y; });
}

// condition ? a : b elementwise, all three broadcast together.
template <FloatingPoint T>
Tensor<T> where(const Tensor<bool>& condition, const Tensor<T>& a, const Tensor<T>& b) {
  check_defined("where", condition, "condition");
  Tensor<T> out = map_new<T>("where", condition, a, b, [](bool c, T x, T y) { return c ? x : y; });
  if (autograd::needs_grad(a, b))
    autograd::record("WhereBackward", out, {a, b},
                     [saved = autograd::SavedTensor<bool>(condition, "where"), sa = a.shape(), sb = b.shape()](
                         const Tensor<T>& g) {
      const Tensor<bool>& condition = saved.get();
      Tensor<T> ga = map_new<T>("where", condition, g, [](bool c, T gv) { return c ? gv : T(0); });
      Tensor<T> gb = map_new<T>("where", condition, g, [](bool c, T gv) { return c ? T(0) : gv; });
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
  Tensor<T> out = map_new<T>("masked_fill", x, mask, [value](T v, bool m) { return m ? value : v; });
  if (autograd::needs_grad(x))
    autograd::record("MaskedFillBackward", out, {x}, [saved = autograd::SavedTensor<bool>(mask, "masked_fill")](
                                                        const Tensor<T>& g) {
      const Tensor<bool>& mask = saved.get();
      return std::vector<Tensor<T>>{map_new<T>("masked_fill", g, mask, [](T gv, bool m) { return m ? T(0) : gv; })};
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
