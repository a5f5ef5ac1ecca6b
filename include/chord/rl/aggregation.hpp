#pragma once
// How token losses become one scalar (docs/algorithms.md section 3), with the
// normalizers computed once per optimizer step.
//
// Every aggregation mode is linear in the token losses: scalar = sum_t w_t l_t,
// where the weight w_t of a loss token depends only on counts over the whole
// step and on the length of the token's own row:
//
//   token-mean            w = 1 / (loss tokens of the step)
//   seq-mean-token-mean   w = 1 / (rows of the step * loss tokens of this row)
//   seq-mean-token-sum    w = 1 / (rows of the step)
//   constant              w = 1 / C
//
// ("rows" counts rows with at least one loss token; a row with none adds
// nothing anywhere.) A StepNormalizer holds those step counts. Build it from
// every micro-batch's mask and row kinds before the first backward, pass it to
// each micro-batch's objective: the sum of the micro-batch losses (and of their
// gradients) is then the loss of the whole step computed in one call, for
// every mode. A row is never split across micro-batches.
//
// The objective keeps three groups of rows, each with its own normalizer:
//   policy  on-policy and off-policy rows (L_policy: PPO and LUFFY-shaped tokens share one normalizer)
//   sft     expert rows (L_SFT: the share of expert rows does not scale it)
//   all     every row (the KL and entropy terms)
//
// On tensors, the aggregation is one step: aggregation_weights() turns a group's mask [N, L] and
// its step counts into the weights w [N, L] (constants, computed with tensor ops on the mask's
// device), and aggregate() returns sum(w * l), a scalar that autograd differentiates through the
// token losses l [N, L] (rl/policy_losses.hpp) on either device.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "chord/core/dtype.hpp"
#include "chord/core/error.hpp"
#include "chord/core/non_templates.hpp"
#include "chord/core/tensor.hpp"
#include "chord/ops/arithmetic.hpp"
#include "chord/ops/pointwise.hpp"
#include "chord/ops/reduction.hpp"

namespace chord::rl {

// What a row of a training batch is, and so which loss its tokens get.
enum class RowKind {
  OnPolicy,   // sampled from the policy: PPO-clip token loss with its advantage (GRPO, CHORD, LUFFY)
  OffPolicy,  // an expert demonstration inside a LUFFY group: shaped -A p / (p + gamma)
  Expert,     // an expert demonstration for the SFT term (SFT, CHORD): -w lp, no advantage
};

enum class Aggregation { TokenMean, SeqMeanTokenMean, SeqMeanTokenSum, Constant };

// Loss tokens and rows with at least one loss token.
struct TokenCounts {
  int64_t tokens = 0;
  int64_t rows = 0;
};

// The weight of one loss token in a group's aggregated scalar. `step`: the
// group's counts over the step; `row_tokens`: the loss tokens of the token's
// row. An empty group gets weight 0 (it has no tokens to weigh).
double aggregation_weight(Aggregation mode, double constant, const TokenCounts& step, int64_t row_tokens);

// The number of loss tokens of each row of a response mask [N, L] whose
// values are 0 or 1 (anything else is an error).
template <FloatingPoint T>
std::vector<int64_t> row_token_counts(const char* op, const Tensor<T>& mask) {
  check(mask.defined(), op, "the mask tensor is undefined");
  check(mask.device().is_cpu(), op, "the mask must be a cpu tensor, got one on ", mask.device());
  check(mask.dim() == 2, op, "the mask must have shape [N, L], got ", mask.shape());
  const int64_t N = mask.shape()[0], L = mask.shape()[1];
  std::vector<int64_t> counts(N, 0);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t t = 0; t < L; ++t) {
      const T m = mask.data()[i * mask.strides()[0] + t * mask.strides()[1]];
      check(m == T(0) || m == T(1), op, "mask values must be 0 or 1, got ", m, " at [", i, ", ", t, "]");
      counts[i] += m == T(1);
    }
  return counts;
}

// The step's counts per group, summed over all micro-batches of the step.
struct StepNormalizer {
  TokenCounts policy = {};  // OnPolicy + OffPolicy rows
  TokenCounts sft = {};     // Expert rows
  TokenCounts all = {};     // every row

  // Adds one micro-batch: mask [N, L] (0/1), kinds [N].
  template <FloatingPoint T>
  StepNormalizer& add(const Tensor<T>& mask, std::span<const RowKind> kinds) {
    const std::vector<int64_t> counts = row_token_counts("StepNormalizer", mask);
    check(kinds.size() == counts.size(), "StepNormalizer", kinds.size(), " row kinds for a mask of shape ",
          mask.shape(), " (expected one kind per row)");
    for (std::size_t i = 0; i < counts.size(); ++i) {
      TokenCounts& group = kinds[i] == RowKind::Expert ? sft : policy;
      for (TokenCounts* c : {&group, &all}) {
        c->tokens += counts[i];
        c->rows += counts[i] > 0;
      }
    }
    return *this;
  }

  // The counts of a step that is one batch.
  template <FloatingPoint T>
  static StepNormalizer of(const Tensor<T>& mask, std::span<const RowKind> kinds) {
    return StepNormalizer{}.add(mask, kinds);
  }
};

// ---- aggregation of token-loss tensors ----------------------------------------------

// The weight w_t of every token in its group's scalar, as a tensor [N, L] on group_mask's device:
// aggregation_weight() of the token's row where group_mask (0/1, [N, L]: the loss tokens of the
// group's rows) is 1, 0 elsewhere. `step`: the group's counts over the whole step. A constant.
template <FloatingPoint T>
Tensor<T> aggregation_weights(const Tensor<T>& group_mask, Aggregation mode, double constant, const TokenCounts& step) {
  check(group_mask.defined() && group_mask.dim() == 2, "aggregation_weights", "the mask must have shape [N, L]");
  const Tensor<T> mask = group_mask.detach();
  auto scaled = [&](double w) { return ops::scale_shift(mask, static_cast<T>(w), T(0)); };
  switch (mode) {
    case Aggregation::TokenMean: return scaled(step.tokens > 0 ? 1.0 / static_cast<double>(step.tokens) : 0.0);
    case Aggregation::SeqMeanTokenMean: {
      if (step.rows == 0) return scaled(0.0);
      // 1 / (rows x this row's tokens); a row without tokens has an all-zero mask (and divides by 1).
      const Tensor<T> row_tokens = ops::clamp_min(ops::sum(mask, Shape{1}, true), T(1));  // [N, 1]
      return ops::div(mask, ops::scale_shift(row_tokens, static_cast<T>(step.rows), T(0)));
    }
    case Aggregation::SeqMeanTokenSum: return scaled(step.rows > 0 ? 1.0 / static_cast<double>(step.rows) : 0.0);
    case Aggregation::Constant: return scaled(1.0 / constant);
  }
  fail("aggregation_weights", "unknown aggregation mode");
}

// The aggregated scalar sum_t w_t l_t of token losses l [N, L] with weights w [N, L]
// (aggregation_weights); differentiable in l. Every l_t must be finite (a weight of 0 does not
// hide a NaN).
template <FloatingPoint T>
Tensor<T> aggregate(const Tensor<T>& token_losses, const Tensor<T>& weights) {
  return ops::sum(ops::mul(token_losses, weights));
}

// The same from a group's mask: aggregate(l, aggregation_weights(group_mask, mode, constant, step)).
template <FloatingPoint T>
Tensor<T> aggregate(const Tensor<T>& token_losses, const Tensor<T>& group_mask, Aggregation mode, double constant,
                    const TokenCounts& step) {
  return aggregate(token_losses, aggregation_weights(group_mask, mode, constant, step));
}

// ---- names, for configuration files and command lines ----------------------------

const char* to_string(Aggregation a);
Aggregation aggregation_from_string(std::string_view name);

const char* to_string(RowKind k);

}  // namespace chord::rl

#if CHORD_DEFINES_NON_TEMPLATES
#include <string>

namespace chord::rl {

CHORD_INLINE double aggregation_weight(Aggregation mode, double constant, const TokenCounts& step, int64_t row_tokens) {
  switch (mode) {
    case Aggregation::TokenMean: return step.tokens > 0 ? 1.0 / static_cast<double>(step.tokens) : 0.0;
    case Aggregation::SeqMeanTokenMean:
      return step.rows > 0 && row_tokens > 0 ? 1.0 / (static_cast<double>(step.rows) * static_cast<double>(row_tokens))
                                             : 0.0;
    case Aggregation::SeqMeanTokenSum: return step.rows > 0 ? 1.0 / static_cast<double>(step.rows) : 0.0;
    case Aggregation::Constant: return 1.0 / constant;
  }
  return 0.0;
}

CHORD_INLINE const char* to_string(Aggregation a) {
  switch (a) {
    case Aggregation::TokenMean: return "token-mean";
    case Aggregation::SeqMeanTokenMean: return "seq-mean-token-mean";
    case Aggregation::SeqMeanTokenSum: return "seq-mean-token-sum";
    case Aggregation::Constant: return "constant";
  }
  return "?";
}

CHORD_INLINE Aggregation aggregation_from_string(std::string_view name) {
  for (Aggregation a : {Aggregation::TokenMean, Aggregation::SeqMeanTokenMean, Aggregation::SeqMeanTokenSum,
                        Aggregation::Constant})
    if (name == to_string(a)) return a;
  fail("aggregation_from_string", "unknown aggregation '", std::string(name),
       "' (expected token-mean, seq-mean-token-mean, seq-mean-token-sum or constant)");
}

CHORD_INLINE const char* to_string(RowKind k) {
  switch (k) {
    case RowKind::OnPolicy: return "on-policy";
    case RowKind::OffPolicy: return "off-policy";
    case RowKind::Expert: return "expert";
  }
  return "?";
}

}  // namespace chord::rl
#endif  // CHORD_DEFINES_NON_TEMPLATES
