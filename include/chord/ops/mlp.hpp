#pragma once
// gelu_mlp: a transformer's feed-forward block as one op, with its passes fused into the products.
//
//   y = gelu(x W1^T + b1) W2^T + b2      x [..., in], W1 [hidden, in], b1 [hidden] (optional),
//                                       W2 [out, hidden], b2 [out] (optional) -> y [..., out]
//
// the same values as linear(gelu(linear(x, W1, b1)), W2, b2) up to rounding, with fewer passes
// over the [rows, hidden] activations, which are the biggest of a GPT block (4 times its width):
//   forward:   h = x W1^T + b1 and a = gelu(h) in one product (GELU applied to each tile of h
//              as the product finishes it, backend/dispatch/fused_gemm.hpp: linear_gelu), then
//              y = a W2^T + b2;
//   backward (G = dY as [rows, out], X = x as [rows, in]):
//              dW2 = G^T a and db2 = the sum of G's rows, in one product;
//              dh = (G W2) * gelu'(h), GELU's backward applied to each tile of G W2 as the
//              product finishes it (gemm_gelu_backward), so dL/da is never written;
//              dW1 = dh^T X and db1 in one product; dx = dh W1.
// It keeps h and a for the backward, as the unfused ops would (GELU keeps h, W2's product a).
// nn::MLP runs on it; an activation other than GELU (a SwiGLU block, say) would be another
// tile epilogue and another op beside this one.

#include <tuple>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/dispatch/fused_gemm.hpp"
#include "chord/backend/dispatch/gemm.hpp"
#include "chord/ops/linalg.hpp"
#include "chord/ops/reduction.hpp"
#include "chord/ops/view.hpp"

namespace chord::ops {

template <FloatingPoint T>
Tensor<T> gelu_mlp(const Tensor<T>& x, const Tensor<T>& fc_weight, const Tensor<T>& fc_bias,
                   const Tensor<T>& proj_weight, const Tensor<T>& proj_bias) {
  const char* op = "gelu_mlp";
  check_defined(op, x, "input");
  check_defined(op, fc_weight, "fc weight");
  check_defined(op, proj_weight, "proj weight");
  check_same_device(op, x.device(), fc_weight.device());
  check_same_device(op, x.device(), proj_weight.device());
  check(fc_weight.dim() == 2 && proj_weight.dim() == 2, op, "the weights must be 2-D [out_features, in_features], got ",
        fc_weight.shape(), " and ", proj_weight.shape());
  const int64_t in = fc_weight.size(1), hidden = fc_weight.size(0), out = proj_weight.size(0);
  check(x.dim() >= 1 && x.size(-1) == in, op, "input of shape ", x.shape(), " does not match the fc weight of shape ",
        fc_weight.shape(), ": the input has ", x.dim() >= 1 ? x.size(-1) : 0, " features, the weight expects ", in);
  check(proj_weight.size(1) == hidden, op, "the proj weight of shape ", proj_weight.shape(),
        " does not match the fc weight of shape ", fc_weight.shape(), ": expected [", out, ", ", hidden, "]");
  auto check_bias = [&](const Tensor<T>& bias, int64_t size, const char* which, const Tensor<T>& weight) {
    if (!bias.defined()) return;
    check_same_device(op, x.device(), bias.device());
    check(bias.dim() == 1 && bias.size(0) == size, op, "the ", which, " bias of shape ", bias.shape(),
          " does not match its weight of shape ", weight.shape(), ": expected [", size, "]");
  };
  check_bias(fc_bias, hidden, "fc", fc_weight);
  check_bias(proj_bias, out, "proj", proj_weight);

  const Tensor<T> X = linalg_detail::gemm_operand(linalg_detail::as_rows(x));  // [rows, in]
  const Tensor<T> W1 = linalg_detail::gemm_operand(fc_weight);                 // [hidden, in]
  const Tensor<T> W2 = linalg_detail::gemm_operand(proj_weight);               // [out, hidden]
  const int64_t rows = X.size(0);
  const Device device = x.device();
  Tensor<T> h = Tensor<T>::empty(Shape{rows, hidden}, device);  // the pre-activation, [rows, hidden]
  Tensor<T> a = Tensor<T>::empty(Shape{rows, hidden}, device);  // gelu(h), [rows, hidden]
  backend::linear_gelu<T>(device, rows, hidden, in, X.data(), X.stride(0), X.stride(1), W1.data(), W1.stride(0),
                          W1.stride(1), fc_bias.defined() ? fc_bias.data() : nullptr,
                          fc_bias.defined() ? fc_bias.stride(0) : 0, h.data(), a.data());
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out;
  Tensor<T> y = Tensor<T>::empty(out_shape, device);  // [..., out] = [rows, out] contiguous
  backend::linear<T>(device, rows, out, hidden, a.data(), hidden, 1, W2.data(), W2.stride(0), W2.stride(1),
                     proj_bias.defined() ? proj_bias.data() : nullptr, proj_bias.defined() ? proj_bias.stride(0) : 0,
                     y.data());

  if (autograd::needs_grad(x, fc_weight, fc_bias) || autograd::needs_grad(proj_weight, proj_bias)) {
    autograd::record(
        "GeluMlpBackward", y, {x, fc_weight, fc_bias, proj_weight, proj_bias},
        [sx = autograd::SavedTensor<T>(x, op), sw1 = autograd::SavedTensor<T>(fc_weight, op),
         sw2 = autograd::SavedTensor<T>(proj_weight, op), h, a, need_x = x.requires_grad(),
         need_w1 = fc_weight.requires_grad(), need_b1 = fc_bias.defined() && fc_bias.requires_grad(),
         need_w2 = proj_weight.requires_grad(), need_b2 = proj_bias.defined() && proj_bias.requires_grad()](
            const Tensor<T>& g) {
          const Tensor<T> G = linalg_detail::gemm_operand(linalg_detail::as_rows(g));  // [rows, out]
          const int64_t rows = G.size(0), out = G.size(1), hidden = h.size(1);
          Tensor<T> gx, gw1, gb1, gw2, gb2;
          // The output product's weight and bias: dW2 = G^T a, db2 = sum of G's rows.
          std::tie(gw2, gb2) = linalg_detail::linear_param_grads(G, a, need_w2, need_b2);
          if (need_x || need_w1 || need_b1) {
            // dh = (G W2) * gelu'(h), [rows, hidden]: G W2 = dL/da goes through GELU's backward tile by tile.
            const Tensor<T> W2 = linalg_detail::gemm_operand(sw2.get());  // [out, hidden] = [K, N]
            Tensor<T> dh = Tensor<T>::empty(Shape{rows, hidden}, G.device());
            backend::gemm_gelu_backward<T>(G.device(), rows, hidden, out, G.data(), G.stride(0), G.stride(1),
                                           W2.data(), W2.stride(0), W2.stride(1), h.data(), dh.data());
            const Tensor<T> X = linalg_detail::as_rows(sx.get());  // [rows, in]
            std::tie(gw1, gb1) = linalg_detail::linear_param_grads(dh, X, need_w1, need_b1);
            if (need_x) {
              const Tensor<T> dx = linalg_detail::mm(dh, sw1.get());  // [rows, in]
              gx = alias(dx, sx.get().shape(), contiguous_strides(sx.get().shape()), 0);
            }
          }
          return std::vector<Tensor<T>>{gx, gw1, gb1, gw2, gb2};
        });
  }
  return y;
}

}  // namespace chord::ops

namespace chord {
using ops::gelu_mlp;
}  // namespace chord
