#pragma once
// Matrix products: matmul (PyTorch semantics) and linear (x @ W^T + b).
//
// matmul(a, b):
//   [K] x [K]                    -> []            (dot product)
//   [M, K] x [K, N]              -> [M, N]
//   [K] x [..., K, N]            -> [..., N]      (a promoted to [1, K], that dim removed)
//   [..., M, K] x [K]            -> [..., M]      (b promoted to [K, 1], that dim removed)
//   [..., M, K] x [..., K, N]    -> [..., M, N]   (batch dims broadcast, NumPy rules)
// Operands are read in place through their strides: a transposed or
// row-sliced view is not copied (only a matrix with neither stride 1, such as
// a step-2 column slice or an expanded view, is copied once). The result is a
// new contiguous tensor.
//
// Backward of C = A @ B (per batch element):  dA = dC @ B^T,  dB = A^T @ dC,
// each summed over the batch dims its operand was broadcast along. Both are
// computed by matmul itself on transposed views.

#include <tuple>
#include <utility>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/cpu/gemm.hpp"
#include "chord/backend/dispatch/fused_gemm.hpp"
#include "chord/backend/dispatch/gemm.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/reduction.hpp"
#include "chord/ops/view.hpp"

namespace chord::ops {

namespace linalg_detail {

// x viewed as [rows, x.size(-1)] (all leading dims merged), without autograd;
// a copy only when x's strides cannot express that.
template <FloatingPoint T>
Tensor<T> as_rows(const Tensor<T>& x) {
  int64_t rows = 1;
  for (int d = 0; d + 1 < x.dim(); ++d) rows *= x.shape()[d];
  const Shape shape{rows, x.dim() ? x.shape().back() : 1};
  if (auto strides = view_strides(x.shape(), x.strides(), shape)) return alias(x, shape, *strides, x.storage_offset());
  return alias(copy_contiguous(x), shape, contiguous_strides(shape), 0);
}

// x itself when the GEMM reads its matrices (last two dims) in place, else a
// contiguous copy: made once here rather than once per product of a batch.
template <FloatingPoint T>
Tensor<T> gemm_operand(const Tensor<T>& x) {
  const int n = x.dim();
  if (cpu::gemm_reads_in_place(x.shape()[n - 2], x.shape()[n - 1], x.strides()[n - 2], x.strides()[n - 1])) return x;
  return copy_contiguous(x);
}

// [M, K] @ [K, N] -> a new contiguous [M, N], for 2-D operands of any strides (no autograd).
template <FloatingPoint T>
Tensor<T> mm(const Tensor<T>& a_in, const Tensor<T>& b_in) {
  const Tensor<T> a = gemm_operand(a_in), b = gemm_operand(b_in);
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  Tensor<T> out = Tensor<T>::empty(Shape{M, N}, a.device());  // [M, N]
  backend::gemm<T>(a.device(), M, N, K, a.data(), a.stride(0), a.stride(1), b.data(), b.stride(0), b.stride(1),
                   out.data(), N);
  return out;
}

// A linear layer's weight and bias gradients from G = dY [rows, out] and X [rows, in]:
// dW = G^T X [out, in] and db = the sum of G's rows [out], in one product (the CPU sums G^T's
// rows from the product's packed panels instead of reading G again).
template <FloatingPoint T>
std::pair<Tensor<T>, Tensor<T>> weight_and_bias_grads(const Tensor<T>& G, const Tensor<T>& X) {
  const Tensor<T> a = gemm_operand(transpose(G, 0, 1)), b = gemm_operand(X);  // [out, rows], [rows, in]
  const int64_t out = a.size(0), rows = a.size(1), in = b.size(1);
  Tensor<T> gw = Tensor<T>::empty(Shape{out, in}, G.device());  // [out, in]
  Tensor<T> gb = Tensor<T>::empty(Shape{out}, G.device());      // [out]
  backend::gemm_and_row_sums<T>(G.device(), out, in, rows, a.data(), a.stride(0), a.stride(1), b.data(), b.stride(0),
                                b.stride(1), gw.data(), gb.data());
  return {gw, gb};
}

// The weight and bias gradients a linear layer needs (each undefined when not needed): both
// from one product, or dW = G^T X alone, or db = the sum of G's rows alone.
template <FloatingPoint T>
std::pair<Tensor<T>, Tensor<T>> linear_param_grads(const Tensor<T>& G, const Tensor<T>& X, bool need_w, bool need_b) {
  if (need_w && need_b) return weight_and_bias_grads(G, X);
  if (need_w) return {mm(transpose(G, 0, 1), X), Tensor<T>()};  // [out, in]
  if (need_b) return {Tensor<T>(), sum(G, Shape{0})};           // [out]
  return {};
}

// The first n entries of a shape (or strides).
inline Shape leading(const Shape& s, int n) {
  Shape out;
  for (int d = 0; d < n; ++d) out.push_back(s[d]);
  return out;
}

// The shapes the user passed, for error messages.
struct ShownShapes {
  Shape a, b;
};

// [batch_a..., M, K] @ [batch_b..., K, N] -> [batch..., M, N] (no autograd); a and b have >= 2 dims.
template <FloatingPoint T>
Tensor<T> batched_product(const Tensor<T>& a_in, const Tensor<T>& b_in, const ShownShapes& shown) {
  const Tensor<T> a = gemm_operand(a_in), b = gemm_operand(b_in);
  const int a_nd = a.dim(), b_nd = b.dim();
  const int64_t M = a.shape()[a_nd - 2], K = a.shape()[a_nd - 1], Kb = b.shape()[b_nd - 2], N = b.shape()[b_nd - 1];
  check(Kb == K, "matmul", "shapes ", shown.a, " and ", shown.b, " do not match: the inner dims are ", K, " and ", Kb);
  const Shape a_batch = leading(a.shape(), a_nd - 2), b_batch = leading(b.shape(), b_nd - 2);

  // [P, K] @ [K, N] with P = prod(batch_a) * M: one product when a's rows can
  // be merged (b has no batch dims), which is the x @ W of a layer.
  if (b_batch.empty() && !a_batch.empty()) {
    const Shape rows_shape{numel_of(a_batch) * M, K};
    if (auto rows_strides = view_strides(a.shape(), a.strides(), rows_shape)) {
      Shape out_shape = a_batch;
      out_shape.push_back(M);
      out_shape.push_back(N);
      Tensor<T> out = Tensor<T>::empty(out_shape, a.device());  // [batch..., M, N]
      backend::gemm<T>(a.device(), rows_shape[0], N, K, a.data(), (*rows_strides)[0], (*rows_strides)[1], b.data(),
                       b.strides()[b_nd - 2], b.strides()[b_nd - 1], out.data(), N);
      return out;
    }
  }

  // Broadcast the batch dims.
  const int n_batch = std::max(a_batch.size(), b_batch.size());
  Shape batch = Shape::filled(n_batch, 1);
  for (int i = 0; i < n_batch; ++i) {
    const int ia = a_batch.size() - n_batch + i, ib = b_batch.size() - n_batch + i;
    const int64_t sa = ia >= 0 ? a_batch[ia] : 1, sb = ib >= 0 ? b_batch[ib] : 1;
    check(sa == sb || sa == 1 || sb == 1, "matmul", "the batch dims of shapes ", shown.a, " and ", shown.b,
          " cannot be broadcast (", sa, " vs ", sb, ")");
    batch[i] = sa == 1 ? sb : sa;
  }
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor<T> out = Tensor<T>::empty(out_shape, a.device());  // [batch..., M, N]

  const Strides a_batch_strides = leading(a.strides(), a_nd - 2), b_batch_strides = leading(b.strides(), b_nd - 2);
  const std::vector<int64_t> a_off = cpu::batch_offsets(batch, broadcast_strides(a_batch, a_batch_strides, batch));
  const std::vector<int64_t> b_off = cpu::batch_offsets(batch, broadcast_strides(b_batch, b_batch_strides, batch));
  std::vector<int64_t> c_off(a_off.size());  // [count]
  for (std::size_t i = 0; i < c_off.size(); ++i) c_off[i] = static_cast<int64_t>(i) * M * N;
  backend::gemm_batched<T>(a.device(), static_cast<int64_t>(c_off.size()), M, N, K, a.data(), a_off,
                           a.strides()[a_nd - 2], a.strides()[a_nd - 1], b.data(), b_off, b.strides()[b_nd - 2],
                           b.strides()[b_nd - 1], out.data(), c_off, N);
  return out;
}

// matmul's promotion of 1-D operands: [K] -> [1, K] on the left, [K] -> [K, 1] on the right.
template <FloatingPoint T>
Tensor<T> promote_left(const Tensor<T>& a) {
  if (a.dim() != 1) return a;
  return alias(a, Shape{1, a.size(0)}, Strides{a.size(0) * a.stride(0), a.stride(0)}, a.storage_offset());
}
template <FloatingPoint T>
Tensor<T> promote_right(const Tensor<T>& b) {
  if (b.dim() != 1) return b;
  return alias(b, Shape{b.size(0), 1}, Strides{b.stride(0), 1}, b.storage_offset());
}

// The shape of matmul's result from the [batch..., M, N] product, dropping the promoted dims.
inline Shape result_shape(const Shape& product, bool a_was_1d, bool b_was_1d) {
  Shape out = product;
  if (b_was_1d) out.erase(out.size() - 1);
  if (a_was_1d) out.erase(out.size() - (b_was_1d ? 1 : 2));
  return out;
}

}  // namespace linalg_detail

template <FloatingPoint T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  check_defined("matmul", a, "first");
  check_defined("matmul", b, "second");
  check_same_device("matmul", a.device(), b.device());
  check(a.dim() >= 1 && b.dim() >= 1, "matmul", "both arguments need at least 1 dimension, got shapes ", a.shape(),
        " and ", b.shape());
  const bool a_1d = a.dim() == 1, b_1d = b.dim() == 1;
  const Tensor<T> product =
      linalg_detail::batched_product(linalg_detail::promote_left(a), linalg_detail::promote_right(b), {a.shape(), b.shape()});
  const Shape shape = linalg_detail::result_shape(product.shape(), a_1d, b_1d);
  Tensor<T> out = alias(product, shape, contiguous_strides(shape), 0);  // product is a fresh contiguous buffer

  if (autograd::needs_grad(a, b)) {
    autograd::record(
        "MatmulBackward", out, {a, b},
        [sa = autograd::SavedTensor<T>(a, "matmul"), sb = autograd::SavedTensor<T>(b, "matmul"), a_1d, b_1d,
         need_a = a.requires_grad(), need_b = b.requires_grad()](const Tensor<T>& g) {
          const Tensor<T> A = linalg_detail::promote_left(sa.get());   // [batch_a..., M, K]
          const Tensor<T> B = linalg_detail::promote_right(sb.get());  // [batch_b..., K, N]
          // dC with the promoted dims put back: [batch..., M, N].
          Tensor<T> G = g;
          if (b_1d) G = unsqueeze(G, G.dim());
          if (a_1d) G = unsqueeze(G, G.dim() - 1);
          Tensor<T> ga, gb;
          if (need_a) {  // dA = dC @ B^T, summed over the batch dims A was broadcast along
            ga = sum_to_shape(matmul(G, transpose(B, -1, -2)), A.shape());
            ga = reshape(ga, sa.get().shape());
          }
          if (need_b) {  // dB = A^T @ dC, summed likewise
            if (B.dim() == 2 && A.dim() > 2) {
              // B was shared by every batch element: sum_b A_b^T dC_b = A_rows^T @ dC_rows in one product.
              gb = matmul(transpose(linalg_detail::as_rows(A), 0, 1), linalg_detail::as_rows(G));
            } else {
              gb = sum_to_shape(matmul(transpose(A, -1, -2), G), B.shape());
            }
            gb = reshape(gb, sb.get().shape());
          }
          return std::vector<Tensor<T>>{ga, gb};
        });
  }
  return out;
}

// y = x @ weight^T + bias, for x [..., in], weight [out, in], bias [out]
// (optional) -> y [..., out]: one GEMM over all rows of x, the bias written
// into y first and the product accumulated onto it.
// Backward (X, dY as [rows, in] / [rows, out]): dX = dY @ W, dW = dY^T @ X, db = sum of dY's rows
// (dW and db in one product when both are needed: linalg_detail::weight_and_bias_grads).
template <FloatingPoint T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>()) {
  check_defined("linear", x, "input");
  check_defined("linear", weight, "weight");
  check_same_device("linear", x.device(), weight.device());
  check(weight.dim() == 2, "linear", "weight must be 2-D [out_features, in_features], got shape ", weight.shape());
  check(x.dim() >= 1, "linear", "the input must have at least 1 dimension, got shape ", x.shape());
  const int64_t in = weight.size(1), out_features = weight.size(0);
  check(x.size(-1) == in, "linear", "input of shape ", x.shape(), " does not match weight of shape ", weight.shape(),
        ": the input has ", x.size(-1), " features, the weight expects ", in);
  if (bias.defined()) {
    check_same_device("linear", x.device(), bias.device());
    check(bias.dim() == 1 && bias.size(0) == out_features, "linear", "bias of shape ", bias.shape(),
          " does not match weight of shape ", weight.shape(), ": expected [", out_features, "]");
  }

  const Tensor<T> X = linalg_detail::gemm_operand(linalg_detail::as_rows(x));  // [rows, in]
  const Tensor<T> W = linalg_detail::gemm_operand(weight);                      // [out, in]
  const int64_t rows = X.size(0);
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out_features;
  Tensor<T> out = Tensor<T>::empty(out_shape, x.device());  // [..., out] = [rows, out] contiguous
  backend::linear<T>(x.device(), rows, out_features, in, X.data(), X.stride(0), X.stride(1), W.data(), W.stride(0),
                     W.stride(1), bias.defined() ? bias.data() : nullptr, bias.defined() ? bias.stride(0) : 0,
                     out.data());

  if (autograd::needs_grad(x, weight, bias)) {
    autograd::record(
        "LinearBackward", out, {x, weight, bias},
        [sx = autograd::SavedTensor<T>(x, "linear"), sw = autograd::SavedTensor<T>(weight, "linear"),
         need_x = x.requires_grad(), need_w = weight.requires_grad(),
         need_b = bias.defined() && bias.requires_grad()](const Tensor<T>& g) {
          const Tensor<T> G = linalg_detail::as_rows(g);  // [rows, out]
          Tensor<T> gx, gw, gb;
          if (need_x) {
            const Tensor<T> dx = linalg_detail::mm(G, sw.get());  // [rows, in]
            gx = alias(dx, sx.get().shape(), contiguous_strides(sx.get().shape()), 0);
          }
          std::tie(gw, gb) = linalg_detail::linear_param_grads(G, linalg_detail::as_rows(sx.get()), need_w, need_b);
          return std::vector<Tensor<T>>{gx, gw, gb};
        });
  }
  return out;
}

// y = x @ W^T + bias with W^T packed once (cpu::PackedB of W^T: [in, out]), for inference
// (decoding with a KV cache, see nn/weight_packs.hpp): W is no tensor here, so no graph
// is recorded, and x must not need a gradient. The same values as linear(x, W, bias).
template <FloatingPoint T>
Tensor<T> linear(const Tensor<T>& x, const cpu::PackedB<T>& weight_t, const Tensor<T>& bias = Tensor<T>()) {
  check_defined("linear", x, "input");
  check_cpu("linear", x);
  check(!autograd::needs_grad(x, bias), "linear",
        "a packed weight is for inference: the input or the bias needs a gradient (use the weight tensor)");
  const int64_t in = weight_t.rows(), out_features = weight_t.cols();
  check(x.dim() >= 1 && x.size(-1) == in, "linear", "input of shape ", x.shape(), " does not match the packed weight [",
        out_features, ", ", in, "]: the input has ", x.dim() >= 1 ? x.size(-1) : 0, " features, the weight expects ",
        in);
  if (bias.defined()) {
    check_same_device("linear", x.device(), bias.device());
    check(bias.dim() == 1 && bias.size(0) == out_features, "linear", "bias of shape ", bias.shape(),
          " does not match the packed weight: expected [", out_features, "]");
  }
  const Tensor<T> X = linalg_detail::gemm_operand(linalg_detail::as_rows(x));  // [rows, in]
  const int64_t rows = X.size(0);
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out_features;
  Tensor<T> out = Tensor<T>::empty(out_shape, x.device());  // [..., out] = [rows, out] contiguous
  if (bias.defined()) {
    weight_t.multiply_with_bias(rows, X.data(), X.stride(0), X.stride(1), bias.data(), bias.stride(0), out.data(),
                                out_features, 1);
  } else {
    weight_t.multiply(rows, T(1), X.data(), X.stride(0), X.stride(1), out.data(), out_features, 1);
  }
  return out;
}

}  // namespace chord::ops

namespace chord {
using ops::linear;
using ops::matmul;
}  // namespace chord
