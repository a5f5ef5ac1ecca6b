#pragma once
// Dispatch: fused causal attention, forward and backward (ops/attention.hpp; formulas in
// backend/cpu/attention.hpp).
//
// q: [B, H, Tq, D]; k, v: [B, H, Tk, D] (Tk >= Tq), each a Heads view (last dim contiguous);
// key_start: [B] on `device`, or null (no padding). The forward writes y: [B, H, Tq, D] and
// lse: [B, H, Tq] (contiguous); the backward writes the wanted ones of dq, dk, dv (a null
// data pointer: not wanted).

#include <cstdint>

#include "chord/backend/cpu/attention.hpp"
#include "chord/backend/cuda/attention.hpp"
#include "chord/backend/dispatch/common.hpp"
#include "chord/core/dtype.hpp"

namespace chord::backend {

using AttentionSizes = cpu::AttentionSizes;  // B, H, Tq, Tk, D

// A [B, H, T, D] tensor whose last dim is contiguous: element (b, h, t, d) at
// data[b * batch_stride + h * head_stride + t * row_stride + d].
template <class P>
struct Heads {
  P* data = nullptr;
  int64_t batch_stride = 0, head_stride = 0, row_stride = 0;
};

namespace attention_detail {
template <class P>
cpu::HeadsView<P> cpu_heads(Heads<P> x) {
  return {x.data, x.batch_stride, x.head_stride, x.row_stride};
}
template <class P>
cuda::Heads<P> cuda_heads(Heads<P> x) {
  return {x.data, x.batch_stride, x.head_stride, x.row_stride};
}
inline cuda::AttentionShape cuda_shape(const AttentionSizes& s) { return {s.B, s.H, s.Tq, s.Tk, s.D}; }
}  // namespace attention_detail

template <FloatingPoint T>
void attention_forward(Device device, const char* op, const AttentionSizes& s, Heads<const T> q, Heads<const T> k,
                       Heads<const T> v, const int64_t* key_start, Heads<T> y, T* lse) {
  using namespace attention_detail;
  switch (device.type) {
    case DeviceType::CPU:
      return cpu::attention_forward<T>(s, cpu_heads(q), cpu_heads(k), cpu_heads(v), key_start, cpu_heads(y), lse);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::attention_forward<T>(cuda::Context{device.index, op}, cuda_shape(s), cuda_heads(q), cuda_heads(k),
                                          cuda_heads(v), key_start, cuda_heads(y), lse);
      else fail_without_cuda(op, device);
  }
}

template <FloatingPoint T>
void attention_backward(Device device, const char* op, const AttentionSizes& s, Heads<const T> q, Heads<const T> k,
                        Heads<const T> v, Heads<const T> y, Heads<const T> dy, const T* lse, const int64_t* key_start,
                        Heads<T> dq, Heads<T> dk, Heads<T> dv) {
  using namespace attention_detail;
  switch (device.type) {
    case DeviceType::CPU:
      return cpu::attention_backward<T>(s, cpu_heads(q), cpu_heads(k), cpu_heads(v), cpu_heads(y), cpu_heads(dy), lse,
                                        key_start, cpu_heads(dq), cpu_heads(dk), cpu_heads(dv));
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::attention_backward<T>(cuda::Context{device.index, op}, cuda_shape(s), cuda_heads(q),
                                           cuda_heads(k), cuda_heads(v), cuda_heads(y), cuda_heads(dy), lse, key_start,
                                           cuda_heads(dq), cuda_heads(dk), cuda_heads(dv));
      else fail_without_cuda(op, device);
  }
}

}  // namespace chord::backend
