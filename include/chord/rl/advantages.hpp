#pragma once
// Group-relative advantages (docs/algorithms.md section 1).
//
// Rewards arrive flat, group after group: rewards[g * G + j] is member j of
// group g (G responses to one prompt; for LUFFY, a group's on- and off-policy
// members together). Per group, with mean and std over its G rewards:
//
//   grpo     A_i = (r_i - mean) / (std + 1e-6),  std unbiased (divided by G - 1)
//   dr_grpo  A_i = r_i - mean
//   rloo     A_i = r_i - mean_{j != i} r_j  =  r_i - (sum - r_i) / (G - 1)
//
// A group whose rewards are all equal gets A = 0 exactly for every member
// (computing it would leave rounding residue such as 0.1 - mean(0.1, 0.1, 0.1)),
// and is counted in frac_reward_zero_std. G < 2, a reward count not divisible
// by G, or a non-finite reward is an error.
//
//   auto adv = chord::rl::group_advantages(rewards, /*group_size=*/8, chord::rl::AdvantageEstimator::DrGRPO);
//   adv.values[i], adv.frac_reward_zero_std

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "chord/core/non_templates.hpp"

namespace chord::rl {

enum class AdvantageEstimator { GRPO, DrGRPO, RLOO };

struct Advantages {
  std::vector<double> values = {};  // one per reward, in the rewards' order
  double frac_reward_zero_std = 0;  // share of groups whose rewards are all equal
};

Advantages group_advantages(std::span<const double> rewards, int64_t group_size,
                            AdvantageEstimator estimator = AdvantageEstimator::GRPO);

const char* to_string(AdvantageEstimator e);
AdvantageEstimator advantage_estimator_from_string(std::string_view name);

}  // namespace chord::rl

#if CHORD_DEFINES_NON_TEMPLATES
#include <cmath>
#include <string>

#include "chord/core/error.hpp"

namespace chord::rl {

CHORD_INLINE Advantages group_advantages(std::span<const double> rewards, int64_t group_size,
                                         AdvantageEstimator estimator) {
  const char* op = "group_advantages";
  const int64_t n = static_cast<int64_t>(rewards.size());
  check(group_size >= 2, op, "group_size must be >= 2 (group-relative advantages compare members), got ",
        group_size);
  check(n % group_size == 0, op, n, " rewards do not split into groups of ", group_size);
  for (int64_t i = 0; i < n; ++i) check(std::isfinite(rewards[i]), op, "reward ", i, " is ", rewards[i]);

  const int64_t groups = n / group_size;
  const double G = static_cast<double>(group_size);
  Advantages out;
  out.values.assign(n, 0.0);
  int64_t zero_std = 0;
  for (int64_t g = 0; g < groups; ++g) {
    const std::span<const double> r = rewards.subspan(g * group_size, group_size);
    double* a = out.values.data() + g * group_size;
    bool all_equal = true;
    double sum = 0;
    for (double v : r) {
      all_equal &= v == r[0];
      sum += v;
    }
    if (all_equal) {  // no signal: A = 0 (already), but the tokens still count in the normalizer
      ++zero_std;
      continue;
    }
    const double mean = sum / G;
    switch (estimator) {
      case AdvantageEstimator::GRPO: {
        double ss = 0;
        for (double v : r) ss += (v - mean) * (v - mean);
        const double std = std::sqrt(ss / (G - 1.0));
        for (int64_t j = 0; j < group_size; ++j) a[j] = (r[j] - mean) / (std + 1e-6);
        break;
      }
      case AdvantageEstimator::DrGRPO:
        for (int64_t j = 0; j < group_size; ++j) a[j] = r[j] - mean;
        break;
      case AdvantageEstimator::RLOO:
        for (int64_t j = 0; j < group_size; ++j) a[j] = r[j] - (sum - r[j]) / (G - 1.0);
        break;
    }
  }
  out.frac_reward_zero_std = groups > 0 ? static_cast<double>(zero_std) / static_cast<double>(groups) : 0.0;
  return out;
}

CHORD_INLINE const char* to_string(AdvantageEstimator e) {
  switch (e) {
    case AdvantageEstimator::GRPO: return "grpo";
    case AdvantageEstimator::DrGRPO: return "dr_grpo";
    case AdvantageEstimator::RLOO: return "rloo";
  }
  return "?";
}

CHORD_INLINE AdvantageEstimator advantage_estimator_from_string(std::string_view name) {
  for (AdvantageEstimator e : {AdvantageEstimator::GRPO, AdvantageEstimator::DrGRPO, AdvantageEstimator::RLOO})
    if (name == to_string(e)) return e;
  fail("advantage_estimator_from_string", "unknown advantage estimator '", std::string(name),
       "' (expected grpo, dr_grpo or rloo)");
}

}  // namespace chord::rl
#endif  // CHORD_DEFINES_NON_TEMPLATES
