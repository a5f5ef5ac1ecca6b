#pragma once
// causal_attention: fused scaled dot-product attention with a causal mask,
//   softmax(q k^T / sqrt(D) + mask) v,
// for q [B, H, Tq, D] and k, v [B, H, Tk, D] with Tk >= Tq. Query i sits at
// absolute position Tk - Tq + i and sees the keys j <= that position: Tq == Tk
// is the usual causal mask, Tq == 1 one decoding step against a KV cache.
// key_start (optional, int64 [B]): keys j < key_start[b] of batch row b are
// padding (left-padded prompts) and masked out. A query that sees no key
// outputs zeros and gets and passes zero gradient.
//
//   y = causal_attention(q, k, v);                       // [B, H, Tq, D]
//   y.transpose(1, 2).reshape({B, Tq, H * D});           // a view: no copy
//
// The result's memory is a contiguous [B, Tq, H, D] buffer (y is its
// transpose(1, 2) view), so merging the heads back is free.
//
// Inputs are read in place through their strides when their last dim is
// contiguous: q, k, v as views of a fused [B, T, 3, H, D] projection, or k, v as
// narrow()ed views of a preallocated [B, H, Tmax, D] KV cache. Other layouts
// are copied once.
//
// Autograd saves q, k, v, the output and the per-row logsumexp [B, H, Tq];
// no [Tq, Tk] tensor is kept. The backward recomputes the probabilities block
// by block (formulas in backend/cpu/attention.hpp):
//   dP = dO V^T,  dS = P * (dP - rowsum(dO * O)),
//   dQ = dS K * scale,  dK = dS^T Q * scale,  dV = P^T dO,  scale = 1 / sqrt(D).

#include <cstdint>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/cpu/attention.hpp"
#include "chord/backend/cuda/attention.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/view.hpp"

namespace chord::ops {

namespace attention_detail {

// x itself when its last dim is contiguous (the kernels read it in place),
// else a dense copy (no autograd).
template <FloatingPoint T>
Tensor<T> heads_operand(const Tensor<T>& x) {
  return x.size(3) <= 1 || x.stride(3) == 1 ? x : copy_contiguous(x);
}

// The kernels' view of a [B, H, T, D] tensor whose last dim is contiguous.
template <class P, FloatingPoint T>
cpu::HeadsView<P> heads_view(const Tensor<T>& x) {
  return {x.data(), x.stride(0), x.stride(1), x.stride(2)};
}
// The same for the CUDA kernels (an undefined tensor: an output that is not wanted).
template <class P, FloatingPoint T>
cuda::Heads<P> cuda_heads(const Tensor<T>& x) {
  if (!x.defined()) return {};
  return {x.data(), x.stride(0), x.stride(1), x.stride(2)};
}

// key_start's values on a GPU. The last upload per thread is kept and reused when the values
// and the device match: a KV cache's key_start stays the same for a whole generation, and
// every layer of every decoding step asks for it (each upload from pageable host memory
// waits for the device).
inline Tensor<int64_t> device_key_start(const std::vector<int64_t>& starts, Device device) {
  thread_local std::vector<int64_t> last_values;
  thread_local Tensor<int64_t> last_tensor;  // [B] on last_tensor.device()
  if (!last_tensor.defined() || last_tensor.device() != device || last_values != starts) {
    last_tensor = Tensor<int64_t>::from_vector(starts).to(device);
    last_values = starts;
  }
  return last_tensor;
}

// A new [B, H, T, D] tensor laid out in memory as a contiguous [B, T, H, D] buffer.
template <FloatingPoint T>
Tensor<T> empty_heads_major(int64_t B, int64_t H, int64_t length, int64_t D, Device device) {
  const Tensor<T> buffer = Tensor<T>::empty(Shape{B, length, H, D}, device);  // [B, length, H, D]
  return alias(buffer, Shape{B, H, length, D}, Strides{length * H * D, D, H * D, 1}, 0);
}

}  // namespace attention_detail

template <FloatingPoint T>
Tensor<T> causal_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                           const Tensor<int64_t>& key_start = Tensor<int64_t>()) {
  const char* op = "causal_attention";
  check_defined(op, q, "q");
  check_defined(op, k, "k");
  check_defined(op, v, "v");
  check(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, op, "q, k and v must be 4-D [B, H, T, D], got q ", q.shape(),
        ", k ", k.shape(), ", v ", v.shape());
  check_same_device(op, q.device(), k.device());
  check_same_device(op, q.device(), v.device());
  const int64_t B = q.size(0), H = q.size(1), Tq = q.size(2), D = q.size(3), Tk = k.size(2);
  check(k.shape() == v.shape(), op, "k and v must have the same shape, got k ", k.shape(), " and v ", v.shape());
  check(k.size(0) == B && k.size(1) == H && k.size(3) == D, op, "q ", q.shape(), " and k ", k.shape(),
        " must agree in batch, heads and head size ([B, H, T, D])");
  check(Tk >= Tq, op, "needs at least as many keys as queries (Tk >= Tq), got q ", q.shape(), " and k ", k.shape());
  std::vector<int64_t> starts;  // [B], a copy: the backward must not see later changes
  if (key_start.defined()) {  // on the cpu or on q's device
    check(key_start.dim() == 1 && key_start.size(0) == B, op, "key_start must have shape [", B, "] (one per batch row of q ",
          q.shape(), "), got ", key_start.shape());
    starts = key_start.to_vector();
    for (int64_t b = 0; b < B; ++b)
      check(starts[b] >= 0 && starts[b] <= Tk, op, "key_start[", b, "] = ", starts[b], " is outside [0, ", Tk,
            "] (k ", k.shape(), ")");
  }

  const Tensor<T> qd = attention_detail::heads_operand(q);  // [B, H, Tq, D], last dim contiguous
  const Tensor<T> kd = attention_detail::heads_operand(k);  // [B, H, Tk, D]
  const Tensor<T> vd = attention_detail::heads_operand(v);  // [B, H, Tk, D]
  Tensor<T> y = attention_detail::empty_heads_major<T>(B, H, Tq, D, q.device());  // [B, H, Tq, D] as [B, Tq, H, D]
  Tensor<T> lse = Tensor<T>::empty(Shape{B, H, Tq}, q.device());                   // [B, H, Tq]
  const cpu::AttentionSizes sizes{B, H, Tq, Tk, D};
  const int64_t* ks = starts.empty() ? nullptr : starts.data();
  using attention_detail::cuda_heads;
  using attention_detail::heads_view;
  const Device device = q.device();
  // device_starts [B]: key_start on a GPU, for its kernels (undefined on the cpu or without key_start)
  const Tensor<int64_t> device_starts =
      device.is_cuda() && !starts.empty() ? attention_detail::device_key_start(starts, device) : Tensor<int64_t>();
  const cuda::AttentionShape shape{B, H, Tq, Tk, D};
  if (device.is_cuda()) {
    if constexpr (built_with_cuda())
      cuda::attention_forward<T>(cuda::Context{device.index, op}, shape, cuda_heads<const T>(qd), cuda_heads<const T>(kd),
                                 cuda_heads<const T>(vd), device_starts.defined() ? device_starts.data() : nullptr,
                                 cuda_heads<T>(y), lse.data());
  } else {
    cpu::attention_forward<T>(sizes, heads_view<const T>(qd), heads_view<const T>(kd), heads_view<const T>(vd), ks,
                              heads_view<T>(y), lse.data());
  }

  if (autograd::needs_grad(q, k, v))
    autograd::record(
        "CausalAttentionBackward", y, {q, k, v},
        [sq = autograd::SavedTensor<T>(qd, op), sk = autograd::SavedTensor<T>(kd, op),
         sv = autograd::SavedTensor<T>(vd, op), sy = autograd::SavedTensor<T>(y, op), lse, starts = std::move(starts),
         device_starts, sizes, shape, need_q = q.requires_grad(), need_k = k.requires_grad(),
         need_v = v.requires_grad()](const Tensor<T>& g) {
          using attention_detail::empty_heads_major;
          const Tensor<T>&qs = sq.get(), &kv = sk.get(), &vs = sv.get(), &ys = sy.get();
          const Tensor<T> go = attention_detail::heads_operand(g);  // [B, H, Tq, D], the gradient of y
          const cpu::AttentionSizes& n = sizes;
          Tensor<T> dq, dk, dv;  // [B, H, Tq|Tk, D], laid out as [B, Tq|Tk, H, D] like the output
          if (need_q) dq = empty_heads_major<T>(n.B, n.H, n.Tq, n.D, qs.device());
          if (need_k) dk = empty_heads_major<T>(n.B, n.H, n.Tk, n.D, qs.device());
          if (need_v) dv = empty_heads_major<T>(n.B, n.H, n.Tk, n.D, qs.device());
          if (qs.device().is_cuda()) {
            if constexpr (built_with_cuda())
              cuda::attention_backward<T>(
                  {qs.device().index, "causal_attention"}, shape, cuda_heads<const T>(qs), cuda_heads<const T>(kv),
                  cuda_heads<const T>(vs), cuda_heads<const T>(ys), cuda_heads<const T>(go), lse.data(),
                  device_starts.defined() ? device_starts.data() : nullptr, cuda_heads<T>(dq), cuda_heads<T>(dk),
                  cuda_heads<T>(dv));
            return std::vector<Tensor<T>>{dq, dk, dv};
          }
          auto out_view = [](const Tensor<T>& t) { return t.defined() ? heads_view<T>(t) : cpu::HeadsView<T>{}; };
          cpu::attention_backward<T>(sizes, heads_view<const T>(qs), heads_view<const T>(kv), heads_view<const T>(vs),
                                     heads_view<const T>(ys), heads_view<const T>(go), lse.data(),
                                     starts.empty() ? nullptr : starts.data(), out_view(dq), out_view(dk),
                                     out_view(dv));
          return std::vector<Tensor<T>>{dq, dk, dv};
        });
  return y;
}

}  // namespace chord::ops

namespace chord {
using ops::causal_attention;
}  // namespace chord
