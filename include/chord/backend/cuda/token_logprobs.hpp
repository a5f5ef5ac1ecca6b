#pragma once
// Per-token log-probabilities and entropies of a temperature-scaled softmax on
// the GPU: the CUDA side of backend/cpu/token_logprobs.hpp, with the same
// formulas. For a row x of V logits and s = 1 / temperature, z = x * s:
//   m = max_v(x_v) * s,  log_sum = log sum_v exp(z_v - m),  log p_v = (z_v - m) - log_sum,
//   H = log_sum - sum_v e_v (z_v - m) / sum_v e_v   (e_v = exp(z_v - m); a -inf logit adds nothing)
// Backward: d lp / d x_v = s ([v == t] - p_v),  d H / d x_v = -s p_v (log p_v + H).
//
// One block per row. The sums run in a fixed order (block_reduce.hpp), but not
// the CPU's order, so the GPU's log-probs agree with the CPU's to rounding
// (about 1e-6 relative in float), not bit for bit.

#include <cstdint>

#include "chord/backend/cuda/runtime.hpp"

namespace chord::cuda {

// logits: [rows, V]; targets: [rows] or null (no log-probs); log_probs: [rows] or null;
// row_max, log_sum: [rows] (kept for backward); entropy: [rows] or null. All on the device.
template <class T>
void token_log_probs_forward_rows(const Context& ctx, const T* logits, const int64_t* targets, T* log_probs,
                                  T* row_max, T* log_sum, T* entropy, int64_t rows, int64_t V, T inv_temperature);

// gx = g_lp-term + g_h-term (a null g_lp or g_h leaves its term out; targets with g_lp, entropy with g_h).
// logits, gx: [rows, V]; targets, g_lp, row_max, log_sum, entropy, g_h: [rows].
template <class T>
void token_log_probs_backward_rows(const Context& ctx, const T* logits, const int64_t* targets, const T* g_lp,
                                   const T* row_max, const T* log_sum, const T* entropy, const T* g_h, T* gx,
                                   int64_t rows, int64_t V, T inv_temperature);

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include "chord/backend/cuda/block_reduce.hpp"

namespace chord::cuda {

namespace device {

// The statistics of log_softmax(x * s) of one row x [V], by one block (every thread gets them):
// m and log_sum as at the top of this file, and with `entropy` also H. The sampler's recorded
// log-probs (sampling.hpp) come from here too, so they round as the trainer's do.
template <class T>
struct RowLogSoftmax {
  T m, log_sum, entropy;
};
template <class T>
__device__ RowLogSoftmax<T> row_log_softmax(const T* x, int64_t V, T s, bool entropy) {
  T mx = neg_inf<T>();
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) mx = max_of(mx, x[v]);
  const T m = block_max(mx) * s;
  T sum = 0, weighted = 0;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
    const T d = x[v] * s - m;
    const T e = std::exp(d);
    sum += e;
    if (e != T(0)) weighted += e * d;  // skips 0 * -inf for a -inf logit
  }
  sum = block_sum(sum);
  const T ls = std::log(sum);
  return {m, ls, entropy ? ls - block_sum(weighted) / sum : T(0)};  // (entropy is the same in every thread)
}

}  // namespace device

namespace token_logprobs_detail {

template <class T>
__global__ void forward_kernel(const T* logits, const int64_t* targets, T* log_probs, T* row_max, T* log_sum,
                               T* entropy, int64_t V, T s) {
  const int64_t r = blockIdx.x;
  const T* x = logits + r * V;
  const device::RowLogSoftmax<T> stats = device::row_log_softmax(x, V, s, entropy != nullptr);
  if (threadIdx.x == 0) {
    row_max[r] = stats.m;
    log_sum[r] = stats.log_sum;
    if (entropy) entropy[r] = stats.entropy;
    if (targets && log_probs) log_probs[r] = (x[targets[r]] * s - stats.m) - stats.log_sum;
  }
}

template <class T>
__global__ void backward_kernel(const T* logits, const int64_t* targets, const T* g_lp, const T* row_max,
                                const T* log_sum, const T* entropy, const T* g_h, T* gx, int64_t V, T s) {
  const int64_t r = blockIdx.x;
  const T* x = logits + r * V;
  T* out = gx + r * V;
  const T m = row_max[r], ls = log_sum[r], h = entropy ? entropy[r] : T(0);
  const T a = g_lp ? g_lp[r] * s : T(0);
  const T b = g_h ? g_h[r] * s : T(0);
  const int64_t t = g_lp ? targets[r] : -1;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
    const T log_p = (x[v] * s - m) - ls;
    const T p = std::exp(log_p);
    T value = -a * p;
    if (g_h && p != T(0)) value -= b * p * (log_p + h);
    if (v == t) value += a;
    out[v] = value;
  }
}

}  // namespace token_logprobs_detail

template <class T>
void token_log_probs_forward_rows(const Context& ctx, const T* logits, const int64_t* targets, T* log_probs,
                                  T* row_max, T* log_sum, T* entropy, int64_t rows, int64_t V, T inv_temperature) {
  if (rows <= 0 || V <= 0) return;
  check(rows <= 0x7fffffff, ctx.op, "too many rows for one launch: ", rows);
  cudaStream_t stream = stream_for(ctx);
  token_logprobs_detail::forward_kernel<T><<<static_cast<unsigned>(rows), device::row_threads(V), 0, stream>>>(
      logits, targets, log_probs, row_max, log_sum, entropy, V, inv_temperature);
  check_launch(ctx, stream, "token_log_probs forward_kernel");
}

template <class T>
void token_log_probs_backward_rows(const Context& ctx, const T* logits, const int64_t* targets, const T* g_lp,
                                   const T* row_max, const T* log_sum, const T* entropy, const T* g_h, T* gx,
                                   int64_t rows, int64_t V, T inv_temperature) {
  if (rows <= 0 || V <= 0) return;
  check(rows <= 0x7fffffff, ctx.op, "too many rows for one launch: ", rows);
  cudaStream_t stream = stream_for(ctx);
  token_logprobs_detail::backward_kernel<T><<<static_cast<unsigned>(rows), device::row_threads(V), 0, stream>>>(
      logits, targets, g_lp, row_max, log_sum, entropy, g_h, gx, V, inv_temperature);
  check_launch(ctx, stream, "token_log_probs backward_kernel");
}

#define CHORD_CUDA_INSTANTIATE_TOKEN_LOGPROBS(T)                                                                 \
  template void token_log_probs_forward_rows<T>(const Context&, const T*, const int64_t*, T*, T*, T*, T*, int64_t, \
                                                int64_t, T);                                                     \
  template void token_log_probs_backward_rows<T>(const Context&, const T*, const int64_t*, const T*, const T*,    \
                                                 const T*, const T*, const T*, T*, int64_t, int64_t, T);
CHORD_CUDA_INSTANTIATE_TOKEN_LOGPROBS(float)
CHORD_CUDA_INSTANTIATE_TOKEN_LOGPROBS(double)
#undef CHORD_CUDA_INSTANTIATE_TOKEN_LOGPROBS

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
