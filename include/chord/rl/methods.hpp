#pragma once
// The post-training methods as configurations of one objective
// (docs/algorithms.md section 4). A Method names a recipe; method_recipe() turns it into what a
// step is made of (which rows, which mu, which loss options).
//
//   method       rows per step                             mu                   loss options
//   SFT          expert rows                               1                    plain weight
//   GRPO         prompts x G rollouts                      0                    PPO clip 0.2, token-mean
//   SFT-then-RL  SFT for sft_steps, then GRPO              1, then 0
//   CHORD-mu     rollouts + expert rows                    0.9 -> 0.05 (cosine) plain weight
//   CHORD-phi    rollouts + expert rows                    0.1 fixed            phi = p(1-p) weight
//   LUFFY        prompts x (G_on rollouts + G_off demos)   0                    no clip, p/(p+0.1) shaping,
//                (dr_grpo over the mixed group)                                 sum / max length, entropy 1e-3

#include <cstdint>
#include <string_view>

#include "chord/core/non_templates.hpp"
#include "chord/rl/advantages.hpp"
#include "chord/rl/mu_schedule.hpp"
#include "chord/rl/objective.hpp"

namespace chord::rl {

enum class Method { SFT, GRPO, SFTThenRL, CHORDMu, CHORDPhi, LUFFY };

const char* to_string(Method m);

Method method_from_string(std::string_view name);

// What one step of a method is made of.
struct Recipe {
  bool on_policy = false;        // sample rollouts of RL prompts
  bool expert_rows = false;      // add Expert rows (the SFT term)
  bool off_policy_in_group = false;  // LUFFY: demonstrations inside each group, as OffPolicy rows
  MuSchedule mu = MuSchedule::constant(0.0);
  AdvantageEstimator advantage = AdvantageEstimator::GRPO;
  ObjectiveOptions objective = {};
};

// The recipe of `method` at `step` (SFT-then-RL changes recipe after sft_steps). decay_steps is
// CHORD-mu's D (the paper decays over the first 200 of its steps); max_response_length is
// LUFFY's constant normalizer.
Recipe method_recipe(Method method, int64_t step, int64_t sft_steps, int64_t decay_steps,
                     int64_t max_response_length);

}  // namespace chord::rl

#if CHORD_DEFINES_NON_TEMPLATES
#include "chord/core/error.hpp"

namespace chord::rl {

CHORD_INLINE const char* to_string(Method m) {
  switch (m) {
    case Method::SFT: return "SFT";
    case Method::GRPO: return "GRPO";
    case Method::SFTThenRL: return "SFT-then-RL";
    case Method::CHORDMu: return "CHORD-mu";
    case Method::CHORDPhi: return "CHORD-phi";
    case Method::LUFFY: return "LUFFY";
  }
  return "?";
}

CHORD_INLINE Method method_from_string(std::string_view name) {
  for (Method m : {Method::SFT, Method::GRPO, Method::SFTThenRL, Method::CHORDMu, Method::CHORDPhi, Method::LUFFY})
    if (name == to_string(m)) return m;
  fail("method_from_string", "unknown method '", name, "' (expected SFT, GRPO, SFT-then-RL, CHORD-mu, CHORD-phi or LUFFY)");
}

CHORD_INLINE Recipe method_recipe(Method method, int64_t step, int64_t sft_steps, int64_t decay_steps,
                                  int64_t max_response_length) {
  Recipe r;
  switch (method) {
    case Method::SFT:
      r.expert_rows = true;
      r.mu = MuSchedule::constant(1.0);
      break;
    case Method::SFTThenRL:
      if (step <= sft_steps) return method_recipe(Method::SFT, step, 0, decay_steps, max_response_length);
      return method_recipe(Method::GRPO, step, 0, decay_steps, max_response_length);
    case Method::GRPO:
      r.on_policy = true;
      break;
    case Method::CHORDMu:
      r.on_policy = r.expert_rows = true;
      r.mu = MuSchedule{.peak = 0.9, .valley = 0.05, .warmup_steps = 0, .decay_steps = decay_steps};
      break;
    case Method::CHORDPhi:
      r.on_policy = r.expert_rows = true;
      r.mu = MuSchedule::constant(0.1);
      r.objective.sft_weight = SftWeight::Phi;
      break;
    case Method::LUFFY:
      r.on_policy = r.off_policy_in_group = true;
      r.advantage = AdvantageEstimator::DrGRPO;
      r.objective.clip = false;
      r.objective.aggregation = Aggregation::Constant;
      r.objective.constant_normalizer = static_cast<double>(max_response_length);
      r.objective.entropy_coef = 0.001;
      break;
  }
  return r;
}

}  // namespace chord::rl
#endif  // CHORD_DEFINES_NON_TEMPLATES
