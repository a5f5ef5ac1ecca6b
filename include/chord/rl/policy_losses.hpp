#pragma once
// The per-token losses of the mixed objective (docs/algorithms.md section 2) as functions of
// tensors: each takes [N, L] inputs (an advantage may be [N, 1]: one per row, broadcast along the
// row) and returns the [N, L] token losses, built from differentiable ops only (exp, clamp,
// maximum, where, mul, div, detach, ...), so autograd differentiates them on the CPU and on a GPU
// alike. rl/aggregation.hpp's aggregate() then makes a scalar of them, and rl/objective.hpp mixes
// the scalars. A new loss (a sequence-level ratio, a clipped importance weight, ...) is one more
// function like these: its gradient comes from autograd, not from a derivation by hand.
//
//   PPO-clip (on-policy), rho = exp(lp - lp_old):
//     l = max(-A rho, -A clip(rho, 1 - eps_low, 1 + eps_high));  dual clip (A < 0): l = min(l, -A c)
//   LUFFY's shaped off-policy loss, p = exp(lp):  l = -A p / (p + gamma)     (unshaped: l = -A p)
//   SFT on an expert row:  s = -w lp, w = 1 | sg(p (1 - p)) | sg(p)
//   KL to a reference, d = lp_ref - lp:  k1 = -d, k2 = d^2 / 2, k3 = exp(d) - d - 1 (clamped to [-10, 10])
//   entropy bonus:  -H (the objective scales it by entropy_coef)
//
// The scalar functions of rl/token_losses.hpp compute the same values and derivatives one token
// at a time, in double; the tests use them as the oracle of these. lp_old, lp_ref and the
// advantages are constants here (their gradient, if any, is dropped): only lp (and H) carry one.
// Every input must be finite where the loss is read; rl/objective.hpp fills the positions outside
// the response mask with finite values before calling these.

#include <limits>

#include "chord/core/tensor.hpp"
#include "chord/ops/arithmetic.hpp"
#include "chord/ops/compare.hpp"
#include "chord/ops/pointwise.hpp"
#include "chord/ops/view.hpp"
#include "chord/rl/token_losses.hpp"

namespace chord::rl {

namespace policy_loss_detail {
// A 0-d tensor on `device`, to broadcast against [N, L] tensors.
template <FloatingPoint T>
Tensor<T> constant(T value, Device device) {
  return Tensor<T>::full(Shape{}, value, device);
}
// 1 where `condition`, 0 elsewhere (a constant: no gradient).
template <FloatingPoint T>
Tensor<T> indicator(const Tensor<bool>& condition, Device device) {
  return ops::where(condition, constant(T(1), device), constant(T(0), device));
}
}  // namespace policy_loss_detail

// ---- PPO-clip ---------------------------------------------------------------

// PPO-clip token losses and, as 0/1 constants of the same shape, the clip region of each token
// (ClipRegion, rl/token_losses.hpp): Low / High where the clipped term won the max (no gradient),
// Dual where the dual clip capped the loss (no gradient either). The regions exclude each other.
template <FloatingPoint T>
struct PpoTokenLosses {
  Tensor<T> loss = {};       // [N, L]
  Tensor<T> ratio = {};      // rho = exp(lp - lp_old), [N, L] (differentiable)
  Tensor<T> clip_low = {};   // [N, L], 1 in ClipRegion::Low
  Tensor<T> clip_high = {};  // [N, L], 1 in ClipRegion::High
  Tensor<T> clip_dual = {};  // [N, L], 1 in ClipRegion::Dual
};

// lp, lp_old [N, L]; advantages [N, 1] or [N, L]. The max of the two terms is ops::maximum: where
// rho is inside the range the terms are equal and the tie splits the gradient in halves that add
// up to d(-A rho)/dlp; where the clipped term is larger, clamp passes no gradient. The dual clip
// replaces the loss by the constant -A c where that is smaller (ops::where, so a token exactly at
// the cap keeps its gradient, as in ppo_token_loss).
template <FloatingPoint T>
PpoTokenLosses<T> ppo_token_losses(const Tensor<T>& lp, const Tensor<T>& lp_old, const Tensor<T>& advantages,
                                   const PpoClip& options = {}) {
  using namespace policy_loss_detail;
  const Device device = lp.device();
  PpoTokenLosses<T> out;
  const Tensor<T> neg_adv = ops::neg(advantages.detach());
  out.ratio = ops::exp(ops::sub(lp, lp_old.detach()));
  const Tensor<T> unclipped = ops::mul(neg_adv, out.ratio);
  Tensor<T> loss = unclipped;
  const Tensor<T> zero = Tensor<T>::zeros(out.ratio.shape(), device);  // no token clipped
  out.clip_low = zero;
  out.clip_high = zero;
  out.clip_dual = zero;
  if (options.clip) {
    const Tensor<T> clipped = ops::mul(
        neg_adv, ops::clamp(out.ratio, static_cast<T>(1.0 - options.eps_low), static_cast<T>(1.0 + options.eps_high)));
    loss = ops::maximum(unclipped, clipped);
    const Tensor<T> won = indicator<T>(ops::gt(clipped.detach(), unclipped.detach()), device);
    const Tensor<T> below = indicator<T>(ops::lt(out.ratio.detach(), T(1)), device);
    out.clip_low = ops::mul(won, below);
    out.clip_high = ops::sub(won, out.clip_low);
  }
  if (options.dual_clip) {
    // The cap -A c where A < 0, +infinity elsewhere (the dual clip ignores A >= 0).
    const Tensor<T> cap = ops::where(ops::lt(advantages.detach(), T(0)),
                                     ops::scale_shift(neg_adv, static_cast<T>(*options.dual_clip), T(0)),
                                     constant(std::numeric_limits<T>::infinity(), device));
    const Tensor<bool> capped = ops::gt(loss.detach(), cap);
    loss = ops::where(capped, cap, loss);
    out.clip_dual = indicator<T>(capped, device);
    const Tensor<T> keep = ops::scale_shift(out.clip_dual, T(-1), T(1));  // 1 - dual
    out.clip_low = ops::mul(out.clip_low, keep);
    out.clip_high = ops::mul(out.clip_high, keep);
  }
  out.loss = loss;
  return out;
}

// ---- LUFFY off-policy tokens ----------------------------------------------------------

// l = -A p / (p + gamma), p = exp(lp), the gradient through p (no ratio, no clip):
// dl/dlp = -A gamma p / (p + gamma)^2. advantages [N, 1] or [N, L].
template <FloatingPoint T>
Tensor<T> shaped_off_policy_token_losses(const Tensor<T>& lp, const Tensor<T>& advantages, double gamma) {
  const Tensor<T> p = ops::exp(lp);
  return ops::div(ops::mul(ops::neg(advantages.detach()), p), ops::scale_shift(p, T(1), static_cast<T>(gamma)));
}

// LUFFY's ablation without the shaping: l = -A p, dl/dlp = -A p.
template <FloatingPoint T>
Tensor<T> unshaped_off_policy_token_losses(const Tensor<T>& lp, const Tensor<T>& advantages) {
  return ops::mul(ops::neg(advantages.detach()), ops::exp(lp));
}

// ---- SFT ----------------------------------------------------------------------

// s = -w lp with the weight under stop-gradient: Plain w = 1, Phi w = sg(p (1 - p)),
// Importance w = sg(p); ds/dlp = -w.
template <FloatingPoint T>
Tensor<T> sft_token_losses(const Tensor<T>& lp, SftWeight weighting) {
  if (weighting == SftWeight::Plain) return ops::neg(lp);
  const Tensor<T> p = ops::exp(lp.detach());
  const Tensor<T> w = weighting == SftWeight::Phi ? ops::mul(p, ops::scale_shift(p, T(-1), T(1))) : p;
  return ops::neg(ops::mul(w, lp));
}

// ---- KL to a reference policy ----------------------------------------------------

// With d = lp_ref - lp (lp_ref a constant): k1 = -d, k2 = d^2 / 2, k3 = exp(d) - d - 1 clamped to
// [-10, 10] (no gradient where clamped).
template <FloatingPoint T>
Tensor<T> kl_token_losses(const Tensor<T>& lp, const Tensor<T>& lp_ref, KLEstimator estimator) {
  const Tensor<T> d = ops::sub(lp_ref.detach(), lp);
  switch (estimator) {
    case KLEstimator::K1: return ops::neg(d);
    case KLEstimator::K2: return ops::scale_shift(ops::mul(d, d), T(0.5), T(0));
    case KLEstimator::K3:
      return ops::clamp(ops::scale_shift(ops::sub(ops::exp(d), d), T(1), T(-1)), T(-10), T(10));
  }
  fail("kl_token_losses", "unknown KL estimator");
}

// ---- entropy bonus -------------------------------------------------------------------

// The bonus as a token loss: -H (the gradient flows to H when it requires grad).
template <FloatingPoint T>
Tensor<T> entropy_bonus_token_losses(const Tensor<T>& entropy) {
  return ops::neg(entropy);
}

}  // namespace chord::rl
