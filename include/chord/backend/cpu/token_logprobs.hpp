#pragma once
// Row kernels for per-token log-probabilities and entropies of a temperature-
// scaled softmax, shared by the sampler (one logits row at a time, when it
// records lp_old) and by the trainer's op (ops/token_logprobs.hpp, every row of
// [rows, V]). Both go through log_softmax_row_stats and log_prob_at below, so
// for identical logits the sampler's log-prob and the trainer's are the same
// bits (docs/algorithms.md section 5: with identical weights rho must be 1).
//
// For a row x of V logits and s = 1 / temperature, with z = x * s:
//   m        = max_v z_v                          (= max_v(x_v) * s exactly: rounding is monotone for s > 0)
//   log_sum  = log sum_v exp(z_v - m)
//   log p_v  = (z_v - m) - log_sum                ((z - m) first: exact near the max, see softmax.hpp)
//   H        = -sum_v p_v log p_v = log_sum - sum_v e_v (z_v - m) / sum_v e_v,   e_v = exp(z_v - m)
//
// The sum over the row runs in index order on one thread, with no SIMD
// reduction: a vectorized reduction may peel a few elements to align the
// buffer, which makes the rounding depend on the row's address, and the
// sampler's row and the trainer's row live at different addresses. The exps
// are cpu::vector_exp in a loop that vectorizes (each element's bits do not
// depend on where it sits). These kernels are compiled for the baseline ISA
// only (no run_kernel): the sampler and the trainer then run the same code
// whatever flags a program is built with. Rows run in parallel, each on one
// thread, so results do not depend on the thread count.
//
// A row with a NaN gives NaN; a row of all -inf gives NaN (as log_softmax does);
// a -inf logit among finite ones has probability 0 and adds nothing to H.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cpu/softmax.hpp"
#include "chord/backend/cpu/vector_math.hpp"

namespace chord::cpu {

template <class T>
struct LogSoftmaxRowStats {
  T max;      // m = max_v z_v
  T log_sum;  // log sum_v exp(z_v - m)
  T entropy;  // H = -sum_v p_v log p_v
};

// The statistics of softmax(logits * inv_temperature) for one row of V logits (V >= 1).
// The exps of a block of the row are computed first (a loop that vectorizes), then
// summed in index order.
template <class T>
LogSoftmaxRowStats<T> log_softmax_row_stats(const T* logits, int64_t V, T inv_temperature) {
  constexpr int64_t kBlock = 256;
  const T m = row_max(logits, V) * inv_temperature;
  T sum = 0;       // sum_v e_v
  T weighted = 0;  // sum_v e_v (z_v - m)
  T d[kBlock], e[kBlock];
  for (int64_t v0 = 0; v0 < V; v0 += kBlock) {
    const int64_t len = std::min(kBlock, V - v0);
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) {
      d[i] = logits[v0 + i] * inv_temperature - m;
      e[i] = vector_exp(d[i]);
    }
    for (int64_t i = 0; i < len; ++i) {
      sum += e[i];
      if (e[i] != T(0)) weighted += e[i] * d[i];  // skips 0 * -inf for a -inf logit
    }
  }
  const T log_sum = std::log(sum);
  return {m, log_sum, log_sum - weighted / sum};
}

// The multiplier the kernels take for a temperature: the sampler and the op
// both convert through this, so the same temperature gives the same bits.
template <class T>
T inverse_temperature(double temperature) {
  return static_cast<T>(1.0 / temperature);
}

// log p of one logit of a row whose statistics are `stats`.
template <class T>
T log_prob_at(T logit, T inv_temperature, const LogSoftmaxRowStats<T>& stats) {
  return (logit * inv_temperature - stats.max) - stats.log_sum;
}

// out[v] = log_softmax(logits * inv_temperature)[v] for one row; logits, out: [V].
// Returns the row's statistics (its entropy included).
template <class T>
LogSoftmaxRowStats<T> log_softmax_row(const T* logits, T* out, int64_t V, T inv_temperature) {
  const LogSoftmaxRowStats<T> stats = log_softmax_row_stats(logits, V, inv_temperature);
  for (int64_t v = 0; v < V; ++v) out[v] = log_prob_at(logits[v], inv_temperature, stats);
  return stats;
}

// log p[target] of one row of V logits at the given inverse temperature (the caller checks 0 <= target < V).
template <class T>
T token_log_prob_row(const T* logits, int64_t V, int64_t target, T inv_temperature) {
  return log_prob_at(logits[target], inv_temperature, log_softmax_row_stats(logits, V, inv_temperature));
}

// Forward over rows. logits: [rows, V]; targets: [rows] or null (no log-probs);
// log_probs: [rows] or null; row_max, log_sum: [rows] (kept for backward);
// entropy: [rows] or null.
template <class T>
void token_log_probs_forward_rows(const T* logits, const int64_t* targets, T* log_probs, T* row_max_out, T* log_sum,
                                  T* entropy, int64_t rows, int64_t V, T inv_temperature) {
  parallel_for(rows, 3 * V, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* x = logits + r * V;
      const LogSoftmaxRowStats<T> stats = log_softmax_row_stats(x, V, inv_temperature);
      row_max_out[r] = stats.max;
      log_sum[r] = stats.log_sum;
      if (entropy) entropy[r] = stats.entropy;
      if (targets && log_probs) log_probs[r] = log_prob_at(x[targets[r]], inv_temperature, stats);
    }
  });
}

// Backward over rows, for the gradient of the log-probs (g_lp), of the
// entropies (g_h), or both (a null pointer leaves that term out):
//   d lp / d x_v = s * ([v == t] - p_v)
//   d H  / d x_v = -s * p_v * (log p_v + H)
// The second, from H = -sum_u p_u log p_u and d p_u / d z_v = p_u ([u == v] - p_v):
//   d H / d z_v = -sum_u p_u ([u == v] - p_v) (log p_u + 1)
//               = -p_v (log p_v + 1) + p_v sum_u p_u (log p_u + 1)
//               = -p_v (log p_v + 1) + p_v (1 - H)  =  -p_v (log p_v + H),
// times d z_v / d x_v = s. A p_v of 0 contributes 0 (not 0 * -inf).
// logits, gx: [rows, V]; targets, g_lp, row_max, log_sum, entropy, g_h: [rows].
template <class T>
void token_log_probs_backward_rows(const T* logits, const int64_t* targets, const T* g_lp, const T* row_max_in,
                                   const T* log_sum, const T* entropy, const T* g_h, T* gx, int64_t rows, int64_t V,
                                   T inv_temperature) {
  parallel_for(rows, 3 * V, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* x = logits + r * V;
      T* out = gx + r * V;
      const LogSoftmaxRowStats<T> stats{row_max_in[r], log_sum[r], entropy ? entropy[r] : T(0)};
      const T a = g_lp ? g_lp[r] * inv_temperature : T(0);
      const T b = g_h ? g_h[r] * inv_temperature : T(0);
      for (int64_t v = 0; v < V; ++v) {
        const T log_p = log_prob_at(x[v], inv_temperature, stats);
        const T p = vector_exp(log_p);
        T value = -a * p;
        if (g_h && p != T(0)) value -= b * p * (log_p + stats.entropy);
        out[v] = value;
      }
      if (g_lp) out[targets[r]] += a;
    }
  });
}

}  // namespace chord::cpu
