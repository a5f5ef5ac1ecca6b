// The method definitions (rl/methods.hpp) against the papers' settings as docs/algorithms.md
// states them (section 5, "The methods", and section 4 for mu): one row per method, every
// field of the recipe a method sets, at the steps where a recipe changes.

#include <doctest/doctest.h>

#include <chord/chord.hpp>

#include <cmath>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

using namespace chord::rl;

namespace {

constexpr int64_t kSftSteps = 100, kDecaySteps = 200, kMaxResponse = 48;

// What docs/algorithms.md says each method is.
struct Expected {
  const char* name;
  bool on_policy, expert_rows, off_policy_in_group;
  AdvantageEstimator advantage;
  SftWeight sft_weight;
  bool clip;
  Aggregation aggregation;
  double constant_normalizer, entropy_coef;
  double mu_at_1, mu_mid, mu_end;  // mu at step 1, at D / 2 (the cosine's midpoint), from D on
};

// CHORD-mu's cosine from 0.9 to 0.05 over D steps, at step s: 0.05 + 0.85 * (1 + cos(pi s / D)) / 2.
double chord_mu_at(int64_t step) {
  return 0.05 + (0.9 - 0.05) * 0.5 * (1 + std::cos(std::numbers::pi * static_cast<double>(step) / kDecaySteps));
}
const double kChordMuFirst = chord_mu_at(1);              // 0.89995: the decay starts at once (no warm-up)
const double kChordMuMid = chord_mu_at(kDecaySteps / 2);  // 0.475

const std::vector<Expected> kTable = {
    // name          on    expert off-in-group  advantage                     weight             clip  aggregation             C             entropy mu(1) mu(D/2) mu(D..)
    {"SFT",          false, true,  false, AdvantageEstimator::GRPO,   SftWeight::Plain, true,  Aggregation::TokenMean, 0,            0,     1.0,  1.0,        1.0},
    {"GRPO",         true,  false, false, AdvantageEstimator::GRPO,   SftWeight::Plain, true,  Aggregation::TokenMean, 0,            0,     0.0,  0.0,        0.0},
    {"CHORD-mu",     true,  true,  false, AdvantageEstimator::GRPO,   SftWeight::Plain, true,  Aggregation::TokenMean, 0,            0,     kChordMuFirst, kChordMuMid, 0.05},
    {"CHORD-phi",    true,  true,  false, AdvantageEstimator::GRPO,   SftWeight::Phi,   true,  Aggregation::TokenMean, 0,            0,     0.1,  0.1,        0.1},
    {"LUFFY",        true,  false, true,  AdvantageEstimator::DrGRPO, SftWeight::Plain, false, Aggregation::Constant,  kMaxResponse, 0.001, 0.0,  0.0,        0.0},
};

Method method_named(const std::string& name) {
  for (Method m : {Method::SFT, Method::GRPO, Method::SFTThenRL, Method::CHORDMu, Method::CHORDPhi, Method::LUFFY})
    if (to_string(m) == name) return m;
  FAIL("no method named " << name);
  return Method::GRPO;
}

void check_recipe(const Recipe& r, const Expected& e, int64_t step) {
  const std::string name = e.name;
  CAPTURE(name);
  CAPTURE(step);
  CHECK(r.on_policy == e.on_policy);
  CHECK(r.expert_rows == e.expert_rows);
  CHECK(r.off_policy_in_group == e.off_policy_in_group);
  CHECK(r.advantage == e.advantage);
  CHECK(r.objective.sft_weight == e.sft_weight);
  CHECK(r.objective.clip == e.clip);
  CHECK(r.objective.aggregation == e.aggregation);
  CHECK(r.objective.constant_normalizer == doctest::Approx(e.constant_normalizer));
  CHECK(r.objective.entropy_coef == doctest::Approx(e.entropy_coef));
  // Shared by every method: PPO's eps 0.2 both sides, no dual clip, LUFFY's gamma 0.1, no KL.
  CHECK(r.objective.eps_low == 0.2);
  CHECK(r.objective.eps_high == 0.2);
  CHECK_FALSE(r.objective.dual_clip.has_value());
  CHECK(r.objective.shaping_gamma == 0.1);
  CHECK(r.objective.beta == 0.0);
}

}  // namespace

TEST_CASE("methods: every recipe matches docs/algorithms.md's table, mu at the schedule's turning points") {
  for (const Expected& e : kTable) {
    const Method m = method_named(e.name);
    for (int64_t step : {int64_t{1}, kDecaySteps / 2, kDecaySteps, 5 * kDecaySteps}) {
      const Recipe r = method_recipe(m, step, kSftSteps, kDecaySteps, kMaxResponse);
      check_recipe(r, e, step);
      const double expected_mu = step == 1 ? e.mu_at_1 : step == kDecaySteps / 2 ? e.mu_mid : e.mu_end;
      const std::string name = e.name;
      CAPTURE(name);
      CAPTURE(step);
      CHECK(r.mu.mu(step) == doctest::Approx(expected_mu).epsilon(1e-12));
    }
  }
}

TEST_CASE("methods: CHORD-mu decays over mu_decay_steps with no warm-up; CHORD-phi's mu never moves") {
  const Recipe mu = method_recipe(Method::CHORDMu, 1, 0, kDecaySteps, kMaxResponse);
  CHECK(mu.mu.peak == 0.9);
  CHECK(mu.mu.valley == 0.05);
  CHECK(mu.mu.warmup_steps == 0);
  CHECK(mu.mu.decay_steps == kDecaySteps);
  double previous = 1.0;
  for (int64_t step = 1; step <= kDecaySteps; ++step) {  // falls monotonically, then stays at the valley
    const double now = mu.mu.mu(step);
    CHECK(now <= previous);
    previous = now;
  }
  CHECK(mu.mu.mu(kDecaySteps + 1) == 0.05);
  const Recipe phi = method_recipe(Method::CHORDPhi, 1, 0, kDecaySteps, kMaxResponse);
  for (int64_t step : {1, 7, 1000}) CHECK(phi.mu.mu(step) == 0.1);
}

TEST_CASE("methods: SFT-then-RL is SFT up to and including sft_steps, then GRPO") {
  const Expected& sft = kTable[0];
  const Expected& grpo = kTable[1];
  for (int64_t step : {int64_t{1}, kSftSteps}) {
    const Recipe r = method_recipe(Method::SFTThenRL, step, kSftSteps, kDecaySteps, kMaxResponse);
    check_recipe(r, sft, step);
    CHECK(r.mu.mu(step) == 1.0);
  }
  for (int64_t step : {kSftSteps + 1, 10 * kSftSteps}) {
    const Recipe r = method_recipe(Method::SFTThenRL, step, kSftSteps, kDecaySteps, kMaxResponse);
    check_recipe(r, grpo, step);
    CHECK(r.mu.mu(step) == 0.0);
  }
}

TEST_CASE("methods: LUFFY's constant normalizer is the response budget it is given") {
  for (int64_t budget : {16, 48, 100}) {
    const Recipe r = method_recipe(Method::LUFFY, 1, 0, kDecaySteps, budget);
    CHECK(r.objective.constant_normalizer == static_cast<double>(budget));
  }
}
