#pragma once
// The one mixed policy objective (docs/algorithms.md sections 2-4). SFT, GRPO,
// CHORD-mu, CHORD-phi and LUFFY are configurations of this single function:
//
//   L = (1 - mu) * L_policy + mu * L_sft + beta * KL - entropy_coef * H
//
//   L_policy  aggregates the token losses of the policy rows, with one normalizer over both kinds:
//               OnPolicy rows:  l_t = max(-A rho_t, -A clip(rho_t, 1 - eps_low, 1 + eps_high))
//                               (optional dual clip: min(l_t, -A c) when A < 0; clip = false: -A rho_t)
//               OffPolicy rows: l_t = -A p_t / (p_t + gamma)     (LUFFY's shaping, gradient through p_t;
//                                                                 shaping = false: -A p_t)
//   L_sft     aggregates s_t = -w_t lp_t over Expert rows, with its own normalizer (so the share of
//             expert rows does not scale it; mu alone sets the balance); w_t = 1, sg(p(1-p)) or sg(p)
//   KL        aggregates k_t (k1, k2 or k3 of d = lp_ref - lp) over every row's loss tokens
//   H         aggregates the entropy H_t over every row's loss tokens
//
// each "aggregates" with the chosen mode and the step's normalizer (rl/aggregation.hpp).
// The KL and entropy terms apply to all rows (as the reference trainers apply
// them to every response token), outside the mu mix. rho_t = exp(lp_t - lp_old_t),
// p_t = exp(lp_t). Expert rows get no ratio, no clip and no advantage.
//
// The objective is composed of tensor ops, as verl composes its losses: each token loss is a
// function of [N, L] tensors (rl/policy_losses.hpp), each group's scalar one aggregation of them
// (rl/aggregation.hpp, aggregate), and the loss their mix; autograd differentiates it, on the CPU
// or on a GPU (every op used has a CUDA kernel), with no copy of the batch to the host. It computes
// in the element type T of the log-probs (float for a float model). The scalar functions of
// rl/token_losses.hpp are its oracle in the tests (tests/test_rl_objective_oracle.cpp).
//
// The methods (rows of each step, options, mu):
//   SFT        Expert rows only;                  mu = 1
//   GRPO       OnPolicy rows only;                mu = 0            (advantages: grpo)
//   CHORD-mu   OnPolicy + Expert rows;            mu = MuSchedule{...}.mu(step), sft_weight = Plain
//   CHORD-phi  OnPolicy + Expert rows;            mu = 0.1 fixed,   sft_weight = Phi
//   LUFFY      OnPolicy + OffPolicy rows (each prompt's group holds both; advantages: dr_grpo over the
//              mixed group); mu = 0, clip = false, aggregation = Constant (C = max response length),
//              entropy_coef = 0.001
//
// Use, for one optimizer step split into micro-batches:
//
//   rl::StepNormalizer step;
//   for (auto& mb : micro_batches) step.add(mb.mask, mb.kinds);      // counts over the whole step, first
//   rl::ObjectiveMetrics metrics;
//   for (auto& mb : micro_batches) {
//     auto [loss, m] = rl::mixed_objective(mb.batch, mu, step, options);
//     loss.backward();                                               // gradients add up to the step's
//     metrics += m;
//   }
//   for (auto& [name, value] : metrics.named()) log(name, value);
//
// Inputs per micro-batch of N rows and L positions: lp [N, L] (current policy,
// requires grad), lp_old [N, L] (the sampler's; needed when there are OnPolicy
// rows), optional lp_ref [N, L] (needed when beta > 0; logged as `kl` whenever
// given), optional entropy [N, L] (needed when entropy_coef > 0, and must then
// require grad to get the bonus's gradient; logged whenever given), the response
// mask [N, L] (1 for every response token up to and including EOS, else 0),
// advantages [N] (may be undefined when there are no policy rows), row kinds [N].
// lp_old, lp_ref, the mask and the advantages are constants (stop-gradient).
// Positions outside the mask are never read (they are replaced by finite constants before any
// arithmetic, so NaN padding is harmless). All inputs may live on the log-probs' device or on the
// CPU (then they are copied to that device).

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "chord/autograd/engine.hpp"  // loss.backward()
#include "chord/core/non_templates.hpp"
#include "chord/ops/arithmetic.hpp"
#include "chord/ops/compare.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/join.hpp"
#include "chord/ops/pointwise.hpp"
#include "chord/ops/reduction.hpp"
#include "chord/ops/view.hpp"
#include "chord/rl/aggregation.hpp"
#include "chord/rl/policy_losses.hpp"
#include "chord/rl/token_losses.hpp"

namespace chord::rl {

struct ObjectiveOptions {
  // PPO-clip of OnPolicy tokens.
  double eps_low = 0.2;             // in [0, 1]
  double eps_high = 0.2;            // >= 0
  bool clip = true;                 // false: -A rho (LUFFY's reference run)
  std::optional<double> dual_clip = std::nullopt;  // c > 1 (e.g. 3): caps the loss of A < 0 tokens at -A c
  // SFT term of Expert rows.
  SftWeight sft_weight = SftWeight::Plain;
  // LUFFY's shaping of OffPolicy tokens: f(p) = p / (p + gamma).
  double shaping_gamma = 0.1;  // > 0
  bool shaping = true;         // false: l = -A p (the LUFFY paper's ablation without shaping)
  // KL to a reference policy (off by default: no reference model needed).
  double beta = 0.0;  // >= 0
  KLEstimator kl = KLEstimator::K3;
  // Entropy bonus: subtracts entropy_coef * H.
  double entropy_coef = 0.0;  // >= 0
  // How token losses become one scalar.
  Aggregation aggregation = Aggregation::TokenMean;
  double constant_normalizer = 0.0;  // C for Aggregation::Constant, > 0

  void validate() const;

  PpoClip ppo_clip() const { return {eps_low, eps_high, clip, dual_clip}; }
};

// A mean that micro-batches can add up: sum and count, divided at the end.
struct MeanMetric {
  double sum = 0;
  double count = 0;
  void add(double value) {
    sum += value;
    count += 1;
  }
  double mean() const { return count > 0 ? sum / count : 0.0; }
  MeanMetric& operator+=(const MeanMetric& o) {
    sum += o.sum;
    count += o.count;
    return *this;
  }
};

// The objective's metrics for one micro-batch; `+=` them over a step's
// micro-batches, then read named(). The loss terms are already divided by the
// step's normalizers, so they add up to the step's values; the rest are token
// means kept as sums with their counts.
struct ObjectiveMetrics {
  double loss = 0;            // the scalar returned
  double loss_policy = 0;     // L_policy (before the 1 - mu factor)
  double loss_sft = 0;        // L_sft (before the mu factor)
  double loss_kl = 0;         // beta * KL
  double loss_entropy = 0;    // -entropy_coef * H
  MeanMetric kl = {};         // k over every loss token (when lp_ref is given)
  MeanMetric ppo_kl = {};     // lp_old - lp over OnPolicy tokens
  MeanMetric entropy = {};    // H over every loss token (when entropy is given)
  MeanMetric clip_low = {};   // share of OnPolicy tokens in ClipRegion::Low
  MeanMetric clip_high = {};  // ... ClipRegion::High
  MeanMetric clip_dual = {};  // ... ClipRegion::Dual
  MeanMetric on_prob = {};    // p over OnPolicy tokens
  MeanMetric off_prob = {};   // p over OffPolicy and Expert tokens (those the policy did not sample)

  ObjectiveMetrics& operator+=(const ObjectiveMetrics& o);

  // Named as in docs/algorithms.md section 6; a token mean over no tokens reads 0.
  std::vector<std::pair<std::string, double>> named() const;
};

// One micro-batch of rows. Shapes: N rows, L positions.
template <FloatingPoint T>
struct ObjectiveBatch {
  Tensor<T> log_probs = {};        // lp [N, L], the current policy's (requires grad)
  Tensor<T> old_log_probs = {};    // lp_old [N, L], recorded by the sampler (needed for OnPolicy rows)
  Tensor<T> ref_log_probs = {};    // lp_ref [N, L], the reference policy's (optional; needed when beta > 0)
  Tensor<T> entropy = {};          // H [N, L] (optional; needed when entropy_coef > 0)
  Tensor<T> mask = {};             // [N, L], 0/1: response tokens up to and including EOS
  Tensor<T> advantages = {};       // [N] (may be undefined when there are no OnPolicy/OffPolicy rows)
  std::vector<RowKind> kinds = {};  // [N]
};

template <FloatingPoint T>
struct ObjectiveResult {
  Tensor<T> loss = {};  // scalar; its gradient flows to log_probs (and entropy, with a bonus)
  ObjectiveMetrics metrics = {};
};

template <FloatingPoint T>
ObjectiveResult<T> mixed_objective(const ObjectiveBatch<T>& batch, double mu, const StepNormalizer& step,
                                   const ObjectiveOptions& options = {});

namespace objective_detail {

// Row indicators [N, 1] (1 for the rows whose flag is set), on `device`.
template <FloatingPoint T>
Tensor<T> row_indicator(const std::vector<bool>& flags, Device device) {
  std::vector<T> v(flags.size());
  for (std::size_t i = 0; i < flags.size(); ++i) v[i] = flags[i] ? T(1) : T(0);
  const Tensor<T> t = Tensor<T>::from_vector(v, Shape{static_cast<int64_t>(v.size()), 1});
  return device.is_cpu() ? t : t.to(device);
}

}  // namespace objective_detail

// The mixed objective of one micro-batch at mixing weight mu in [0, 1], with
// the normalizers of the whole step (which must include this micro-batch).
//
// It is composed of tensor ops, in three steps, on the log-probs' device (CPU or GPU):
//   1. the token losses [N, L] of each kind (rl/policy_losses.hpp), from inputs whose positions
//      outside the mask are replaced by finite constants (so NaN padding is never read);
//   2. one aggregation per group (aggregate() with aggregation_weights(), rl/aggregation.hpp),
//      each a scalar;
//   3. the mix (1 - mu) L_policy + mu L_sft + beta KL + entropy_coef * aggregate(-H).
// The loss's gradient is autograd's, on either device. The other inputs may live on the CPU or on
// the log-probs' device: constants on the CPU are copied to that device. The host reads the mask
// (to count tokens and check it against `step`) and the advantages (to check they are finite);
// the metrics come back in one copy of a few scalars.
template <FloatingPoint T>
ObjectiveResult<T> mixed_objective(const ObjectiveBatch<T>& batch, double mu, const StepNormalizer& step,
                                   const ObjectiveOptions& options) {
  const char* op = "mixed_objective";
  options.validate();
  check(std::isfinite(mu) && mu >= 0.0 && mu <= 1.0, op, "mu must be in [0, 1], got ", mu);
  ops::check_defined(op, batch.log_probs, "log_probs");
  check(batch.log_probs.dim() == 2, op, "log_probs must have shape [N, L], got ", batch.log_probs.shape());
  const Shape shape = batch.log_probs.shape();
  const Device device = batch.log_probs.device();
  const int64_t N = shape[0];
  auto check_like = [&](const Tensor<T>& t, const char* name) {
    check(t.device().is_cpu() || t.device() == device, op, name, " must be on the cpu or on ", device,
          " (where log_probs are), got one on ", t.device());
    check(t.shape() == shape, op, name, " of shape ", t.shape(), " does not match log_probs of shape ", shape);
  };
  // A constant input on the log-probs' device.
  auto here = [&](const Tensor<T>& t) { return t.device() == device ? t.detach() : t.detach().to(device); };
  ops::check_defined(op, batch.mask, "mask");
  check_like(batch.mask, "mask");
  const Tensor<T> host_mask = batch.mask.device().is_cpu() ? batch.mask : batch.mask.to(Device::cpu());
  const std::vector<int64_t> row_tokens = row_token_counts(op, host_mask);  // [N]
  check(static_cast<int64_t>(batch.kinds.size()) == N, op, batch.kinds.size(), " row kinds for ", N,
        " rows (log_probs of shape ", shape, ")");

  // This micro-batch's counts: which inputs it needs, and a check that `step` includes it.
  StepNormalizer own;
  TokenCounts on_tokens;  // OnPolicy rows
  std::vector<bool> on_row(N), off_row(N), expert_row(N);
  for (int64_t i = 0; i < N; ++i) {
    const RowKind kind = batch.kinds[i];
    TokenCounts& group = kind == RowKind::Expert ? own.sft : own.policy;
    for (TokenCounts* c : {&group, &own.all}) {
      c->tokens += row_tokens[i];
      c->rows += row_tokens[i] > 0;
    }
    if (row_tokens[i] == 0) continue;
    (kind == RowKind::OnPolicy ? on_row : kind == RowKind::OffPolicy ? off_row : expert_row)[i] = true;
    if (kind == RowKind::OnPolicy) on_tokens.tokens += row_tokens[i], ++on_tokens.rows;
  }
  const bool has_on_policy = on_tokens.tokens > 0;
  const bool has_off_policy = own.policy.tokens > on_tokens.tokens;
  for (auto [mine, total, name] : {std::tuple{own.policy, step.policy, "policy"},
                                   std::tuple{own.sft, step.sft, "expert"}, std::tuple{own.all, step.all, "all"}})
    check(mine.tokens <= total.tokens && mine.rows <= total.rows, op, "the StepNormalizer counts ", total.tokens,
          " tokens in ", total.rows, " ", name, " rows, fewer than this micro-batch's ", mine.tokens, " in ",
          mine.rows, ": build it from every micro-batch of the step (StepNormalizer::add) first");

  // Advantages [N, 1]: checked on the host; 0 on the rows that do not use theirs (expert rows and
  // rows without loss tokens), so a NaN there is never read.
  Tensor<T> adv;
  if (own.policy.tokens > 0) {
    ops::check_defined(op, batch.advantages, "advantages");
    check(batch.advantages.device().is_cpu() || batch.advantages.device() == device, op,
          "advantages must be on the cpu or on ", device, " (where log_probs are), got them on ",
          batch.advantages.device());
    check(batch.advantages.shape() == Shape{N}, op, "advantages of shape ", batch.advantages.shape(),
          " do not match ", N, " rows (expected shape [", N, "])");
    std::vector<T> values = batch.advantages.to_vector();
    for (int64_t i = 0; i < N; ++i) {
      if (!on_row[i] && !off_row[i]) {
        values[i] = T(0);
        continue;
      }
      check(std::isfinite(static_cast<double>(values[i])), op, "advantage of ", to_string(batch.kinds[i]), " row ",
            i, " is ", values[i]);
    }
    adv = Tensor<T>::from_vector(values, Shape{N, 1});
    if (!device.is_cpu()) adv = adv.to(device);
  }
  if (has_on_policy) {
    check(batch.old_log_probs.defined(), op, "old_log_probs are needed for on-policy rows (the sampler's log-probs)");
    check_like(batch.old_log_probs, "old_log_probs");
  }
  if (options.beta > 0.0)
    check(batch.ref_log_probs.defined(), op, "ref_log_probs are needed when beta > 0 (KL to a reference policy)");
  if (batch.ref_log_probs.defined()) check_like(batch.ref_log_probs, "ref_log_probs");
  if (options.entropy_coef > 0.0)
    check(batch.entropy.defined(), op, "entropy is needed when entropy_coef > 0 (the entropy bonus)");
  if (batch.entropy.defined()) check_like(batch.entropy, "entropy");

  // ---- 1. the inputs on the device, finite outside the mask, and the groups' token masks
  const Tensor<T> mask = here(batch.mask);                    // [N, L], 0/1
  const Tensor<bool> outside = ops::le(mask, T(0));            // not a loss token
  const Tensor<T> lp = ops::masked_fill(batch.log_probs, outside, T(0));  // differentiable
  const Tensor<T> on_rows = objective_detail::row_indicator<T>(on_row, device);  // [N, 1]
  const Tensor<T> on_mask = ops::mul(mask, on_rows);
  const Tensor<T> off_mask = ops::mul(mask, objective_detail::row_indicator<T>(off_row, device));
  const Tensor<T> sft_mask = ops::mul(mask, objective_detail::row_indicator<T>(expert_row, device));
  const Tensor<T> policy_mask = ops::add(on_mask, off_mask);
  const Aggregation mode = options.aggregation;
  const double C = options.constant_normalizer;

  // The scalars to bring back to the host for the metrics, all at once at the end.
  std::vector<Tensor<T>> reported;
  auto report = [&reported](const Tensor<T>& scalar) {
    reported.push_back(scalar.detach());
    return static_cast<std::ptrdiff_t>(reported.size() - 1);
  };
  auto masked_sum = [](const Tensor<T>& x, const Tensor<T>& m) { return ops::sum(ops::mul(x, m)); };
  const std::ptrdiff_t none = -1;
  std::ptrdiff_t at_policy = none, at_sft = none, at_kl = none, at_entropy = none;
  std::ptrdiff_t at_kl_sum = none, at_entropy_sum = none, at_ppo_kl = none, at_low = none, at_high = none,
                 at_dual = none, at_on_prob = none, at_off_prob = none;

  // ---- 2. token losses and their aggregates, per group
  // L_policy: PPO-clip on OnPolicy rows, LUFFY's shaped loss on OffPolicy rows, one normalizer.
  Tensor<T> loss_policy, loss_sft, loss_kl, loss_entropy;
  if (own.policy.tokens > 0) {
    Tensor<T> token_losses;  // [N, L]
    if (has_on_policy) {
      // lp_old where the loss reads it, lp (so rho = 1) elsewhere.
      const Tensor<T> lp_old = ops::where(ops::le(on_mask, T(0)), lp.detach(), here(batch.old_log_probs));
      const PpoTokenLosses<T> ppo = ppo_token_losses(lp, lp_old, adv, options.ppo_clip());
      token_losses = ppo.loss;
      at_ppo_kl = report(masked_sum(ops::sub(lp_old, lp.detach()), on_mask));
      at_low = report(masked_sum(ppo.clip_low, on_mask));
      at_high = report(masked_sum(ppo.clip_high, on_mask));
      at_dual = report(masked_sum(ppo.clip_dual, on_mask));
    }
    if (has_off_policy) {
      const Tensor<T> off = options.shaping ? shaped_off_policy_token_losses(lp, adv, options.shaping_gamma)
                                            : unshaped_off_policy_token_losses(lp, adv);
      token_losses = has_on_policy ? ops::where(ops::gt(on_rows, T(0)), token_losses, off) : off;
    }
    loss_policy = aggregate(token_losses, policy_mask, mode, C, step.policy);
    at_policy = report(loss_policy);
  }
  // L_sft: -w lp on Expert rows, with their own normalizer.
  if (own.sft.tokens > 0) {
    loss_sft = aggregate(sft_token_losses(lp, options.sft_weight), sft_mask, mode, C, step.sft);
    at_sft = report(loss_sft);
  }
  // KL and entropy: over every row's loss tokens. Without a coefficient they are only logged.
  const bool kl_term = options.beta > 0.0, entropy_term = options.entropy_coef > 0.0;
  Tensor<T> weights_all;
  if (kl_term || entropy_term) weights_all = aggregation_weights(mask, mode, C, step.all);
  if (batch.ref_log_probs.defined()) {
    const Tensor<T> lp_ref = ops::masked_fill(here(batch.ref_log_probs), outside, T(0));
    const Tensor<T> k = kl_token_losses(kl_term ? lp : lp.detach(), lp_ref, options.kl);
    at_kl_sum = report(masked_sum(k, mask));
    if (kl_term) {
      loss_kl = ops::scale_shift(aggregate(k, weights_all), static_cast<T>(options.beta), T(0));
      at_kl = report(loss_kl);
    }
  }
  if (batch.entropy.defined()) {
    const Tensor<T> entropy =
        ops::masked_fill(entropy_term ? batch.entropy : batch.entropy.detach(), outside, T(0));
    at_entropy_sum = report(masked_sum(entropy.detach(), mask));
    if (entropy_term) {
      loss_entropy = ops::scale_shift(aggregate(entropy_bonus_token_losses(entropy), weights_all),
                                      static_cast<T>(options.entropy_coef), T(0));
      at_entropy = report(loss_entropy);
    }
  }
  {  // p over the tokens the policy sampled, and over those it did not (OffPolicy and Expert rows)
    const Tensor<T> p = ops::exp(lp.detach());
    if (has_on_policy) at_on_prob = report(masked_sum(p, on_mask));
    if (own.all.tokens > on_tokens.tokens) at_off_prob = report(masked_sum(p, ops::add(off_mask, sft_mask)));
  }

  // ---- 3. the mix
  Tensor<T> loss;
  auto add_term = [&loss](const Tensor<T>& term) { loss = loss.defined() ? ops::add(loss, term) : term; };
  if (loss_policy.defined()) add_term(ops::scale_shift(loss_policy, static_cast<T>(1.0 - mu), T(0)));
  if (loss_sft.defined()) add_term(ops::scale_shift(loss_sft, static_cast<T>(mu), T(0)));
  if (kl_term) add_term(loss_kl);
  if (entropy_term) add_term(loss_entropy);
  if (!loss.defined())  // no loss token: a zero that still reaches lp, so backward() works
    loss = ops::scale_shift(ops::sum(lp), T(0), T(0));
  const std::ptrdiff_t at_loss = report(loss);

  // ---- metrics: one copy of the reported scalars to the host
  const std::vector<T> values = ops::stack(reported).to_vector();
  auto value = [&values](std::ptrdiff_t at) { return at == -1 ? 0.0 : static_cast<double>(values[at]); };
  auto mean_metric = [&](std::ptrdiff_t at, int64_t count) {
    return MeanMetric{.sum = count > 0 ? value(at) : 0.0, .count = static_cast<double>(count)};
  };
  ObjectiveMetrics metrics = {};
  metrics.loss = value(at_loss);
  metrics.loss_policy = value(at_policy);
  metrics.loss_sft = value(at_sft);
  metrics.loss_kl = value(at_kl);
  metrics.loss_entropy = value(at_entropy);
  if (batch.ref_log_probs.defined()) metrics.kl = mean_metric(at_kl_sum, own.all.tokens);
  if (batch.entropy.defined()) metrics.entropy = mean_metric(at_entropy_sum, own.all.tokens);
  metrics.ppo_kl = mean_metric(at_ppo_kl, on_tokens.tokens);
  metrics.clip_low = mean_metric(at_low, on_tokens.tokens);
  metrics.clip_high = mean_metric(at_high, on_tokens.tokens);
  metrics.clip_dual = mean_metric(at_dual, on_tokens.tokens);
  metrics.on_prob = mean_metric(at_on_prob, on_tokens.tokens);
  metrics.off_prob = mean_metric(at_off_prob, own.all.tokens - on_tokens.tokens);
  return {loss, metrics};
}

}  // namespace chord::rl

#if CHORD_DEFINES_NON_TEMPLATES

namespace chord::rl {

CHORD_INLINE void ObjectiveOptions::validate() const {
  const char* op = "ObjectiveOptions";
  check(std::isfinite(eps_low) && eps_low >= 0.0 && eps_low <= 1.0, op, "eps_low must be in [0, 1], got ",
        eps_low);
  check(std::isfinite(eps_high) && eps_high >= 0.0, op, "eps_high must be >= 0, got ", eps_high);
  if (dual_clip)
    check(std::isfinite(*dual_clip) && *dual_clip > 1.0, op, "dual_clip must be > 1 (e.g. 3), got ", *dual_clip);
  check(std::isfinite(shaping_gamma) && shaping_gamma > 0.0, op, "shaping_gamma must be > 0, got ",
        shaping_gamma);
  check(std::isfinite(beta) && beta >= 0.0, op, "beta (the KL coefficient) must be >= 0, got ", beta);
  check(std::isfinite(entropy_coef) && entropy_coef >= 0.0, op, "entropy_coef must be >= 0, got ", entropy_coef);
  if (aggregation == Aggregation::Constant)
    check(std::isfinite(constant_normalizer) && constant_normalizer > 0.0, op,
          "constant aggregation needs constant_normalizer > 0 (e.g. the maximum response length), got ",
          constant_normalizer);
}

CHORD_INLINE ObjectiveMetrics& ObjectiveMetrics::operator+=(const ObjectiveMetrics& o) {
  loss += o.loss;
  loss_policy += o.loss_policy;
  loss_sft += o.loss_sft;
  loss_kl += o.loss_kl;
  loss_entropy += o.loss_entropy;
  kl += o.kl;
  ppo_kl += o.ppo_kl;
  entropy += o.entropy;
  clip_low += o.clip_low;
  clip_high += o.clip_high;
  clip_dual += o.clip_dual;
  on_prob += o.on_prob;
  off_prob += o.off_prob;
  return *this;
}

CHORD_INLINE std::vector<std::pair<std::string, double>> ObjectiveMetrics::named() const {
  return {{"loss", loss},
          {"loss/policy", loss_policy},
          {"loss/sft", loss_sft},
          {"loss/kl", loss_kl},
          {"loss/entropy", loss_entropy},
          {"kl", kl.mean()},
          {"ppo_kl", ppo_kl.mean()},
          {"entropy", entropy.mean()},
          {"clip_ratio/low", clip_low.mean()},
          {"clip_ratio/high", clip_high.mean()},
          {"clip_ratio/dual", clip_dual.mean()},
          {"on/prob_mean", on_prob.mean()},
          {"off/prob_mean", off_prob.mean()}};
}

}  // namespace chord::rl
#endif  // CHORD_DEFINES_NON_TEMPLATES
