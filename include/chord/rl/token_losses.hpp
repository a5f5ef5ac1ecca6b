#pragma once
// The per-token losses of the mixed policy objective (docs/algorithms.md section 2),
// each as a value and its derivative with respect to the token's current
// log-prob lp (the only input that carries a gradient; everything else is
// treated as a constant, i.e. under stop-gradient). They are the scalar
// reference of the tensor token losses in rl/policy_losses.hpp, which
// rl/objective.hpp composes: the tests check the objective's value, gradient
// and metrics against a token loop over these (tests/test_rl_objective_oracle.cpp),
// and each reads like its equation.
//
//   PPO-clip (on-policy, GRPO), rho = exp(lp - lp_old):
//     l = max(-A rho, -A clip(rho, 1 - eps_low, 1 + eps_high));  dual clip (A < 0): l = min(l, -A c)
//   LUFFY shaped off-policy token, p = exp(lp), f(p) = p / (p + gamma):
//     l = -A f(p),  dl/dlp = -A gamma p / (p + gamma)^2
//   SFT token on an expert row: s = -w lp, w = 1 | sg(p (1 - p)) | sg(p)
//   KL to a reference, d = lp_ref - lp: k1 = -d, k2 = d^2 / 2, k3 = exp(d) - d - 1 (clamped to [-10, 10])
//
// Everything is computed in double.

#include <optional>
#include <string_view>

#include "chord/core/non_templates.hpp"

namespace chord::rl {

// A token loss and its derivative d loss / d lp.
struct TokenLoss {
  double value = 0;
  double grad = 0;
};

// ---- PPO-clip ---------------------------------------------------------------

// Which branch decided a PPO token's loss. Low / High: the clipped term won the
// max (the ratio left the trust region in the direction the advantage pushes:
// rho < 1 - eps_low with A < 0, rho > 1 + eps_high with A > 0), so the token has
// no gradient; this is what clip_ratio/low and clip_ratio/high count. Dual: the
// dual clip capped the loss of a token with A < 0 at -A c (no gradient either).
enum class ClipRegion { None, Low, High, Dual };

struct PpoClip {
  double eps_low = 0.2;
  double eps_high = 0.2;
  bool clip = true;                  // false: l = -A rho (LUFFY's reference run)
  std::optional<double> dual_clip = std::nullopt;  // c (e.g. 3), applied when A < 0
};

struct PpoTokenLoss {
  double value = 0;
  double grad = 0;   // d l / d lp
  double ratio = 1;  // rho
  ClipRegion region = ClipRegion::None;
};

// l = max(u, c) with u = -A rho and c = -A clip(rho): when rho is inside the
// range, u = c and dl/dlp = d(-A rho)/dlp = -A rho (drho/dlp = rho); when the
// clipped term is larger, it is constant in lp and dl/dlp = 0. The dual clip
// replaces l by -A c_dual (constant) when that is smaller.
PpoTokenLoss ppo_token_loss(double lp, double lp_old, double advantage, const PpoClip& options = {});

// ---- LUFFY off-policy shaping ---------------------------------------------------

// l = -A p / (p + gamma) with p = exp(lp); the gradient flows through p
// (no detach, no old log-prob, no clip): dl/dlp = -A * gamma p / (p + gamma)^2.
TokenLoss shaped_off_policy_token_loss(double lp, double advantage, double gamma);

// The same term without the shaping (LUFFY's ablation, gamma -> plain p): l = -A p, the
// gradient through p: dl/dlp = -A p. It fades with p, so the expert's rare tokens barely move.
TokenLoss unshaped_off_policy_token_loss(double lp, double advantage);

// ---- SFT ----------------------------------------------------------------------

enum class SftWeight {
  Plain,       // w = 1                  (SFT, CHORD-mu)
  Phi,         // w = sg(p (1 - p))      (CHORD-phi)
  Importance,  // w = sg(p)              (SFT-IS)
};

// s = -w lp with the weight w under stop-gradient: ds/dlp = -w.
TokenLoss sft_token_loss(double lp, SftWeight weighting);

// ---- KL to a reference policy ----------------------------------------------------

enum class KLEstimator { K1, K2, K3 };

// With d = lp_ref - lp (so dd/dlp = -1):
//   k1 = -d,                dk1/dlp = 1
//   k2 = d^2 / 2,           dk2/dlp = -d
//   k3 = exp(d) - d - 1,    dk3/dlp = 1 - exp(d); clamped to [-10, 10], with no gradient where clamped.
TokenLoss kl_token(double lp, double lp_ref, KLEstimator estimator);

// ---- names, for configuration files and command lines ----------------------------

const char* to_string(SftWeight w);
SftWeight sft_weight_from_string(std::string_view name);

const char* to_string(KLEstimator k);
KLEstimator kl_estimator_from_string(std::string_view name);

}  // namespace chord::rl

#if CHORD_DEFINES_NON_TEMPLATES
#include <algorithm>
#include <cmath>
#include <string>

#include "chord/core/error.hpp"

namespace chord::rl {

CHORD_INLINE PpoTokenLoss ppo_token_loss(double lp, double lp_old, double advantage, const PpoClip& options) {
  PpoTokenLoss out;
  const double rho = std::exp(lp - lp_old);
  out.ratio = rho;
  out.value = -advantage * rho;
  out.grad = -advantage * rho;
  if (options.clip) {
    const double clipped = std::clamp(rho, 1.0 - options.eps_low, 1.0 + options.eps_high);
    const double clipped_loss = -advantage * clipped;
    if (clipped_loss > out.value) {
      out.value = clipped_loss;
      out.grad = 0;
      out.region = rho < 1.0 ? ClipRegion::Low : ClipRegion::High;
    }
  }
  if (options.dual_clip && advantage < 0) {
    const double cap = -advantage * *options.dual_clip;
    if (out.value > cap) {
      out.value = cap;
      out.grad = 0;
      out.region = ClipRegion::Dual;
    }
  }
  return out;
}

CHORD_INLINE TokenLoss shaped_off_policy_token_loss(double lp, double advantage, double gamma) {
  const double p = std::exp(lp);
  const double denom = p + gamma;
  return {-advantage * p / denom, -advantage * gamma * p / (denom * denom)};
}

CHORD_INLINE TokenLoss unshaped_off_policy_token_loss(double lp, double advantage) {
  const double p = std::exp(lp);
  return {-advantage * p, -advantage * p};
}

CHORD_INLINE TokenLoss sft_token_loss(double lp, SftWeight weighting) {
  double w = 1.0;
  if (weighting != SftWeight::Plain) {
    const double p = std::exp(lp);
    w = weighting == SftWeight::Phi ? p * (1.0 - p) : p;
  }
  return {-w * lp, -w};
}

CHORD_INLINE TokenLoss kl_token(double lp, double lp_ref, KLEstimator estimator) {
  const double d = lp_ref - lp;
  switch (estimator) {
    case KLEstimator::K1: return {-d, 1.0};
    case KLEstimator::K2: return {0.5 * d * d, -d};
    case KLEstimator::K3: {
      const double e = std::exp(d);
      const double k = e - d - 1.0;
      if (k > 10.0) return {10.0, 0.0};
      if (k < -10.0) return {-10.0, 0.0};
      return {k, 1.0 - e};
    }
  }
  return {};
}

CHORD_INLINE const char* to_string(SftWeight w) {
  switch (w) {
    case SftWeight::Plain: return "plain";
    case SftWeight::Phi: return "phi";
    case SftWeight::Importance: return "importance";
  }
  return "?";
}

CHORD_INLINE SftWeight sft_weight_from_string(std::string_view name) {
  for (SftWeight w : {SftWeight::Plain, SftWeight::Phi, SftWeight::Importance})
    if (name == to_string(w)) return w;
  fail("sft_weight_from_string", "unknown SFT weighting '", std::string(name), "' (expected plain, phi or importance)");
}

CHORD_INLINE const char* to_string(KLEstimator k) {
  switch (k) {
    case KLEstimator::K1: return "k1";
    case KLEstimator::K2: return "k2";
    case KLEstimator::K3: return "k3";
  }
  return "?";
}

CHORD_INLINE KLEstimator kl_estimator_from_string(std::string_view name) {
  for (KLEstimator k : {KLEstimator::K1, KLEstimator::K2, KLEstimator::K3})
    if (name == to_string(k)) return k;
  fail("kl_estimator_from_string", "unknown KL estimator '", std::string(name), "' (expected k1, k2 or k3)");
}

}  // namespace chord::rl
#endif  // CHORD_DEFINES_NON_TEMPLATES
