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
// Positions outside the mask are never read.

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "chord/autograd/engine.hpp"
#include "chord/autograd/node.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/view.hpp"
#include "chord/rl/aggregation.hpp"
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

  void validate() const {
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

  ObjectiveMetrics& operator+=(const ObjectiveMetrics& o) {
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

  // Named as in docs/algorithms.md section 6; a token mean over no tokens reads 0.
  std::vector<std::pair<std::string, double>> named() const {
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

// mixed_objective of a batch whose log-probs live on a GPU. The objective is a loop over [N, L]
// scalars with branches per token (cheap next to the forward pass that made the log-probs), so it
// runs on the host: the inputs are copied there, the host objective gives the loss and, through
// its own backward, d loss / d lp (and d loss / d H); the loss returned lives on the GPU, and its
// backward multiplies those derivatives (copied to the GPU) by the incoming gradient.
template <FloatingPoint T>
ObjectiveResult<T> mixed_objective_from_device(const ObjectiveBatch<T>& batch, double mu, const StepNormalizer& step,
                                               const ObjectiveOptions& options) {
  const Device device = batch.log_probs.device();
  auto host = [](const Tensor<T>& t) { return t.defined() ? t.detach().to(Device::cpu()) : Tensor<T>(); };
  const bool lp_grad = is_grad_enabled() && batch.log_probs.requires_grad();
  const bool entropy_grad = is_grad_enabled() && options.entropy_coef > 0.0 && batch.entropy.defined() &&
                            batch.entropy.requires_grad();
  Tensor<T> lp = host(batch.log_probs), entropy = host(batch.entropy);  // host leaves
  if (lp_grad) lp.set_requires_grad(true);
  if (entropy_grad) entropy.set_requires_grad(true);
  const ObjectiveBatch<T> on_host{.log_probs = lp, .old_log_probs = host(batch.old_log_probs),
                                  .ref_log_probs = host(batch.ref_log_probs), .entropy = entropy,
                                  .mask = host(batch.mask), .advantages = host(batch.advantages),
                                  .kinds = batch.kinds};
  ObjectiveResult<T> result = mixed_objective(on_host, mu, step, options);
  Tensor<T> d_lp, d_entropy;  // [N, L] on the device: d loss / d lp, d loss / d H
  if (result.loss.requires_grad()) {
    result.loss.backward();
    if (lp_grad && lp.grad().defined()) d_lp = lp.grad().to(device);
    if (entropy_grad && entropy.grad().defined()) d_entropy = entropy.grad().to(device);
  }
  Tensor<T> loss = Tensor<T>::full(Shape{}, result.loss.item(), device);
  const Tensor<T> no_entropy;
  const Tensor<T>& entropy_input = entropy_grad ? batch.entropy : no_entropy;
  if (autograd::needs_grad(batch.log_probs, entropy_input))
    autograd::record("MixedObjectiveBackward", loss, {batch.log_probs, entropy_input},
                     [d_lp, d_entropy](const Tensor<T>& g) {
                       auto scaled = [&g](const Tensor<T>& d) {
                         return d.defined() ? ops::map_new<T>("mixed_objective", d, g, fn::Mul{}) : Tensor<T>();
                       };
                       return std::vector<Tensor<T>>{scaled(d_lp), scaled(d_entropy)};
                     });
  return {loss, result.metrics};
}

}  // namespace objective_detail

// The mixed objective of one micro-batch at mixing weight mu in [0, 1], with
// the normalizers of the whole step (which must include this micro-batch).
// The log-probs may live on a GPU (the other inputs anywhere): see
// objective_detail::mixed_objective_from_device.
template <FloatingPoint T>
ObjectiveResult<T> mixed_objective(const ObjectiveBatch<T>& batch, double mu, const StepNormalizer& step,
                                   const ObjectiveOptions& options) {
  const char* op = "mixed_objective";
  options.validate();
  if (batch.log_probs.defined() && batch.log_probs.device().is_cuda())
    return objective_detail::mixed_objective_from_device(batch, mu, step, options);
  check(std::isfinite(mu) && mu >= 0.0 && mu <= 1.0, op, "mu must be in [0, 1], got ", mu);
  ops::check_defined(op, batch.log_probs, "log_probs");
  ops::check_cpu(op, batch.log_probs);
  check(batch.log_probs.dim() == 2, op, "log_probs must have shape [N, L], got ", batch.log_probs.shape());
  const Shape shape = batch.log_probs.shape();
  const int64_t N = shape[0], L = shape[1];
  auto check_like = [&](const Tensor<T>& t, const char* name) {
    check(t.device().is_cpu(), op, name, " must be a cpu tensor, got one on ", t.device());
    check(t.shape() == shape, op, name, " of shape ", t.shape(), " does not match log_probs of shape ", shape);
  };
  ops::check_defined(op, batch.mask, "mask");
  check_like(batch.mask, "mask");
  const std::vector<int64_t> row_tokens = row_token_counts(op, batch.mask);  // [N]
  check(static_cast<int64_t>(batch.kinds.size()) == N, op, batch.kinds.size(), " row kinds for ", N,
        " rows (log_probs of shape ", shape, ")");

  // This micro-batch's counts: which inputs it needs, and a check that `step` includes it.
  const StepNormalizer own = StepNormalizer::of(batch.mask, batch.kinds);
  bool has_on_policy = false;
  for (int64_t i = 0; i < N; ++i) has_on_policy |= batch.kinds[i] == RowKind::OnPolicy && row_tokens[i] > 0;
  for (auto [mine, total, name] : {std::tuple{own.policy, step.policy, "policy"},
                                   std::tuple{own.sft, step.sft, "expert"}, std::tuple{own.all, step.all, "all"}})
    check(mine.tokens <= total.tokens && mine.rows <= total.rows, op, "the StepNormalizer counts ", total.tokens,
          " tokens in ", total.rows, " ", name, " rows, fewer than this micro-batch's ", mine.tokens, " in ",
          mine.rows, ": build it from every micro-batch of the step (StepNormalizer::add) first");

  if (own.policy.tokens > 0) {
    ops::check_defined(op, batch.advantages, "advantages");
    check(batch.advantages.device().is_cpu(), op, "advantages must be a cpu tensor");
    check(batch.advantages.shape() == Shape{N}, op, "advantages of shape ", batch.advantages.shape(),
          " do not match ", N, " rows (expected shape [", N, "])");
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

  // Dense copies (no copy when already contiguous) of the inputs read below: [N, L] each, advantages [N].
  const Tensor<T> lp = ops::dense(batch.log_probs);
  const Tensor<T> mask = ops::dense(batch.mask);
  const Tensor<T> lp_old = has_on_policy ? ops::dense(batch.old_log_probs) : Tensor<T>();
  const Tensor<T> lp_ref = batch.ref_log_probs.defined() ? ops::dense(batch.ref_log_probs) : Tensor<T>();
  const Tensor<T> ent = batch.entropy.defined() ? ops::dense(batch.entropy) : Tensor<T>();
  const Tensor<T> adv = own.policy.tokens > 0 ? ops::dense(batch.advantages) : Tensor<T>();
  for (int64_t i = 0; i < N; ++i)  // only the rows that use their advantage (an expert row's is ignored)
    if (batch.kinds[i] != RowKind::Expert && row_tokens[i] > 0)
      check(std::isfinite(static_cast<double>(adv.data()[i])), op, "advantage of ", to_string(batch.kinds[i]),
            " row ", i, " is ", adv.data()[i]);

  const bool entropy_grad = options.entropy_coef > 0.0 && batch.entropy.requires_grad();
  Tensor<T> d_lp = Tensor<T>::zeros(shape);                             // [N, L]: d loss / d lp
  Tensor<T> d_ent = entropy_grad ? Tensor<T>::zeros(shape) : Tensor<T>();  // [N, L]: d loss / d H
  const PpoClip ppo = options.ppo_clip();
  ObjectiveMetrics metrics = {};
  double kl_sum = 0, entropy_sum = 0;  // the aggregated KL and H of this micro-batch

  for (int64_t i = 0; i < N; ++i) {
    if (row_tokens[i] == 0) continue;
    const RowKind kind = batch.kinds[i];
    const bool expert = kind == RowKind::Expert;
    // Weights of this row's tokens: in their own group's scalar, in the mix, in the all-rows terms.
    const double w_group = aggregation_weight(options.aggregation, options.constant_normalizer,
                                              expert ? step.sft : step.policy, row_tokens[i]);
    const double w_mix = expert ? mu : 1.0 - mu;
    const double w_all = aggregation_weight(options.aggregation, options.constant_normalizer, step.all, row_tokens[i]);
    const double A = adv.defined() ? static_cast<double>(adv.data()[i]) : 0.0;
    for (int64_t t = 0; t < L; ++t) {
      const int64_t k = i * L + t;
      if (mask.data()[k] == T(0)) continue;
      const double lp_t = lp.data()[k];
      TokenLoss l;
      if (kind == RowKind::OnPolicy) {
        const double lp_old_t = lp_old.data()[k];
        const PpoTokenLoss r = ppo_token_loss(lp_t, lp_old_t, A, ppo);
        l = {r.value, r.grad};
        metrics.ppo_kl.add(lp_old_t - lp_t);
        metrics.clip_low.add(r.region == ClipRegion::Low);
        metrics.clip_high.add(r.region == ClipRegion::High);
        metrics.clip_dual.add(r.region == ClipRegion::Dual);
        metrics.on_prob.add(std::exp(lp_t));
      } else if (kind == RowKind::OffPolicy) {
        l = options.shaping ? shaped_off_policy_token_loss(lp_t, A, options.shaping_gamma)
                            : unshaped_off_policy_token_loss(lp_t, A);
        metrics.off_prob.add(std::exp(lp_t));
      } else {
        l = sft_token_loss(lp_t, options.sft_weight);
        metrics.off_prob.add(std::exp(lp_t));
      }
      (expert ? metrics.loss_sft : metrics.loss_policy) += w_group * l.value;
      double grad = w_mix * w_group * l.grad;

      if (lp_ref.defined()) {
        const TokenLoss kl = kl_token(lp_t, lp_ref.data()[k], options.kl);
        metrics.kl.add(kl.value);
        kl_sum += w_all * kl.value;
        grad += options.beta * w_all * kl.grad;
      }
      if (ent.defined()) {
        const double h = ent.data()[k];
        metrics.entropy.add(h);
        entropy_sum += w_all * h;
        if (entropy_grad) d_ent.data()[k] = static_cast<T>(-options.entropy_coef * w_all);
      }
      d_lp.data()[k] = static_cast<T>(grad);
    }
  }
  metrics.loss_kl = options.beta * kl_sum;
  metrics.loss_entropy = -options.entropy_coef * entropy_sum;
  metrics.loss = (1.0 - mu) * metrics.loss_policy + mu * metrics.loss_sft + metrics.loss_kl + metrics.loss_entropy;

  Tensor<T> loss = Tensor<T>::scalar(static_cast<T>(metrics.loss));
  const Tensor<T> no_entropy;
  const Tensor<T>& entropy_input = entropy_grad ? batch.entropy : no_entropy;
  if (autograd::needs_grad(batch.log_probs, entropy_input))
    autograd::record("MixedObjectiveBackward", loss, {batch.log_probs, entropy_input},
                     [d_lp, d_ent](const Tensor<T>& g) {
                       const T s = g.item();
                       auto scaled = [s](const Tensor<T>& d) {
                         return d.defined() ? ops::map_new<T>("mixed_objective", d, fn::Scale<T>{s}) : Tensor<T>();
                       };
                       return std::vector<Tensor<T>>{scaled(d_lp), scaled(d_ent)};
                     });
  return {loss, metrics};
}

}  // namespace chord::rl
