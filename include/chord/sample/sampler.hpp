#pragma once
// The draws of a generation (sample/generate.hpp): a Sampler turns one step's logits into a token
// and its recorded log-prob for every running row. One implementation per device:
//
//   CpuSampler  the rows' draws in parallel on the host, one TokenSampler (sample/filters.hpp) per
//               thread, the log-prob through the trainer's row code (backend/cpu/token_logprobs.hpp);
//   GpuSampler  every draw of a step in one kernel on the GPU (sample/device_sampler.hpp): only a
//               token and a log-prob per row come back to the host.
//
//   auto sampler = sample::make_sampler<float>(device, V, filters, L, seeds, prompts);
//   sampler->draw(logits, rows_per_logit, slot_rows, step, contexts, draws);   // once per step
//
// Both apply the filters of sample/filters.hpp and record lp = log_softmax(logits / T)[token]
// over the full vocabulary (T = 1 when greedy), and both draw row r's k-th token with the k-th
// uniform of row r's own Generator, seeded with seeds[r]: a seed gives the same tokens on every
// run, whatever the thread count.

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cpu/thread_pool.hpp"
#include "chord/backend/cpu/token_logprobs.hpp"
#include "chord/core/error.hpp"
#include "chord/core/generator.hpp"
#include "chord/core/tensor.hpp"
#include "chord/sample/device_sampler.hpp"
#include "chord/sample/filters.hpp"

namespace chord::sample {

// One step's draws, per batch slot.
template <FloatingPoint T>
struct Draws {
  std::vector<int64_t> tokens;  // [slots]; -1 for a skipped slot
  std::vector<T> log_probs;     // [slots]; 0 for a skipped slot
};

// Draws the tokens of the rows of one generation, one per row and step.
template <FloatingPoint T>
class Sampler {
 public:
  virtual ~Sampler() = default;

  // The device the logits must be on.
  virtual Device device() const = 0;

  // logits: contiguous rows of V on device(). For each batch slot i with slot_rows[i] >= 0, draws
  // row slot_rows[i]'s next token (its draw number `step`) from logits row i / rows_per_logit;
  // slot_rows[i] = -1 skips the slot. contexts[r]: row r's prompt and response so far (the ids
  // of its repetition penalty). Fills draws.tokens and draws.log_probs, [slots] each.
  virtual void draw(const Tensor<T>& logits, int64_t rows_per_logit, const std::vector<int64_t>& slot_rows,
                    int64_t step, std::span<const std::vector<int64_t>> contexts, Draws<T>& draws) = 0;
};

// On the host: each row draws from its own Generator, the rows in parallel.
template <FloatingPoint T>
class CpuSampler final : public Sampler<T> {
 public:
  // seeds: one per row.
  CpuSampler(int64_t vocab_size, const FilterOptions& filters, const std::vector<uint64_t>& seeds)
      : V_(vocab_size),
        filters_(filters),
        // lp is recorded at temperature T (T = 1 when greedy), 1 / T rounded as token_log_probs does.
        inv_temperature_(static_cast<T>(1.0 / (filters.greedy() ? 1.0 : filters.temperature))),
        threads_(std::max(1, cpu::num_threads())) {
    filters.validate("generate");
    generators_.reserve(seeds.size());
    for (const uint64_t seed : seeds) generators_.emplace_back(seed);
    // One TokenSampler per thread (a TokenSampler keeps nothing between draws, so which one
    // serves a row does not change the result).
    samplers_.reserve(static_cast<std::size_t>(threads_));
    for (int i = 0; i < threads_; ++i) samplers_.emplace_back(vocab_size);
  }

  Device device() const override { return Device::cpu(); }

  void draw(const Tensor<T>& logits, int64_t rows_per_logit, const std::vector<int64_t>& slot_rows, int64_t /*step*/,
            std::span<const std::vector<int64_t>> contexts, Draws<T>& draws) override {
    const int64_t batch = static_cast<int64_t>(slot_rows.size());
    check_logits(logits, rows_per_logit, batch);
    draws.tokens.assign(static_cast<std::size_t>(batch), -1);
    draws.log_probs.assign(static_cast<std::size_t>(batch), T(0));
    errors_.assign(static_cast<std::size_t>(batch), nullptr);
    const T* base = logits.data();
    cpu::parallel_for(batch, 8 * V_, [&](int64_t begin, int64_t end) {
      TokenSampler<T>& sampler = samplers_[static_cast<std::size_t>(thread_index())];
      for (int64_t i = begin; i < end; ++i) {
        const int64_t r = slot_rows[i];
        if (r < 0) continue;
        const T* row = base + (i / rows_per_logit) * V_;  // [V]
        try {  // (a NaN row throws; the error is rethrown after the loop)
          const int64_t token = sampler.sample(row, filters_, generators_[r], contexts[r]);
          const cpu::LogSoftmaxRowStats<T> stats = cpu::log_softmax_row_stats(row, V_, inv_temperature_);
          draws.tokens[i] = token;
          draws.log_probs[i] = cpu::log_prob_at(row[token], inv_temperature_, stats);
        } catch (...) {
          errors_[i] = std::current_exception();
        }
      }
    });
    for (const std::exception_ptr& error : errors_)
      if (error) std::rethrow_exception(error);
  }

 private:
  int thread_index() const { return std::min<int>(cpu::ThreadPool::thread_index(), threads_ - 1); }
  void check_logits(const Tensor<T>& logits, int64_t rows_per_logit, int64_t batch) const {
    check(logits.defined() && logits.device().is_cpu() && logits.is_contiguous() && logits.numel() % V_ == 0,
          "generate", "the logits for the CPU sampler must be contiguous rows of ", V_, " on the cpu");
    check(rows_per_logit >= 1 && (batch == 0 || (batch - 1) / rows_per_logit < logits.numel() / V_), "generate",
          "the logits have ", logits.numel() / V_, " rows, too few for ", batch, " slots");
  }

  int64_t V_;
  FilterOptions filters_;
  T inv_temperature_;
  int threads_;
  std::vector<Generator> generators_;            // [rows]
  std::vector<TokenSampler<T>> samplers_;        // [threads]
  std::vector<std::exception_ptr> errors_;       // [slots]: a slot's failed draw
};

// On a GPU: row r's uniforms are its Generator's first L, drawn up front; the draws of a step run
// in one kernel (DeviceSampler).
template <FloatingPoint T>
class GpuSampler final : public Sampler<T> {
 public:
  // seeds: one per row; L: the most draws per row; contexts: each row's prompt (the ids its
  // repetition penalty starts from; the GPU adds the drawn tokens itself).
  GpuSampler(Device device, int64_t vocab_size, const FilterOptions& filters, int64_t L,
             const std::vector<uint64_t>& seeds, std::span<const std::vector<int64_t>> contexts)
      : sampler_(device, vocab_size, filters, static_cast<int64_t>(seeds.size()), L, uniforms(filters, L, seeds),
                 filters.repetition_penalty != 1.0 ? contexts : std::span<const std::vector<int64_t>>{}),
        device_(device) {}

  Device device() const override { return device_; }

  void draw(const Tensor<T>& logits, int64_t rows_per_logit, const std::vector<int64_t>& slot_rows, int64_t step,
            std::span<const std::vector<int64_t>> /*contexts*/, Draws<T>& draws) override {
    DeviceDraws<T> out = sampler_.draw(logits, rows_per_logit, slot_rows, step);
    draws.tokens = std::move(out.tokens);
    draws.log_probs = std::move(out.log_probs);
  }

 private:
  // [rows, L]: the k-th of row r its Generator's k-th uniform (none when greedy).
  static std::vector<double> uniforms(const FilterOptions& filters, int64_t L, const std::vector<uint64_t>& seeds) {
    std::vector<double> out;
    if (filters.greedy()) return out;
    out.reserve(seeds.size() * static_cast<std::size_t>(L));
    for (const uint64_t seed : seeds) {
      Generator gen(seed);
      for (int64_t k = 0; k < L; ++k) out.push_back(gen.uniform());
    }
    return out;
  }

  DeviceSampler<T> sampler_;
  Device device_;
};

// The sampler for logits on `device`: a GpuSampler on a GPU, else a CpuSampler. One row per seed;
// L and contexts (the prompts) as GpuSampler takes them.
template <FloatingPoint T>
std::unique_ptr<Sampler<T>> make_sampler(Device device, int64_t vocab_size, const FilterOptions& filters, int64_t L,
                                         const std::vector<uint64_t>& seeds,
                                         std::span<const std::vector<int64_t>> contexts) {
  if (device.is_cuda()) return std::make_unique<GpuSampler<T>>(device, vocab_size, filters, L, seeds, contexts);
  return std::make_unique<CpuSampler<T>>(vocab_size, filters, seeds);
}

}  // namespace chord::sample
