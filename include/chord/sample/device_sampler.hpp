#pragma once
// Draws on a GPU: the host side of backend/cuda/sampling.hpp, for generate() when the model is
// on a GPU, and for anyone who holds logits rows on a GPU.
//
//   // one token per row of logits [R, V] (on a GPU), row i drawn with uniforms[i]
//   auto draws = sample::draw_on_device(logits, {.temperature = 0.8, .top_k = 40}, uniforms);
//   draws.tokens[i], draws.log_probs[i]
//
// The filters, their order and the kept sets are those of sample/filters.hpp (TokenSampler);
// the recorded log-prob is generate()'s (log_softmax(x / T) of the unfiltered row). A draw takes
// one uniform number u in [0, 1) and picks, in ascending id order, the first kept token whose
// cumulative weight passes u * total. TokenSampler walks its candidates in id order too unless
// top-k or top-p reorder them, so with the same u and no top-k / top-p both pick the same token
// (up to the rounding of the cumulative sums: the GPU's are 2^-40 fixed-point integers).
//
// In generate(), row r's u for its k-th token is the k-th gen.uniform() of the row's own
// Generator (drawn up front), as on the CPU: a seed gives the same tokens on every run.

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "chord/backend/cuda/sampling.hpp"
#include "chord/core/error.hpp"
#include "chord/core/tensor.hpp"
#include "chord/sample/filters.hpp"

namespace chord::sample {

template <FloatingPoint T>
struct DeviceDraws {
  std::vector<int64_t> tokens;  // [slots]; -1 for a skipped slot
  std::vector<T> log_probs;     // [slots]; 0 for a skipped slot
};

// Draws for a batch of rows that live on one GPU, through one buffer set reused across steps.
template <FloatingPoint T>
class DeviceSampler {
 public:
  // rows: the generation rows; L: the draws per row (the columns of uniforms).
  // uniforms: [rows, L] on the host (empty when greedy). contexts: the ids each row's
  // repetition penalty starts from (empty when the penalty is off).
  DeviceSampler(Device device, int64_t vocab_size, const FilterOptions& options, int64_t rows, int64_t L,
                const std::vector<double>& uniforms, std::span<const std::vector<int64_t>> contexts = {})
      : device_(device), V_(vocab_size), L_(L) {
    const char* op = "generate";
    options.validate(op);
    check(device.is_cuda(), op, "DeviceSampler draws on a GPU; got ", device);
    check(built_with_cuda(), op, "chord was built without CUDA");
    check(vocab_size > 0 && rows > 0 && L > 0, op, "DeviceSampler: bad sizes");
    if (!options.greedy()) {
      check(static_cast<int64_t>(uniforms.size()) == rows * L, op, "expected ", rows * L, " uniforms, got ",
            uniforms.size());
      uniforms_ = Tensor<double>::from_vector(uniforms, {rows, L}).to(device);
    }
    if (options.repetition_penalty != 1.0 && !contexts.empty()) {
      check(static_cast<int64_t>(contexts.size()) == rows, op, contexts.size(), " contexts for ", rows, " rows");
      Tensor<bool> seen = Tensor<bool>::zeros({rows, V_});  // [rows, V]: the ids in each row's context
      for (int64_t r = 0; r < rows; ++r)
        for (const int64_t id : contexts[r]) {
          check(id >= 0 && id < V_, op, "context token ", id, " of row ", r, " is outside [0, ", V_, ")");
          seen.data()[r * V_ + id] = true;
        }
      seen_ = seen.to(device);
    }
    filter_.greedy = options.greedy();
    filter_.inv_temperature = static_cast<T>(1.0 / (options.greedy() ? 1.0 : options.temperature));
    filter_.repetition_penalty = static_cast<T>(options.repetition_penalty);
    filter_.top_k = options.top_k;
    filter_.top_p = options.top_p;
    filter_.min_p = options.min_p;
    filter_.lp_inv_temperature = filter_.inv_temperature;  // 1 when greedy, as generate() records
  }

  // logits: [logit_rows, V] (contiguous, on the sampler's GPU); slot i draws from logits row
  // i / rows_per_logit for the generation row slot_rows[i] (-1: skip the slot), its draw number `step`.
  DeviceDraws<T> draw(const Tensor<T>& logits, int64_t rows_per_logit, const std::vector<int64_t>& slot_rows,
                      int64_t step) {
    const char* op = "generate";
    const int64_t batch = static_cast<int64_t>(slot_rows.size());
    check(logits.defined() && logits.device() == device_ && logits.is_contiguous() && logits.numel() % V_ == 0, op,
          "the logits for the GPU sampler must be contiguous rows of ", V_, " on ", device_);
    check(rows_per_logit >= 1 && (batch - 1) / rows_per_logit < logits.numel() / V_, op, "the logits have ",
          logits.numel() / V_, " rows, too few for ", batch, " slots");
    check(step >= 0 && step < L_, op, "draw ", step, " of at most ", L_);
    DeviceDraws<T> out;
    if (batch == 0) return out;
    if (slot_rows != slot_rows_) {  // uploaded again only when a row finished or the batch was compacted
      slot_rows_ = slot_rows;
      slots_ = Tensor<int64_t>::from_vector(slot_rows).to(device_);  // [batch]
      results_ = Tensor<int64_t>::empty({3, batch}, device_);
    }
    if constexpr (built_with_cuda()) {
      int64_t* base = results_.data();  // [3, batch]: tokens, status, then the log-probs' bytes (a T per 8 bytes)
      cuda::sample_rows<T>(cuda::Context{device_.index, op}, logits.data(), rows_per_logit, slots_.data(),
                           uniforms_.defined() ? uniforms_.data() : nullptr, L_, step,
                           seen_.defined() ? seen_.data() : nullptr, batch, V_, filter_, base, base + batch,
                           reinterpret_cast<T*>(base + 2 * batch));
    }
    const Tensor<int64_t> host = results_.to(Device::cpu());  // waits for the draws
    const int64_t* h = host.data();
    out.tokens.assign(h, h + batch);
    out.log_probs.resize(static_cast<std::size_t>(batch));
    const T* lp = reinterpret_cast<const T*>(h + 2 * batch);
    std::memcpy(out.log_probs.data(), lp, sizeof(T) * static_cast<std::size_t>(batch));
    for (int64_t i = 0; i < batch; ++i) {
      check(h[batch + i] != cuda::kSampleNonFinite, "sample", "logits row (scaled by 1 / temperature) has a NaN or +inf");
      check(h[batch + i] != cuda::kSampleAllNegInf, "sample", "every logit of the row is -inf");
      check(slot_rows[i] < 0 || (out.tokens[i] >= 0 && out.tokens[i] < V_), "sample", "internal: the GPU drew token ",
            out.tokens[i], " for slot ", i);
    }
    return out;
  }

 private:
  Device device_;
  int64_t V_, L_;
  cuda::DeviceFilter<T> filter_;
  Tensor<double> uniforms_;  // [rows, L] on the device, undefined when greedy
  Tensor<bool> seen_;        // [rows, V] on the device, undefined without a repetition penalty
  std::vector<int64_t> slot_rows_;  // the last draw's slots, and on the device:
  Tensor<int64_t> slots_;           // [batch]
  Tensor<int64_t> results_;         // [3, batch]
};

// One draw from each row of logits [R, V] (on a GPU) with row i's uniform uniforms[i] in [0, 1)
// (none when greedy) and, with a repetition penalty, contexts[i] as its context.
template <FloatingPoint T>
DeviceDraws<T> draw_on_device(const Tensor<T>& logits, const FilterOptions& options, const std::vector<double>& uniforms,
                              std::span<const std::vector<int64_t>> contexts = {}) {
  check(logits.defined() && logits.dim() == 2, "sample", "expected logits [rows, vocab], got ",
        logits.defined() ? logits.shape() : Shape{});
  const int64_t R = logits.size(0), V = logits.size(1);
  check(R > 0, "sample", "no rows to draw from");
  DeviceSampler<T> sampler(logits.device(), V, options, R, 1, uniforms, contexts);
  std::vector<int64_t> slots(static_cast<std::size_t>(R));
  for (int64_t i = 0; i < R; ++i) slots[i] = i;
  return sampler.draw(logits.contiguous(), 1, slots, 0);
}

}  // namespace chord::sample
