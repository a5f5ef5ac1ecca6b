#pragma once
// The draws of sample/generate.hpp on the GPU: the filters and the categorical draw of
// sample/filters.hpp (repetition penalty, temperature, top-k, top-p, min-p), and the log-prob
// the generator records, for a batch of logits rows in one launch. The logits never leave the
// device; per step the host gets back one token, one status and one log-prob per row.
//
// One block per row (row_threads(V) threads), nothing sorted. Where filters.hpp sorts, this
// file selects: radix selection on the logits' bits (most significant byte first, 256-bucket
// histograms in shared memory) finds the value at which top-k's count or top-p's mass is
// reached, and an ordered scan over the ids settles the ties at that value by ascending id,
// as filters.hpp's order (descending z, then ascending id) does. So the kept set is the CPU's
// kept set (up to the rounding of the masses), and the draw picks, in ascending id order, the
// first kept token whose cumulative weight passes u * total.
//
// Masses are fixed-point integers: weight_v = round(exp(z_v - max z) * 2^40). Integer sums do
// not depend on the order of the atomics, so a seed gives the same tokens on every run. A token
// whose weight rounds to 0 (probability under about 1e-12 of the most likely one's) is never
// drawn, where filters.hpp would draw it with that probability.
//
// The recorded log-prob is filters.hpp's and token_logprobs.hpp's: lp = log_softmax(x * s)[token]
// over the unpenalised row, s = 1 / temperature (1 when greedy), computed by the trainer's GPU
// kernel's own row function (device::row_log_softmax).

#include <cstdint>

#include "chord/backend/cuda/runtime.hpp"

namespace chord::cuda {

// One batch of draws' options (sample::FilterOptions, resolved to the element type).
template <class T>
struct DeviceFilter {
  bool greedy = false;        // argmax of the penalised row (lowest id on ties)
  T inv_temperature = 1;      // z = penalised x * inv_temperature
  T repetition_penalty = 1;   // applied to the ids `seen` marks
  int64_t top_k = 0;          // 0 is off
  double top_p = 1.0;         // 1 is off
  double min_p = 0.0;         // 0 is off
  T lp_inv_temperature = 1;   // s of the recorded lp (1 when greedy)
};

// The status of one row's draw.
enum SampleStatus : int64_t {
  kSampleOk = 0,
  kSampleNonFinite = 1,  // a NaN or +inf in the (penalised, scaled) row
  kSampleAllNegInf = 2,  // every logit of the row is -inf
};

// logits: [logit_rows, V] on the device; slot i draws from row i / rows_per_logit.
// slot_rows: [batch]: the generation row r that slot i holds, or -1 to skip the slot.
// uniforms: [rows, L] (null when greedy): row r's draw at `step` uses uniforms[r * L + step].
// seen: [rows, V] or null (no penalty): the ids of row r's context; the drawn id is added.
// tokens, status: [batch]; log_probs: [batch]. A skipped slot gets token -1, status 0, lp 0.
template <class T>
void sample_rows(const Context& ctx, const T* logits, int64_t rows_per_logit, const int64_t* slot_rows,
                 const double* uniforms, int64_t L, int64_t step, bool* seen, int64_t batch, int64_t V,
                 const DeviceFilter<T>& filter, int64_t* tokens, int64_t* status, T* log_probs);

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include <cuda/std/limits>

#include "chord/backend/cuda/block_reduce.hpp"
#include "chord/backend/cuda/token_logprobs.hpp"

namespace chord::cuda {

namespace sampling_detail {

using Mass = unsigned long long;  // fixed-point weight, 2^40 = probability ratio 1
inline constexpr double kMassOne = 1099511627776.0;  // 2^40
inline constexpr int kMaxThreads = 256;              // device::row_threads' largest block

struct MinOp {
  __device__ int64_t operator()(int64_t a, int64_t b) const { return b < a ? b : a; }
};

template <class T>
struct KeyOf;
template <>
struct KeyOf<float> {
  using type = unsigned int;
};
template <>
struct KeyOf<double> {
  using type = unsigned long long;
};

// An unsigned key with the order of the values (-inf lowest; -0 and +0 one key).
template <class T>
__device__ typename KeyOf<T>::type ordered_key(T z) {
  using K = typename KeyOf<T>::type;
  if (z == T(0)) z = T(0);
  K bits;
  memcpy(&bits, &z, sizeof bits);
  const K sign = K(1) << (8 * sizeof(K) - 1);
  return (bits & sign) ? ~bits : (bits | sign);
}

// Keeps the ids whose key is above `key`, and those at `key` up to id `last_tie`.
template <class K>
struct Cut {
  K key = 0;
  int64_t last_tie = ::cuda::std::numeric_limits<int64_t>::max();  // the default keeps every id
  __device__ bool keeps(K k, int64_t v) const { return k > key || (k == key && v <= last_tie); }
};

// One row as the filters see it.
template <class T>
struct RowView {
  const T* x;          // [V] logits
  const bool* seen;    // [V] or null
  T penalty, scale;    // repetition penalty, 1 / temperature
  __device__ T penalised(int64_t v) const {
    T xv = x[v];
    if (seen && seen[v]) xv = xv > T(0) ? xv / penalty : xv * penalty;
    return xv;
  }
  __device__ T z(int64_t v) const { return penalised(v) * scale; }
};

// The id at which the inclusive prefix sum of weight(v), over v = 0, 1, ..., first reaches
// need(total) (total: the sum over all v), or -1 if it never does. Threads take contiguous
// chunks of ids, so the sum runs in id order. Call from every thread; all get the result.
template <class WeightFn, class NeedFn>
__device__ int64_t ordered_find(int64_t V, WeightFn weight, NeedFn need_of) {
  __shared__ Mass partial[kMaxThreads];  // [threads]: each thread's chunk sum, then its exclusive prefix
  __shared__ Mass need;
  __shared__ int64_t found;
  const int64_t chunk = (V + blockDim.x - 1) / blockDim.x;
  const int64_t begin = threadIdx.x * chunk, end = begin + chunk < V ? begin + chunk : V;
  Mass mine = 0;
  for (int64_t v = begin; v < end; ++v) mine += weight(v);
  partial[threadIdx.x] = mine;
  __syncthreads();
  if (threadIdx.x == 0) {
    Mass running = 0;
    for (unsigned t = 0; t < blockDim.x; ++t) {
      const Mass own = partial[t];
      partial[t] = running;
      running += own;
    }
    need = need_of(running);
    found = -1;
  }
  __syncthreads();
  const Mass before = partial[threadIdx.x];
  if (mine > 0 && before < need && need <= before + mine) {  // the crossing is in this chunk
    Mass running = before;
    for (int64_t v = begin; v < end; ++v) {
      running += weight(v);
      if (running >= need) {
        found = v;
        break;
      }
    }
  }
  __syncthreads();
  const int64_t result = found;
  __syncthreads();  // `found` and `partial` may be rewritten by the next call
  return result;
}

// Among the ids that pre(v) keeps, in the order (key descending, id ascending), the cut that
// keeps the shortest prefix whose weight reaches target (1 <= target <= their total weight).
// Radix selection, one byte per pass, then ordered_find for the ties at the selected key.
template <class K, class KeyFn, class WeightFn, class PreFn>
__device__ Cut<K> select_prefix(int64_t V, Mass target, KeyFn key_of, WeightFn weight_of, PreFn pre) {
  __shared__ Mass histogram[256];  // [256]: the weight of the candidates per value of this pass's byte
  __shared__ K prefix_shared;
  __shared__ Mass above_shared;
  K prefix = 0, mask = 0;
  Mass above = 0;  // the weight of the keys above the current prefix's range
  for (int shift = 8 * static_cast<int>(sizeof(K)) - 8; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += blockDim.x) histogram[b] = 0;
    __syncthreads();
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
      if (!pre(v)) continue;
      const K k = key_of(v);
      if ((k & mask) == prefix) atomicAdd(&histogram[(k >> shift) & 0xff], weight_of(v));
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int b = 255;
      for (; b > 0 && above + histogram[b] < target; --b) above += histogram[b];
      prefix_shared = prefix | (static_cast<K>(b) << shift);
      above_shared = above;
    }
    __syncthreads();
    prefix = prefix_shared;
    above = above_shared;
    mask |= static_cast<K>(0xff) << shift;
    __syncthreads();  // before the next pass clears the histogram and thread 0 rewrites the shared values
  }
  Cut<K> cut;
  cut.key = prefix;
  cut.last_tie = ordered_find(
      V, [&](int64_t v) -> Mass { return pre(v) && key_of(v) == prefix ? weight_of(v) : Mass(0); },
      [&](Mass) { return target - above; });
  return cut;
}

// grid: one block per slot; block: device::row_threads(V) threads.
template <class T>
__global__ void sample_kernel(const T* logits, int64_t rows_per_logit, const int64_t* slot_rows,
                              const double* uniforms, int64_t L, int64_t step, bool* seen, int64_t V,
                              DeviceFilter<T> f, int64_t* tokens, int64_t* status, T* log_probs) {
  using K = typename KeyOf<T>::type;
  const int64_t slot = blockIdx.x, r = slot_rows[slot];
  if (r < 0) {
    if (threadIdx.x == 0) tokens[slot] = -1, status[slot] = kSampleOk, log_probs[slot] = T(0);
    return;
  }
  const T* x = logits + (slot / rows_per_logit) * V;  // [V]
  bool* row_seen = seen ? seen + r * V : nullptr;      // [V]
  const RowView<T> row{x, row_seen, f.repetition_penalty, f.greedy ? T(1) : f.inv_temperature};

  // The row's max z and its checks (filters.hpp's check_row).
  T zmax = device::neg_inf<T>();
  int bad = 0;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
    const T z = row.z(v);
    bad |= (z != z) || z == ::cuda::std::numeric_limits<T>::infinity();
    zmax = device::max_of(zmax, z);
  }
  zmax = device::block_max(zmax);
  bad = device::block_max(bad);
  if (bad || zmax == device::neg_inf<T>()) {
    if (threadIdx.x == 0) tokens[slot] = 0, status[slot] = bad ? kSampleNonFinite : kSampleAllNegInf, log_probs[slot] = T(0);
    return;
  }

  int64_t token;
  if (f.greedy) {  // the lowest id at the max
    constexpr int64_t none = ::cuda::std::numeric_limits<int64_t>::max();
    int64_t first = none;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x)
      if (row.z(v) == zmax && v < first) first = v;
    token = device::block_reduce(first, MinOp{}, none);
  } else {
    const auto key = [&](int64_t v) { return ordered_key(row.z(v)); };
    const auto weight = [&](int64_t v) { return std::exp(row.z(v) - zmax); };  // filters.hpp's weight, p_v / p_max
    const auto to_mass = [](T w) { return static_cast<Mass>(static_cast<double>(w) * kMassOne + 0.5); };
    const auto mass = [&](int64_t v) { return to_mass(weight(v)); };
    Cut<K> top_k, top_p;
    if (f.top_k > 0 && f.top_k < V)  // step 3: the k largest z
      top_k = select_prefix<K>(V, static_cast<Mass>(f.top_k), key, [](int64_t) { return Mass(1); },
                               [](int64_t) { return true; });
    if (f.top_p < 1.0) {  // step 4: the shortest prefix of what top-k kept that reaches top_p of its mass
      const auto in_top_k = [&](int64_t v) { return top_k.keeps(key(v), v); };
      Mass local = 0;
      for (int64_t v = threadIdx.x; v < V; v += blockDim.x) local += in_top_k(v) ? mass(v) : Mass(0);
      const Mass total = device::block_sum(local);
      Mass target = static_cast<Mass>(ceil(f.top_p * static_cast<double>(total)));
      target = target < 1 ? 1 : (target > total ? total : target);
      top_p = select_prefix<K>(V, target, key, mass, in_top_k);
    }
    const auto kept_mass = [&](int64_t v) -> Mass {
      const K k = key(v);
      if (!top_k.keeps(k, v) || !top_p.keeps(k, v)) return 0;
      const T w = weight(v);
      if (f.min_p > 0.0 && static_cast<double>(w) < f.min_p) return 0;  // step 5: p_v < min_p * p_max
      return to_mass(w);
    };
    const double u = uniforms[r * L + step];  // in [0, 1)
    token = ordered_find(V, kept_mass, [&](Mass total) {  // step 6: the first id whose cumulative mass passes u * total
      const Mass target = static_cast<Mass>(u * static_cast<double>(total));
      return target < total ? target + 1 : total;
    });
  }

  // The recorded lp: token_logprobs.hpp's row statistics of the unpenalised row.
  const T s = f.lp_inv_temperature;
  const device::RowLogSoftmax<T> stats = device::row_log_softmax(x, V, s, /*entropy=*/false);
  if (threadIdx.x == 0) {
    tokens[slot] = token;
    status[slot] = kSampleOk;
    log_probs[slot] = (x[token] * s - stats.m) - stats.log_sum;
    if (row_seen) row_seen[token] = true;
  }
}

}  // namespace sampling_detail

template <class T>
void sample_rows(const Context& ctx, const T* logits, int64_t rows_per_logit, const int64_t* slot_rows,
                 const double* uniforms, int64_t L, int64_t step, bool* seen, int64_t batch, int64_t V,
                 const DeviceFilter<T>& filter, int64_t* tokens, int64_t* status, T* log_probs) {
  if (batch <= 0) return;
  check(V > 0 && rows_per_logit >= 1, ctx.op, "sample_rows: bad sizes");
  check(filter.greedy || uniforms != nullptr, ctx.op, "sample_rows: no uniforms for a sampled draw");
  check(batch <= 0x7fffffff, ctx.op, "too many rows for one launch: ", batch);
  check(V < (int64_t{1} << 23), ctx.op, "sampling on cuda takes vocabularies of under 2^23 tokens (the masses ",
        "are 64-bit fixed-point sums), got ", V);
  cudaStream_t stream = stream_for(ctx);
  sampling_detail::sample_kernel<T><<<static_cast<unsigned>(batch), device::row_threads(V), 0, stream>>>(
      logits, rows_per_logit, slot_rows, uniforms, L, step, seen, V, filter, tokens, status, log_probs);
  check_launch(ctx, stream, "sample_kernel");
}

#define CHORD_CUDA_INSTANTIATE_SAMPLING(T)                                                                        \
  template void sample_rows<T>(const Context&, const T*, int64_t, const int64_t*, const double*, int64_t, int64_t, \
                               bool*, int64_t, int64_t, const DeviceFilter<T>&, int64_t*, int64_t*, T*);
CHORD_CUDA_INSTANTIATE_SAMPLING(float)
CHORD_CUDA_INSTANTIATE_SAMPLING(double)
#undef CHORD_CUDA_INSTANTIATE_SAMPLING

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
