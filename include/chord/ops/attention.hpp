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
//
// causal_self_attention(qkv, n_head): the same from a fused [B, T, 3 * C] projection to the
// merged heads [B, T, C], with one [B, T, 3 * C] gradient (the model's training path).

#include <cstdint>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/dispatch/attention.hpp"
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

// The kernels' view of a [B, H, T, D] tensor whose last dim is contiguous (an undefined
// tensor: an output that is not wanted).
template <class P, FloatingPoint T>
backend::Heads<P> heads_of(const Tensor<T>& x) {
  if (!x.defined()) return {};
  return {x.data(), x.stride(0), x.stride(1), x.stride(2)};
}

// key_start's values on `device` (the kernels read them there). The last one per thread is
// kept and reused when the values and the device match: a KV cache's key_start stays the same
// for a whole generation, and every layer of every decoding step asks for it (each upload from
// pageable host memory to a GPU waits for the device).
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

// Checks the [B] key_start against q [B, ...] and k [B, H, Tk, D], and returns a copy of its
// values (empty when undefined): the backward must not see later changes.
inline std::vector<int64_t> checked_key_start(const char* op, const Tensor<int64_t>& key_start, const Shape& q_shape,
                                              const Shape& k_shape) {
  std::vector<int64_t> starts;
  if (!key_start.defined()) return starts;  // else on the cpu or on q's device
  const int64_t B = q_shape[0], Tk = k_shape[2];
  check(key_start.dim() == 1 && key_start.size(0) == B, op, "key_start must have shape [", B,
        "] (one per batch row of q ", q_shape, "), got ", key_start.shape());
  starts = key_start.to_vector();
  for (int64_t b = 0; b < B; ++b)
    check(starts[b] >= 0 && starts[b] <= Tk, op, "key_start[", b, "] = ", starts[b], " is outside [0, ", Tk,
          "] (k ", k_shape, ")");
  return starts;
}

// What one attention call needs beyond its tensors: the sizes and key_start (host values,
// for the checks and the backward, and a copy on the device, which the kernels read).
struct AttentionCall {
  backend::AttentionSizes sizes;
  std::vector<int64_t> starts;    // [B] or empty
  Tensor<int64_t> device_starts;  // [B] on the tensors' device, or undefined
  const int64_t* key_start() const { return device_starts.defined() ? device_starts.data() : nullptr; }
};

inline AttentionCall make_call(const backend::AttentionSizes& sizes, std::vector<int64_t> starts, Device device) {
  AttentionCall call{sizes, std::move(starts), {}};
  if (!call.starts.empty()) call.device_starts = device_key_start(call.starts, device);
  return call;
}

// The forward kernels: y [B, H, Tq, D] and lse [B, H, Tq] from q, k, v (last dims contiguous).
template <FloatingPoint T>
void run_forward(const char* op, const AttentionCall& call, const Tensor<T>& q, const Tensor<T>& k,
                 const Tensor<T>& v, const Tensor<T>& y, const Tensor<T>& lse) {
  backend::attention_forward<T>(q.device(), op, call.sizes, heads_of<const T>(q), heads_of<const T>(k),
                                heads_of<const T>(v), call.key_start(), heads_of<T>(y), lse.data());
}

// The backward kernels: the wanted ones of dq [B, H, Tq, D], dk, dv [B, H, Tk, D] (undefined:
// not wanted; any strides with a contiguous last dim, not overlapping), every element written.
template <FloatingPoint T>
void run_backward(const char* op, const AttentionCall& call, const Tensor<T>& q, const Tensor<T>& k,
                  const Tensor<T>& v, const Tensor<T>& y, const Tensor<T>& lse, const Tensor<T>& dy,
                  const Tensor<T>& dq, const Tensor<T>& dk, const Tensor<T>& dv) {
  backend::attention_backward<T>(q.device(), op, call.sizes, heads_of<const T>(q), heads_of<const T>(k),
                                 heads_of<const T>(v), heads_of<const T>(y), heads_of<const T>(dy), lse.data(),
                                 call.key_start(), heads_of<T>(dq), heads_of<T>(dk), heads_of<T>(dv));
}

// The [B, H, T, D] head views of a fused projection qkv laid out as [B, T, 3, H, D]:
// part 0 is q, 1 is k, 2 is v. No copy.
template <FloatingPoint T>
Tensor<T> qkv_part(const Tensor<T>& qkv, int64_t B, int64_t T_len, int64_t H, int64_t D, int64_t part) {
  const int64_t C = H * D;
  return alias(qkv, Shape{B, H, T_len, D}, Strides{T_len * 3 * C, D, 3 * C, 1}, qkv.storage_offset() + part * C);
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
  using namespace attention_detail;
  const AttentionCall call =
      make_call({B, H, Tq, Tk, D}, checked_key_start(op, key_start, q.shape(), k.shape()), q.device());

  const Tensor<T> qd = heads_operand(q);  // [B, H, Tq, D], last dim contiguous
  const Tensor<T> kd = heads_operand(k);  // [B, H, Tk, D]
  const Tensor<T> vd = heads_operand(v);  // [B, H, Tk, D]
  Tensor<T> y = empty_heads_major<T>(B, H, Tq, D, q.device());      // [B, H, Tq, D] as [B, Tq, H, D]
  Tensor<T> lse = Tensor<T>::empty(Shape{B, H, Tq}, q.device());    // [B, H, Tq]
  run_forward(op, call, qd, kd, vd, y, lse);

  if (autograd::needs_grad(q, k, v))
    autograd::record(
        "CausalAttentionBackward", y, {q, k, v},
        [sq = autograd::SavedTensor<T>(qd, op), sk = autograd::SavedTensor<T>(kd, op),
         sv = autograd::SavedTensor<T>(vd, op), sy = autograd::SavedTensor<T>(y, op), lse, call,
         need_q = q.requires_grad(), need_k = k.requires_grad(), need_v = v.requires_grad()](const Tensor<T>& g) {
          const backend::AttentionSizes& n = call.sizes;
          const Device device = sq.get().device();
          Tensor<T> dq, dk, dv;  // [B, H, Tq|Tk, D], laid out as [B, Tq|Tk, H, D] like the output
          if (need_q) dq = empty_heads_major<T>(n.B, n.H, n.Tq, n.D, device);
          if (need_k) dk = empty_heads_major<T>(n.B, n.H, n.Tk, n.D, device);
          if (need_v) dv = empty_heads_major<T>(n.B, n.H, n.Tk, n.D, device);
          run_backward("causal_attention", call, sq.get(), sk.get(), sv.get(), sy.get(), lse, heads_operand(g), dq,
                       dk, dv);
          return std::vector<Tensor<T>>{dq, dk, dv};
        });
  return y;
}

// Causal self-attention straight from a fused projection:
//   qkv [B, T, 3 * C] (C = n_head * D; along the last dim q, then k, then v, each [n_head, D])
//   -> y [B, T, C], the heads merged: causal_attention(q, k, v) transposed to [B, T, H, D].
// The same values as splitting qkv into q, k, v views and calling causal_attention, but
// its backward writes dq, dk and dv straight into one [B, T, 3 * C] gradient of qkv, where
// the split would build three zero-filled [B, T, 3 * C] gradients and add them up.
template <FloatingPoint T>
Tensor<T> causal_self_attention(const Tensor<T>& qkv, int64_t n_head) {
  const char* op = "causal_self_attention";
  check_defined(op, qkv, "qkv");
  check(n_head > 0, op, "n_head must be positive, got ", n_head);
  check(qkv.dim() == 3 && qkv.size(2) % (3 * n_head) == 0, op, "expected qkv [B, T, 3 * n_head * D] with n_head ",
        n_head, ", got ", qkv.shape());
  using namespace attention_detail;
  const int64_t B = qkv.size(0), Tn = qkv.size(1), H = n_head, D = qkv.size(2) / (3 * n_head), C = H * D;
  const Tensor<T> x = qkv.is_contiguous() ? qkv : copy_contiguous(qkv);  // [B, T, 3, H, D]
  const AttentionCall call = make_call({B, H, Tn, Tn, D}, {}, x.device());
  const Tensor<T> buffer = Tensor<T>::empty(Shape{B, Tn, C}, x.device());  // y as [B, T, H, D]
  const Tensor<T> y = alias(buffer, Shape{B, H, Tn, D}, Strides{Tn * C, D, C, 1}, 0);  // [B, H, T, D] view
  const Tensor<T> lse = Tensor<T>::empty(Shape{B, H, Tn}, x.device());                // [B, H, T]
  run_forward(op, call, qkv_part(x, B, Tn, H, D, 0), qkv_part(x, B, Tn, H, D, 1), qkv_part(x, B, Tn, H, D, 2), y,
              lse);

  if (autograd::needs_grad(qkv))
    autograd::record("CausalSelfAttentionBackward", buffer, {qkv},
                     [sx = autograd::SavedTensor<T>(x, op), sy = autograd::SavedTensor<T>(y, op), lse,
                      call](const Tensor<T>& g) {  // g: [B, T, C]
                       const Tensor<T>& xs = sx.get();
                       const backend::AttentionSizes& n = call.sizes;
                       const int64_t C = n.H * n.D;
                       const Tensor<T> gc = g.is_contiguous() ? g : copy_contiguous(g);
                       const Tensor<T> dy = alias(gc, Shape{n.B, n.H, n.Tq, n.D}, Strides{n.Tq * C, n.D, C, 1},
                                                  gc.storage_offset());
                       Tensor<T> dqkv = Tensor<T>::empty(Shape{n.B, n.Tq, 3 * C}, xs.device());  // [B, T, 3, H, D]
                       auto part = [&](const Tensor<T>& t, int64_t i) { return qkv_part(t, n.B, n.Tq, n.H, n.D, i); };
                       run_backward("causal_self_attention", call, part(xs, 0), part(xs, 1), part(xs, 2), sy.get(),
                                    lse, dy, part(dqkv, 0), part(dqkv, 1), part(dqkv, 2));
                       return std::vector<Tensor<T>>{dqkv};
                     });
  return buffer;
}

}  // namespace chord::ops

namespace chord {
using ops::causal_attention;
using ops::causal_self_attention;
}  // namespace chord
