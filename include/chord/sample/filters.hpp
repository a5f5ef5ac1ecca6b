#pragma once
// Sampling filters on one logits row, and the categorical draw.
//
//   sample::TokenSampler<float> sampler(vocab_size);   // work buffers, allocated once
//   int64_t id = sampler.sample(logits_row, {.temperature = 0.8, .top_p = 0.9}, gen, context);
//
// One draw from a row x [V] of logits, in this order (Hugging Face's order of logits processors):
//   1. repetition penalty r (CTRL, Keskar et al. 2019, as HF applies it): for every token id in
//      `context` (each counted once), x_v <- x_v / r if x_v > 0, else x_v * r. r > 1 discourages
//      repeats; r = 1 is off.
//   2. temperature T: z = x * (1 / T), with 1 / T rounded to the element type (as the trainer's
//      token_log_probs does). T = 0 is greedy: the draw is argmax_v x_v (the lowest id on ties) and
//      steps 3-6 are skipped.
//   3. top-k: keep the k largest z (ties go to the lower id); k = 0 is off.
//   4. top-p (nucleus; Holtzman et al. 2020): sort the kept tokens by probability (renormalised
//      over them), keep the shortest prefix whose cumulative probability reaches p (at least one
//      token: the one whose own mass crosses p is kept); p = 1 is off.
//   5. min-p (Nguyen et al. 2024): keep the tokens with p_v >= min_p * max_u p_u, i.e.
//      z_v - max_u z_u >= log(min_p); min_p = 0 is off.
//   6. draw v with probability exp(z_v - m) / sum_{u kept} exp(z_u - m) from one uniform number
//      of the Generator (cumulative sums in double, over the kept tokens in a fixed order).
//
// Only top-k and top-p reorder anything: top-k runs one nth_element (O(V)), top-p sorts what is
// left (only the k survivors when top-k is on). With every filter off a draw is two passes over
// the row. Nothing allocates after construction.
//
// These filters change the distribution a token is drawn from. They do not change the log-prob
// the generator records for it (sample/generate.hpp records log_softmax(x / T) over the full,
// unpenalised vocabulary, which is what the RL trainer recomputes).
//
// Bad options or a row with NaN or +inf raise chord::Error (op "sample").

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "chord/core/dtype.hpp"
#include "chord/core/error.hpp"
#include "chord/core/generator.hpp"
#include "chord/core/non_templates.hpp"

namespace chord::sample {

// The options of one draw (steps 1-5 above). Defaults: plain sampling at temperature 1.
struct FilterOptions {
  double temperature = 1.0;         // >= 0; 0 is greedy
  int64_t top_k = 0;                // >= 0; 0 is off
  double top_p = 1.0;               // in (0, 1]; 1 is off
  double min_p = 0.0;               // in [0, 1]; 0 is off
  double repetition_penalty = 1.0;  // > 0; 1 is off

  static constexpr double kMinTemperature = 1e-6;  // see validate()

  bool greedy() const { return temperature == 0.0; }

  void validate(const char* op = "sample") const;
};

// Draws token ids from logits rows of one vocabulary size. Holds the work buffers of one row,
// so one TokenSampler serves one thread at a time.
template <FloatingPoint T>
class TokenSampler {
 public:
  explicit TokenSampler(int64_t vocab_size) : V_(vocab_size) {
    check(vocab_size > 0, "TokenSampler", "vocab_size must be positive, got ", vocab_size);
    row_.resize(static_cast<std::size_t>(V_));
    candidates_.resize(static_cast<std::size_t>(V_));
    penalized_.assign(static_cast<std::size_t>(V_), 0);
  }

  int64_t vocab_size() const { return V_; }

  // One token id drawn from logits [V] as described at the top. `context` holds the ids the
  // repetition penalty applies to (usually the prompt and the tokens generated so far).
  // Uses one gen.uniform() unless greedy.
  int64_t sample(const T* logits, const FilterOptions& options, Generator& gen,
                 std::span<const int64_t> context = {}) {
    const T* x = penalized_row(logits, options, context);
    if (options.greedy()) return argmax(x);
    const double total = filter(x, options);
    const double target = gen.uniform() * total;
    double cumulative = 0.0;
    int64_t last = 0;  // the last candidate with a positive weight
    for (int64_t i = 0; i < count_; ++i) {
      if (candidates_[i].weight <= 0.0) continue;
      cumulative += candidates_[i].weight;
      if (target < cumulative) return candidates_[i].id;
      last = i;
    }
    return candidates_[last].id;  // only when u * total rounded up to total
  }

  // The distribution sample() draws from: probs [V], 0 outside the kept set (greedy: one-hot).
  void probabilities(const T* logits, const FilterOptions& options, T* probs, std::span<const int64_t> context = {}) {
    const T* x = penalized_row(logits, options, context);
    std::fill(probs, probs + V_, T(0));
    if (options.greedy()) {
      probs[argmax(x)] = T(1);
      return;
    }
    const double total = filter(x, options);
    for (int64_t i = 0; i < count_; ++i) probs[candidates_[i].id] = static_cast<T>(candidates_[i].weight / total);
  }

 private:
  struct Candidate {
    T z;            // the logit after penalty and temperature
    int64_t id;     // its token id
    double weight;  // exp(z - max z), filled by filter()
  };
  // Descending z, then ascending id: a strict total order, so every selection is deterministic.
  static bool before(const Candidate& a, const Candidate& b) { return a.z > b.z || (a.z == b.z && a.id < b.id); }

  // Checks options and context; returns logits itself, or row_ holding the penalised copy.
  const T* penalized_row(const T* logits, const FilterOptions& options, std::span<const int64_t> context) {
    options.validate();
    check(logits != nullptr, "sample", "logits row is null");
    if (options.repetition_penalty == 1.0 || context.empty()) return logits;
    for (std::size_t i = 0; i < context.size(); ++i)
      check(context[i] >= 0 && context[i] < V_, "sample", "context token ", context[i], " at index ", i,
            " is out of range for a vocabulary of ", V_);
    std::copy(logits, logits + V_, row_.begin());
    const T r = static_cast<T>(options.repetition_penalty);
    for (const int64_t id : context) {
      if (penalized_[id]) continue;  // each id once, however often it occurs
      penalized_[id] = 1;
      row_[id] = row_[id] > T(0) ? row_[id] / r : row_[id] * r;
    }
    for (const int64_t id : context) penalized_[id] = 0;
    return row_.data();
  }

  int64_t argmax(const T* x) const {
    int64_t best = 0;
    bool nan = false;
    for (int64_t v = 0; v < V_; ++v) {
      nan |= std::isnan(x[v]);
      if (x[v] > x[best]) best = v;
    }
    check_row(nan, x[best]);
    return best;
  }

  // A row may hold -inf (a banned token) but no NaN or +inf, and not only -inf.
  static void check_row(bool nan, T max) {
    check(!nan && max != std::numeric_limits<T>::infinity(), "sample",
          "logits row (scaled by 1 / temperature) has a NaN or +inf");
    check(max != -std::numeric_limits<T>::infinity(), "sample", "every logit of the row is -inf");
  }

  // Steps 2-5: fills candidates_[0, count_) with the kept tokens and their weights; returns the
  // sum of the weights.
  double filter(const T* x, const FilterOptions& options) {
    const T inv_temperature = static_cast<T>(1.0 / options.temperature);
    T max = -std::numeric_limits<T>::infinity();
    bool nan = false;
    for (int64_t v = 0; v < V_; ++v) {
      const T z = x[v] * inv_temperature;
      candidates_[v] = {z, v, 0.0};
      nan |= std::isnan(z);
      max = z > max ? z : max;
    }
    check_row(nan, max);
    count_ = V_;

    if (options.top_k > 0 && options.top_k < count_) {  // step 3
      std::nth_element(candidates_.begin(), candidates_.begin() + (options.top_k - 1),
                       candidates_.begin() + count_, before);
      count_ = options.top_k;
    }
    double total = weigh(max);
    if (options.top_p < 1.0) {  // step 4
      std::sort(candidates_.begin(), candidates_.begin() + count_, before);
      const double threshold = options.top_p * total;
      double cumulative = 0.0;
      int64_t keep = 0;
      while (keep < count_ && cumulative < threshold) cumulative += candidates_[keep++].weight;
      count_ = std::max<int64_t>(keep, 1);
      total = cumulative;
    }
    if (options.min_p > 0.0) {  // step 5: weight = p_v / p_max (the max is never filtered out)
      int64_t keep = 0;
      double kept_total = 0.0;
      for (int64_t i = 0; i < count_; ++i)
        if (candidates_[i].weight >= options.min_p) {
          candidates_[keep++] = candidates_[i];
          kept_total += candidates_[i].weight;
        }
      count_ = keep;
      total = kept_total;
    }
    return total;
  }

  // weight = exp(z - max) for candidates_[0, count_); returns their sum (in order, in double).
  double weigh(T max) {
    double total = 0.0;
    for (int64_t i = 0; i < count_; ++i) {
      const T e = std::exp(candidates_[i].z - max);
      candidates_[i].weight = static_cast<double>(e);
      total += candidates_[i].weight;
    }
    return total;
  }

  int64_t V_;
  std::vector<T> row_;                 // [V]: the penalised copy of the row
  std::vector<Candidate> candidates_;  // [V]: the tokens still allowed are [0, count_)
  std::vector<uint8_t> penalized_;     // [V]: marks of context ids while the penalty is applied
  int64_t count_ = 0;
};

}  // namespace chord::sample

namespace chord {
using sample::FilterOptions;
using sample::TokenSampler;
}  // namespace chord

#if CHORD_DEFINES_NON_TEMPLATES

namespace chord::sample {

CHORD_INLINE void FilterOptions::validate(const char* op) const {
  check(std::isfinite(temperature) && temperature >= 0.0, op,
        "temperature must be finite and >= 0 (0 is greedy), got ", temperature);
  // Dividing float logits by a tiny temperature overflows them to inf (then NaN probabilities);
  // below kMinTemperature sampling is greedy in all but name: say so instead.
  check(temperature == 0.0 || temperature >= kMinTemperature, op, "temperature ", temperature,
        " is too small to divide the logits by (it overflows them): use 0 for greedy decoding, or at least ",
        kMinTemperature);
  check(top_k >= 0, op, "top_k must be >= 0 (0 is off), got ", top_k);
  check(std::isfinite(top_p) && top_p > 0.0 && top_p <= 1.0, op, "top_p must be in (0, 1] (1 is off), got ", top_p);
  check(std::isfinite(min_p) && min_p >= 0.0 && min_p <= 1.0, op, "min_p must be in [0, 1] (0 is off), got ",
        min_p);
  check(std::isfinite(repetition_penalty) && repetition_penalty > 0.0, op,
        "repetition_penalty must be finite and > 0 (1 is off), got ", repetition_penalty);
}

}  // namespace chord::sample
#endif  // CHORD_DEFINES_NON_TEMPLATES
