#pragma once
// Fused causal multi-head attention on strided [B, H, T, D] buffers, forward and
// backward, flash-attention style: the CUDA side of backend/cpu/attention.hpp,
// with the same masking and formulas. Nothing of size T x T is ever stored: the
// forward keeps the output and the per-row logsumexp, the backward recomputes
// the probabilities from them.
//
// Masking. Query i (of Tq) sits at absolute position Tk - Tq + i and sees the keys
// j with key_start[b] <= j <= Tk - Tq + i (key_start null: from 0). A query that
// sees no key outputs zeros (its logsumexp is -inf) and gets and passes zero
// gradient.
//
// Forward, one block per query row (b, h, i), keys in chunks of kChunk:
//   each warp scores some keys of the chunk (s_j = scale * q . k_j, lanes across D),
//   then the block updates the running max m, the running sum l of exp(s - m) and
//   the accumulator o = sum_j exp(s_j - m) v_j (each thread owns some of the D
//   dims), rescaling the old values by exp(m_old - m_new) (the online softmax).
//   At the end O = o / l and lse = m + log(l).
// Backward (P_ij = exp(s_ij - lse_i), dP_ij = dO_i . v_j, delta_i = dO_i . O_i,
// dS = P * (dP - delta)):
//   dq kernel, one block per query row: delta_i, then dQ_i = scale * sum_j dS_ij k_j;
//   dkv kernel, one block per key row:  dV_j = sum_i P_ij dO_i, dK_j = scale * sum_i dS_ij q_i,
//   over the queries that see key j. Each output row is summed by one block in a
//   fixed order: no atomics, the same bits every run.

#include <cstdint>

#include "chord/backend/cuda/runtime.hpp"

namespace chord::cuda {

// One [B, H, T, D] operand: element (b, h, t, d) is at data[b * batch_stride + h * head_stride +
// t * row_stride + d] (the last dim is contiguous). A null data pointer marks an unwanted output.
template <class T>
struct Heads {
  T* data = nullptr;
  int64_t batch_stride = 0, head_stride = 0, row_stride = 0;
};

struct AttentionShape {
  int64_t B = 0, H = 0, Tq = 0, Tk = 0, D = 0;
};

// q: [B, H, Tq, D]; k, v: [B, H, Tk, D] (Tk >= Tq); key_start: [B] on the device, or null.
// Writes out: [B, H, Tq, D] and lse: [B, H, Tq] contiguous.
template <class T>
void attention_forward(const Context& ctx, const AttentionShape& s, Heads<const T> q, Heads<const T> k,
                       Heads<const T> v, const int64_t* key_start, Heads<T> out, T* lse);

// The gradients of the forward's inputs from dout (the gradient of out), with q, k, v, out, lse
// and key_start as in (and from) the forward. Writes dq: [B, H, Tq, D], dk, dv: [B, H, Tk, D],
// each skipped when its data is null.
template <class T>
void attention_backward(const Context& ctx, const AttentionShape& s, Heads<const T> q, Heads<const T> k,
                        Heads<const T> v, Heads<const T> out, Heads<const T> dout, const T* lse,
                        const int64_t* key_start, Heads<T> dq, Heads<T> dk, Heads<T> dv);

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include <cmath>

#include "chord/backend/cuda/block_reduce.hpp"

namespace chord::cuda {

namespace attention_detail {

inline constexpr int kThreads = 128;  // 4 warps
inline constexpr int kChunk = 32;     // keys (forward, dq) or queries (dkv) per step
inline constexpr std::size_t kMaxSharedBytes = 48 * 1024;

template <class T>
__device__ const T* row_of(const Heads<const T>& x, int64_t b, int64_t h, int64_t t) {
  return x.data + b * x.batch_stride + h * x.head_stride + t * x.row_stride;
}
template <class T>
__device__ T* row_of(const Heads<T>& x, int64_t b, int64_t h, int64_t t) {
  return x.data + b * x.batch_stride + h * x.head_stride + t * x.row_stride;
}

// The dot product of a (in shared memory) and b (global), by one warp; every lane gets it.
template <class T>
__device__ T warp_dot(const T* a, const T* b, int64_t D, int lane) {
  T sum = 0;
  for (int64_t d = lane; d < D; d += device::kWarp) sum += a[d] * b[d];
  return device::warp_reduce(sum, device::SumOp{});
}

// One block per query row (grid: Tq, H, B). Shared: q [D], o [D], p [kChunk].
template <class T>
__global__ void forward_kernel(AttentionShape s, Heads<const T> q, Heads<const T> k, Heads<const T> v,
                               const int64_t* key_start, Heads<T> out, T* lse, T scale) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* qs = reinterpret_cast<T*>(shared_bytes);  // [D]
  T* acc = qs + s.D;                           // [D]: this row's sum_j exp(s_j - m) v_j
  T* p = acc + s.D;                            // [kChunk]: scores, then exp(score - m)
  const int64_t i = blockIdx.x, h = blockIdx.y, b = blockIdx.z, D = s.D;
  const int tid = threadIdx.x, lane = tid % device::kWarp, warp = tid / device::kWarp;
  const int warps = blockDim.x / device::kWarp;
  const int64_t j0 = key_start ? key_start[b] : 0, j1 = s.Tk - s.Tq + i + 1;  // visible keys [j0, j1)
  T* orow = row_of(out, b, h, i);
  T* l = lse + (b * s.H + h) * s.Tq + i;
  if (j1 <= j0) {  // sees no key (the same for the whole block)
    for (int64_t d = tid; d < D; d += blockDim.x) orow[d] = T(0);
    if (tid == 0) *l = device::neg_inf<T>();
    return;
  }
  const T* qrow = row_of(q, b, h, i);
  for (int64_t d = tid; d < D; d += blockDim.x) {
    qs[d] = qrow[d];
    acc[d] = T(0);
  }
  __syncthreads();
  T m = device::neg_inf<T>(), l_sum = T(0);  // the same in every thread
  for (int64_t c0 = j0; c0 < j1; c0 += kChunk) {
    const int n = static_cast<int>(j1 - c0 < kChunk ? j1 - c0 : kChunk);
    for (int c = warp; c < n; c += warps) {
      const T dot = warp_dot(qs, row_of(k, b, h, c0 + c), D, lane);
      if (lane == 0) p[c] = dot * scale;
    }
    __syncthreads();
    T chunk_max = device::neg_inf<T>();
    for (int c = 0; c < n; ++c) chunk_max = device::max_of(chunk_max, p[c]);
    const T m_new = device::max_of(m, chunk_max);
    const T alpha = std::exp(m - m_new);  // 0 on the first chunk (m = -inf)
    __syncthreads();                      // every thread has read the scores
    if (tid < n) p[tid] = std::exp(p[tid] - m_new);
    __syncthreads();
    T chunk_sum = T(0);
    for (int c = 0; c < n; ++c) chunk_sum += p[c];
    l_sum = l_sum * alpha + chunk_sum;
    for (int64_t d = tid; d < D; d += blockDim.x) {
      T a = acc[d] * alpha;
      for (int c = 0; c < n; ++c) a += p[c] * row_of(v, b, h, c0 + c)[d];
      acc[d] = a;
    }
    m = m_new;
    __syncthreads();  // p is rewritten by the next chunk
  }
  const T inv = T(1) / l_sum;
  for (int64_t d = tid; d < D; d += blockDim.x) orow[d] = acc[d] * inv;
  if (tid == 0) *l = m + std::log(l_sum);
}

// One block per query row (grid: Tq, H, B): delta_i = dO_i . O_i into delta [B, H, Tq], then
// (when dq is wanted) dQ_i = scale * sum_j dS_ij k_j. Shared: q [D], dO [D], dq [D], ds [kChunk].
template <class T>
__global__ void backward_dq_kernel(AttentionShape s, Heads<const T> q, Heads<const T> k, Heads<const T> v,
                                   Heads<const T> out, Heads<const T> dout, const T* lse, const int64_t* key_start,
                                   T* delta, Heads<T> dq, T scale) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* qs = reinterpret_cast<T*>(shared_bytes);  // [D]
  T* dos = qs + s.D;                           // [D]
  T* acc = dos + s.D;                          // [D]: sum_j dS_ij k_j
  T* ds = acc + s.D;                           // [kChunk]
  const int64_t i = blockIdx.x, h = blockIdx.y, b = blockIdx.z, D = s.D;
  const int tid = threadIdx.x, lane = tid % device::kWarp, warp = tid / device::kWarp;
  const int warps = blockDim.x / device::kWarp;
  const int64_t row = (b * s.H + h) * s.Tq + i;
  const T* qrow = row_of(q, b, h, i);
  const T* dorow = row_of(dout, b, h, i);
  const T* orow = row_of(out, b, h, i);
  T partial = T(0);
  for (int64_t d = tid; d < D; d += blockDim.x) {
    qs[d] = qrow[d];
    dos[d] = dorow[d];
    acc[d] = T(0);
    partial += dorow[d] * orow[d];
  }
  const T delta_i = device::block_sum(partial);  // (synchronizes: qs, dos are ready)
  if (tid == 0) delta[row] = delta_i;
  if (!dq.data) return;
  T* dqrow = row_of(dq, b, h, i);
  const int64_t j0 = key_start ? key_start[b] : 0, j1 = s.Tk - s.Tq + i + 1;
  const T lse_i = lse[row];
  for (int64_t c0 = j0; c0 < j1; c0 += kChunk) {
    const int n = static_cast<int>(j1 - c0 < kChunk ? j1 - c0 : kChunk);
    for (int c = warp; c < n; c += warps) {
      const T score = warp_dot(qs, row_of(k, b, h, c0 + c), D, lane) * scale;
      const T dp = warp_dot(dos, row_of(v, b, h, c0 + c), D, lane);
      if (lane == 0) {
        const T p = std::exp(score - lse_i);
        ds[c] = p * (dp - delta_i);
      }
    }
    __syncthreads();
    for (int64_t d = tid; d < D; d += blockDim.x) {
      T a = acc[d];
      for (int c = 0; c < n; ++c) a += ds[c] * row_of(k, b, h, c0 + c)[d];
      acc[d] = a;
    }
    __syncthreads();
  }
  for (int64_t d = tid; d < D; d += blockDim.x) dqrow[d] = acc[d] * scale;  // 0 for a row that sees no key
}

// One block per key row (grid: Tk, H, B): dV_j = sum_i P_ij dO_i and dK_j = scale * sum_i dS_ij q_i
// over the queries i that see key j. Shared: k [D], v [D], dk [D], dv [D], p [kChunk], ds [kChunk].
template <class T>
__global__ void backward_dkv_kernel(AttentionShape s, Heads<const T> q, Heads<const T> k, Heads<const T> v,
                                    Heads<const T> dout, const T* lse, const T* delta, const int64_t* key_start,
                                    Heads<T> dk, Heads<T> dv, T scale) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* ks = reinterpret_cast<T*>(shared_bytes);  // [D]
  T* vs = ks + s.D;                            // [D]
  T* dk_acc = vs + s.D;                        // [D]
  T* dv_acc = dk_acc + s.D;                    // [D]
  T* p = dv_acc + s.D;                         // [kChunk]
  T* ds = p + kChunk;                          // [kChunk]
  const int64_t j = blockIdx.x, h = blockIdx.y, b = blockIdx.z, D = s.D;
  const int tid = threadIdx.x, lane = tid % device::kWarp, warp = tid / device::kWarp;
  const int warps = blockDim.x / device::kWarp;
  const T* krow = row_of(k, b, h, j);
  const T* vrow = row_of(v, b, h, j);
  for (int64_t d = tid; d < D; d += blockDim.x) {
    ks[d] = krow[d];
    vs[d] = vrow[d];
    dk_acc[d] = T(0);
    dv_acc[d] = T(0);
  }
  __syncthreads();
  // Queries that see key j: i >= j - (Tk - Tq), and none when j is left padding.
  const int64_t first = j - (s.Tk - s.Tq);
  const int64_t i0 = (key_start && j < key_start[b]) ? s.Tq : (first > 0 ? first : 0);
  const int64_t base = (b * s.H + h) * s.Tq;
  for (int64_t c0 = i0; c0 < s.Tq; c0 += kChunk) {
    const int n = static_cast<int>(s.Tq - c0 < kChunk ? s.Tq - c0 : kChunk);
    for (int c = warp; c < n; c += warps) {
      const int64_t i = c0 + c;
      const T score = warp_dot(ks, row_of(q, b, h, i), D, lane) * scale;
      const T dp = warp_dot(vs, row_of(dout, b, h, i), D, lane);
      if (lane == 0) {
        const T pij = std::exp(score - lse[base + i]);
        p[c] = pij;
        ds[c] = pij * (dp - delta[base + i]);
      }
    }
    __syncthreads();
    for (int64_t d = tid; d < D; d += blockDim.x) {
      T a_k = dk_acc[d], a_v = dv_acc[d];
      for (int c = 0; c < n; ++c) {
        a_v += p[c] * row_of(dout, b, h, c0 + c)[d];
        a_k += ds[c] * row_of(q, b, h, c0 + c)[d];
      }
      dk_acc[d] = a_k;
      dv_acc[d] = a_v;
    }
    __syncthreads();
  }
  if (dk.data) {
    T* dkrow = row_of(dk, b, h, j);
    for (int64_t d = tid; d < D; d += blockDim.x) dkrow[d] = dk_acc[d] * scale;
  }
  if (dv.data) {
    T* dvrow = row_of(dv, b, h, j);
    for (int64_t d = tid; d < D; d += blockDim.x) dvrow[d] = dv_acc[d];
  }
}

inline dim3 grid_of(const Context& ctx, int64_t rows, const AttentionShape& s) {
  check(rows <= 0x7fffffff && s.H <= 65535 && s.B <= 65535, ctx.op, "attention sizes too large for one launch: B ",
        s.B, ", H ", s.H, ", T ", rows);
  return dim3(static_cast<unsigned>(rows), static_cast<unsigned>(s.H), static_cast<unsigned>(s.B));
}

inline std::size_t shared_bytes_for(const Context& ctx, int64_t vectors, int64_t scalars, int64_t D,
                                    std::size_t element) {
  const std::size_t bytes = static_cast<std::size_t>(vectors * D + scalars) * element;
  check(bytes <= kMaxSharedBytes, ctx.op, "head size ", D, " is too large for the CUDA attention kernels (",
        bytes, " bytes of shared memory per block; at most ", kMaxSharedBytes, ")");
  return bytes;
}

template <class T>
T scale_of(int64_t D) {
  return D > 0 ? T(1) / std::sqrt(static_cast<T>(D)) : T(1);
}

}  // namespace attention_detail

template <class T>
void attention_forward(const Context& ctx, const AttentionShape& s, Heads<const T> q, Heads<const T> k,
                       Heads<const T> v, const int64_t* key_start, Heads<T> out, T* lse) {
  using namespace attention_detail;
  if (s.B <= 0 || s.H <= 0 || s.Tq <= 0) return;
  cudaStream_t stream = stream_for(ctx);
  const std::size_t shared = shared_bytes_for(ctx, 2, kChunk, s.D, sizeof(T));
  forward_kernel<T><<<grid_of(ctx, s.Tq, s), kThreads, shared, stream>>>(s, q, k, v, key_start, out, lse,
                                                                          scale_of<T>(s.D));
  check_launch(ctx, stream, "attention forward_kernel");
}

template <class T>
void attention_backward(const Context& ctx, const AttentionShape& s, Heads<const T> q, Heads<const T> k,
                        Heads<const T> v, Heads<const T> out, Heads<const T> dout, const T* lse,
                        const int64_t* key_start, Heads<T> dq, Heads<T> dk, Heads<T> dv) {
  using namespace attention_detail;
  if (s.B <= 0 || s.H <= 0 || !(dq.data || dk.data || dv.data)) return;
  cudaStream_t stream = stream_for(ctx);
  const T scale = scale_of<T>(s.D);
  const std::size_t delta_bytes = static_cast<std::size_t>(s.B * s.H * s.Tq) * sizeof(T);
  T* delta = static_cast<T*>(allocate(delta_bytes, ctx.device));  // [B, H, Tq]
  if (s.Tq > 0) {
    const std::size_t shared = shared_bytes_for(ctx, 3, kChunk, s.D, sizeof(T));
    backward_dq_kernel<T><<<grid_of(ctx, s.Tq, s), kThreads, shared, stream>>>(s, q, k, v, out, dout, lse, key_start,
                                                                                delta, dq, scale);
    check_launch(ctx, stream, "attention backward_dq_kernel");
  }
  if ((dk.data || dv.data) && s.Tk > 0) {
    const std::size_t shared = shared_bytes_for(ctx, 4, 2 * kChunk, s.D, sizeof(T));
    backward_dkv_kernel<T><<<grid_of(ctx, s.Tk, s), kThreads, shared, stream>>>(s, q, k, v, dout, lse, delta,
                                                                                 key_start, dk, dv, scale);
    check_launch(ctx, stream, "attention backward_dkv_kernel");
  }
  deallocate(delta, delta_bytes, ctx.device);  // stream-ordered: safe to reuse after the kernels above
}

#define CHORD_CUDA_INSTANTIATE_ATTENTION(T)                                                                     \
  template void attention_forward<T>(const Context&, const AttentionShape&, Heads<const T>, Heads<const T>,     \
                                     Heads<const T>, const int64_t*, Heads<T>, T*);                            \
  template void attention_backward<T>(const Context&, const AttentionShape&, Heads<const T>, Heads<const T>,    \
                                      Heads<const T>, Heads<const T>, Heads<const T>, const T*, const int64_t*, \
                                      Heads<T>, Heads<T>, Heads<T>);
CHORD_CUDA_INSTANTIATE_ATTENTION(float)
CHORD_CUDA_INSTANTIATE_ATTENTION(double)
#undef CHORD_CUDA_INSTANTIATE_ATTENTION

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
