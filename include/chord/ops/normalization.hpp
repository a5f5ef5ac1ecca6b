#pragma once
// layer_norm over the last dim, fused: one forward kernel that also saves the
// per-row mean and 1/std, one backward kernel for dx, dweight and dbias
// (formulas in backend/cpu/layer_norm.hpp).
//
//   y = layer_norm(x, weight, bias)            // x [..., D], weight [D], bias [D]
//   y = layer_norm(x, Tensor<float>(), bias)  // weight and bias may each be undefined
//
// Variance is the biased one (divided by D), as in PyTorch's LayerNorm.

#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/dispatch/layer_norm.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/view.hpp"

namespace chord::ops {

template <FloatingPoint T>
Tensor<T> layer_norm(const Tensor<T>& x, const Tensor<T>& weight = Tensor<T>(), const Tensor<T>& bias = Tensor<T>(),
                     double eps = 1e-5) {
  const char* op = "layer_norm";
  check_defined(op, x);
  check(x.dim() >= 1, op, "expects an input with at least 1 dim (normalized over the last), got a 0-d tensor");
  const int64_t D = x.shape().back();
  check(D > 0, op, "the normalized (last) dim of shape ", x.shape(), " is empty");
  const Shape param_shape{D};
  if (weight.defined()) {
    check_same_device(op, x.device(), weight.device());
    check(weight.shape() == param_shape, op, "weight of shape ", weight.shape(), " does not match input of shape ",
          x.shape(), " (expected ", param_shape, ")");
  }
  if (bias.defined()) {
    check_same_device(op, x.device(), bias.device());
    check(bias.shape() == param_shape, op, "bias of shape ", bias.shape(), " does not match input of shape ",
          x.shape(), " (expected ", param_shape, ")");
  }
  check(eps >= 0.0, op, "eps must be non-negative, got ", eps);

  const int64_t R = x.numel() / D;
  const Tensor<T> xr = dense(x);  // [R, D]
  const Tensor<T> w = weight.defined() ? dense(weight) : weight;  // [D]
  const Tensor<T> b = bias.defined() ? dense(bias) : bias;          // [D]
  Tensor<T> y = Tensor<T>::empty(x.shape(), x.device());  // [R, D]
  Tensor<T> mean = Tensor<T>::empty(Shape{R}, x.device());  // [R]
  Tensor<T> rstd = Tensor<T>::empty(Shape{R}, x.device());  // [R]
  const T* wp = w.defined() ? w.data() : nullptr;
  const T* bp = b.defined() ? b.data() : nullptr;
  backend::layer_norm_forward(x.device(), op, xr.data(), wp, bp, y.data(), mean.data(), rstd.data(), R, D,
                              static_cast<T>(eps));

  if (autograd::needs_grad(x, weight, bias))
    autograd::record(
        "LayerNormBackward", y, {x, weight, bias},
        [sx = autograd::SavedTensor<T>(xr, op), sw = autograd::SavedTensor<T>(w, op), mean, rstd, R, D,
         need_x = x.requires_grad(), need_w = weight.defined() && weight.requires_grad(),
         need_b = bias.defined() && bias.requires_grad(), x_shape = x.shape()](const Tensor<T>& g) {
          const Tensor<T>&xs = sx.get(), &ws = sw.get();
          const Tensor<T> gc = dense(g);  // [R, D]
          Tensor<T> dx, dw, db;
          if (need_x) dx = Tensor<T>::empty(x_shape, xs.device());  // [R, D]
          if (need_w) dw = Tensor<T>::empty(Shape{D}, xs.device());
          if (need_b) db = Tensor<T>::empty(Shape{D}, xs.device());
          const T* wsp = ws.defined() ? ws.data() : nullptr;
          T* dxp = need_x ? dx.data() : nullptr;
          T* dwp = need_w ? dw.data() : nullptr;
          T* dbp = need_b ? db.data() : nullptr;
          backend::layer_norm_backward(xs.device(), "layer_norm", gc.data(), xs.data(), wsp, mean.data(), rstd.data(),
                                       R, D, dxp, dwp, dbp);
          return std::vector<Tensor<T>>{dx, dw, db};
        });
  return y;
}

}  // namespace chord::ops

namespace chord {
using ops::layer_norm;
}  // namespace chord
