// The rl core: per-token losses, group advantages, aggregation with step
// normalizers, the one mixed objective, and the mu schedule (docs/algorithms.md).

#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "test_util.hpp"

using namespace chord;
using namespace chord::testing;
using rl::RowKind;

namespace {


// Central finite difference of a scalar function.
template <class F>
double numeric_derivative(F f, double x, double h = 1e-6) {
  return (f(x + h) - f(x - h)) / (2 * h);
}

// A batch of rows with random log-probs; rows' loss tokens are the spans (start, length).
struct Batch {
  TensorD lp, lp_old, lp_ref, entropy, mask, adv;
  std::vector<RowKind> kinds;
  int64_t N = 0, L = 0;

  // Rows [begin, end) as an objective input, reading lp and entropy through views of the given leaves.
  rl::ObjectiveBatch<double> rows(int64_t begin, int64_t end, const TensorD& lp_leaf,
                                  const TensorD& entropy_leaf) const {
    const int64_t n = end - begin;
    return {.log_probs = lp_leaf.narrow(0, begin, n),
            .old_log_probs = lp_old.narrow(0, begin, n),
            .ref_log_probs = lp_ref.narrow(0, begin, n),
            .entropy = entropy_leaf.narrow(0, begin, n),
            .mask = mask.narrow(0, begin, n),
            .advantages = adv.narrow(0, begin, n),
            .kinds = std::vector<RowKind>(kinds.begin() + begin, kinds.begin() + end)};
  }
  rl::ObjectiveBatch<double> all() const { return rows(0, N, lp, entropy); }
};

Batch random_batch(const std::vector<RowKind>& kinds, const std::vector<std::pair<int64_t, int64_t>>& spans,
                   int64_t L, uint64_t seed) {
  Batch b;
  b.N = static_cast<int64_t>(kinds.size());
  b.L = L;
  b.kinds = kinds;
  Generator gen(seed);
  std::vector<double> lp, lp_old, lp_ref, ent, mask, adv;
  for (int64_t i = 0; i < b.N; ++i) {
    adv.push_back(gen.normal());
    for (int64_t t = 0; t < L; ++t) {
      const double v = -0.05 - 0.8 * std::abs(gen.normal());
      lp.push_back(v);
      lp_old.push_back(v + 0.4 * gen.normal());
      lp_ref.push_back(v + 0.5 * gen.normal());
      ent.push_back(0.1 + std::abs(gen.normal()));
      mask.push_back(t >= spans[i].first && t < spans[i].first + spans[i].second ? 1.0 : 0.0);
    }
  }
  const Shape shape{b.N, L};
  b.lp = TensorD::from_vector(lp, shape);
  b.lp.set_requires_grad();
  b.lp_old = TensorD::from_vector(lp_old, shape);
  b.lp_ref = TensorD::from_vector(lp_ref, shape);
  b.entropy = TensorD::from_vector(ent, shape);
  b.entropy.set_requires_grad();
  b.mask = TensorD::from_vector(mask, shape);
  b.adv = TensorD::from_vector(adv);
  return b;
}

// Seven rows of every kind, of different lengths, one of them (row 4) with no loss token.
Batch mixed_batch(uint64_t seed) {
  return random_batch({On, On, Off, Ex, On, Ex, Off}, {{1, 4}, {0, 2}, {2, 3}, {0, 5}, {0, 0}, {3, 2}, {1, 1}}, 5,
                      seed);
}


std::map<std::string, double> as_map(const rl::ObjectiveMetrics& m) {
  std::map<std::string, double> out;
  for (const auto& [name, value] : m.named()) out[name] = value;
  return out;
}

}  // namespace

// ---- token losses -------------------------------------------------------------------

TEST_CASE("PPO-clip token loss: each branch of the clip and the dual clip, by hand") {
  // lp_old = 0 and lp = log(rho). l = max(-A rho, -A clip(rho, 0.8, 1.2)); where the unclipped term is
  // the max, dl/dlp = -A rho (d rho / d lp = rho); where the clipped term is, it is constant: 0.
  struct Case {
    double rho, A;
    rl::PpoClip clip;
    double value, grad;
    rl::ClipRegion region;
  };
  const rl::PpoClip standard{}, dual{.dual_clip = 3.0}, off{.clip = false}, wide{.eps_high = 0.28};
  using R = rl::ClipRegion;
  const Case cases[] = {
      {1.1, 2.0, standard, -2.2, -2.2, R::None},   // inside the range: -A rho
      {1.5, 2.0, standard, -2.4, 0.0, R::High},    // A > 0, rho > 1.2: -A * 1.2 = -2.4 > -3.0
      {1.5, -1.0, standard, 1.5, 1.5, R::None},    // A < 0, rho > 1.2: 1.5 > 1.2, unclipped
      {0.5, -1.0, standard, 0.8, 0.0, R::Low},     // A < 0, rho < 0.8: -A * 0.8 = 0.8 > 0.5
      {0.5, 1.0, standard, -0.5, -0.5, R::None},   // A > 0, rho < 0.8: -0.5 > -0.8, unclipped
      {4.0, -1.0, dual, 3.0, 0.0, R::Dual},        // A < 0: min(max(4, 1.2), 3) = 3
      {2.0, -1.0, dual, 2.0, 2.0, R::None},        // below the dual cap: unclipped
      {4.0, 1.0, dual, -1.2, 0.0, R::High},        // the dual clip ignores A > 0
      {1.5, 2.0, off, -3.0, -3.0, R::None},        // clip off: -A rho
      {1.25, 1.0, wide, -1.25, -1.25, R::None},    // eps_high = 0.28: 1.25 is inside
      {1.3, 1.0, wide, -1.28, 0.0, R::High},       // 1.3 > 1.28
      {1.5, 0.0, standard, 0.0, 0.0, R::None},     // A = 0: no loss, no gradient
  };
  for (const Case& c : cases) {
    INFO("rho " << c.rho << ", A " << c.A);
    const rl::PpoTokenLoss l = rl::ppo_token_loss(std::log(c.rho), 0.0, c.A, c.clip);
    CHECK(l.value == doctest::Approx(c.value).epsilon(1e-12));
    CHECK(l.grad == doctest::Approx(c.grad).epsilon(1e-12));
    CHECK(l.ratio == doctest::Approx(c.rho).epsilon(1e-12));
    CHECK(l.region == c.region);
    // No stop-gradient in l: the gradient is the derivative of the value.
    const double fd = numeric_derivative(
        [&](double lp) { return rl::ppo_token_loss(lp, 0.0, c.A, c.clip).value; }, std::log(c.rho));
    CHECK(l.grad == doctest::Approx(fd).epsilon(1e-6).scale(1));
  }
  // lp_old enters only through rho = exp(lp - lp_old).
  const rl::PpoTokenLoss shifted = rl::ppo_token_loss(-2.0 + std::log(1.1), -2.0, 2.0);
  CHECK(shifted.value == doctest::Approx(-2.2).epsilon(1e-12));
}

TEST_CASE("LUFFY's shaped off-policy loss: -A p / (p + gamma), gradient -A gamma p / (p + gamma)^2") {
  // p = 0.3, gamma = 0.1, A = 1.5: f = 0.3 / 0.4 = 0.75, l = -1.125;
  // d f / d lp = p * d f / d p = p * gamma / (p + gamma)^2 = 0.3 * 0.1 / 0.16 = 0.1875, dl/dlp = -0.28125.
  const rl::TokenLoss l = rl::shaped_off_policy_token_loss(std::log(0.3), 1.5, 0.1);
  CHECK(l.value == doctest::Approx(-1.125).epsilon(1e-12));
  CHECK(l.grad == doctest::Approx(-0.28125).epsilon(1e-12));
  const double fd =
      numeric_derivative([](double lp) { return rl::shaped_off_policy_token_loss(lp, 1.5, 0.1).value; }, std::log(0.3));
  CHECK(l.grad == doctest::Approx(fd).epsilon(1e-6));
  // Why it helps: for a rare expert token (p = 0.01) the shaped gradient gamma p / (p + gamma)^2 = 0.0826...
  // is about 8 times the unshaped one (-A p has dl/dlp = -A p = -0.01 A).
  const rl::TokenLoss rare = rl::shaped_off_policy_token_loss(std::log(0.01), 1.0, 0.1);
  CHECK(rare.grad == doctest::Approx(-0.1 * 0.01 / (0.11 * 0.11)).epsilon(1e-12));
  CHECK(std::abs(rare.grad) > 8 * 0.01);
}

TEST_CASE("LUFFY without shaping: -A p, gradient -A p, and the objective uses it when shaping is off") {
  // p = 0.3, A = 1.5: l = -0.45, dl/dlp = p * dl/dp = -0.45.
  const rl::TokenLoss l = rl::unshaped_off_policy_token_loss(std::log(0.3), 1.5);
  CHECK(l.value == doctest::Approx(-0.45).epsilon(1e-12));
  CHECK(l.grad == doctest::Approx(-0.45).epsilon(1e-12));
  const double fd =
      numeric_derivative([](double lp) { return rl::unshaped_off_policy_token_loss(lp, 1.5).value; }, std::log(0.3));
  CHECK(l.grad == doctest::Approx(fd).epsilon(1e-6));

  // One off-policy row of two tokens through mixed_objective, token-mean: the loss is the mean
  // of the unshaped token losses when shaping is off, of the shaped ones when it is on.
  const std::vector<double> probs = {0.3, 0.05};
  TensorD lp = TensorD::from_vector({std::log(probs[0]), std::log(probs[1])}, Shape{1, 2});
  lp.set_requires_grad();
  rl::ObjectiveBatch<double> batch{.log_probs = lp,
                                   .mask = TensorD::from_vector({1.0, 1.0}, Shape{1, 2}),
                                   .advantages = TensorD::from_vector({2.0}),
                                   .kinds = {Off}};
  rl::StepNormalizer step;
  step.add(batch.mask, batch.kinds);
  const auto unshaped = rl::mixed_objective(batch, 0.0, step, {.shaping = false});
  CHECK(unshaped.loss.item() == doctest::Approx(-2.0 * (0.3 + 0.05) / 2).epsilon(1e-12));
  const auto shaped = rl::mixed_objective(batch, 0.0, step, {});
  CHECK(shaped.loss.item() == doctest::Approx(-2.0 * (0.3 / 0.4 + 0.05 / 0.15) / 2).epsilon(1e-12));
}

TEST_CASE("SFT token loss: plain, phi and importance weights, with the weight under stop-gradient") {
  // s = -w lp, ds/dlp = -w.
  const rl::TokenLoss plain = rl::sft_token_loss(-0.5, rl::SftWeight::Plain);
  CHECK(plain.value == doctest::Approx(0.5).epsilon(1e-12));
  CHECK(plain.grad == doctest::Approx(-1.0).epsilon(1e-12));
  // p = 0.25: phi w = p (1 - p) = 0.1875, s = 0.1875 * log 4; importance w = p = 0.25, s = 0.25 * log 4.
  const double lp = std::log(0.25);
  const rl::TokenLoss phi = rl::sft_token_loss(lp, rl::SftWeight::Phi);
  CHECK(phi.value == doctest::Approx(0.1875 * std::log(4.0)).epsilon(1e-12));
  CHECK(phi.grad == doctest::Approx(-0.1875).epsilon(1e-12));
  const rl::TokenLoss is = rl::sft_token_loss(lp, rl::SftWeight::Importance);
  CHECK(is.value == doctest::Approx(0.25 * std::log(4.0)).epsilon(1e-12));
  CHECK(is.grad == doctest::Approx(-0.25).epsilon(1e-12));
  // Without the stop-gradient, d(-p(1-p) lp)/dlp would be -(p(1-p) + (p - 2p^2) lp) = -0.1875 + 0.125 log 4: not it.
  const double full = numeric_derivative([](double x) { return rl::sft_token_loss(x, rl::SftWeight::Phi).value; }, lp);
  CHECK(full == doctest::Approx(-0.1875 + 0.125 * std::log(4.0)).epsilon(1e-6));
  CHECK(std::abs(phi.grad - full) > 0.1);
}

TEST_CASE("KL estimators k1, k2, k3: values, gradients and the k3 clamp") {
  // lp = -1, lp_ref = -1.5: d = lp_ref - lp = -0.5.
  //   k1 = -d = 0.5, dk1/dlp = 1;  k2 = d^2/2 = 0.125, dk2/dlp = -d = 0.5;
  //   k3 = e^d - d - 1 = e^-0.5 - 0.5, dk3/dlp = 1 - e^d = 1 - e^-0.5.
  const double e = std::exp(-0.5);
  const struct {
    rl::KLEstimator k;
    double value, grad;
  } cases[] = {{rl::KLEstimator::K1, 0.5, 1.0}, {rl::KLEstimator::K2, 0.125, 0.5}, {rl::KLEstimator::K3, e - 0.5, 1 - e}};
  for (const auto& c : cases) {
    INFO(rl::to_string(c.k));
    const rl::TokenLoss k = rl::kl_token(-1.0, -1.5, c.k);
    CHECK(k.value == doctest::Approx(c.value).epsilon(1e-12));
    CHECK(k.grad == doctest::Approx(c.grad).epsilon(1e-12));
    CHECK(k.grad == doctest::Approx(numeric_derivative([&](double lp) { return rl::kl_token(lp, -1.5, c.k).value; },
                                                       -1.0))
                        .epsilon(1e-6));
  }
  // k3 = 0 with zero gradient at lp = lp_ref; clamped to 10 (no gradient) far away on either side.
  CHECK(rl::kl_token(-0.7, -0.7, rl::KLEstimator::K3).value == 0.0);
  CHECK(rl::kl_token(-0.7, -0.7, rl::KLEstimator::K3).grad == 0.0);
  for (auto [lp, ref] : {std::pair{-25.0, 0.0}, std::pair{0.0, -15.0}}) {
    const rl::TokenLoss k = rl::kl_token(lp, ref, rl::KLEstimator::K3);
    CHECK(k.value == 10.0);
    CHECK(k.grad == 0.0);
  }
}

// ---- advantages -------------------------------------------------------------------

TEST_CASE("group advantages: grpo, dr_grpo and rloo by hand") {
  // Group [1, 2, 3, 6]: mean 3, deviations [-2, -1, 0, 3], sum of squares 14, unbiased std sqrt(14 / 3).
  // rloo: r_i - (12 - r_i) / 3 = [1 - 11/3, 2 - 10/3, 3 - 3, 6 - 2] = [-8/3, -4/3, 0, 4].
  // Second group [0, 1]: mean 0.5, std sqrt(0.5), deviations [-0.5, 0.5]; rloo [-1, 1].
  const std::vector<double> rewards{1, 2, 3, 6};
  const double s = std::sqrt(14.0 / 3.0);
  const rl::Advantages grpo = rl::group_advantages(rewards, 4);
  const std::vector<double> expected_grpo{-2 / (s + 1e-6), -1 / (s + 1e-6), 0, 3 / (s + 1e-6)};
  for (int i = 0; i < 4; ++i) CHECK(grpo.values[i] == doctest::Approx(expected_grpo[i]).epsilon(1e-14));
  CHECK(grpo.frac_reward_zero_std == 0.0);
  CHECK(rl::group_advantages(rewards, 4, rl::AdvantageEstimator::DrGRPO).values == std::vector<double>{-2, -1, 0, 3});
  const rl::Advantages rloo = rl::group_advantages(rewards, 4, rl::AdvantageEstimator::RLOO);
  const std::vector<double> expected_rloo{-8.0 / 3, -4.0 / 3, 0, 4};
  for (int i = 0; i < 4; ++i) CHECK(rloo.values[i] == doctest::Approx(expected_rloo[i]).epsilon(1e-14));

  const std::vector<double> pairs{0, 1, 1, 0};
  const rl::Advantages g2 = rl::group_advantages(pairs, 2);
  const double s2 = std::sqrt(0.5);
  for (int i = 0; i < 4; ++i)
    CHECK(g2.values[i] == doctest::Approx((pairs[i] - 0.5) / (s2 + 1e-6)).epsilon(1e-14));
  CHECK(rl::group_advantages(pairs, 2, rl::AdvantageEstimator::RLOO).values == std::vector<double>{-1, 1, 1, -1});
}

TEST_CASE("a group of equal rewards gets exactly zero advantages and counts in frac_reward_zero_std") {
  // 0.1 * 3 / 3 != 0.1 in floating point: the zero must not come from arithmetic.
  const std::vector<double> rewards{0.1, 0.1, 0.1, 1, 0, 0, -0.1, -0.1, -0.1};
  for (auto e : {rl::AdvantageEstimator::GRPO, rl::AdvantageEstimator::DrGRPO, rl::AdvantageEstimator::RLOO}) {
    INFO(rl::to_string(e));
    const rl::Advantages a = rl::group_advantages(rewards, 3, e);
    for (int i : {0, 1, 2, 6, 7, 8}) CHECK(a.values[i] == 0.0);
    CHECK(a.values[3] > 0);
    CHECK(a.frac_reward_zero_std == doctest::Approx(2.0 / 3.0));
  }
}

TEST_CASE("group advantages reject groups smaller than 2, uneven sizes and non-finite rewards") {
  const std::vector<double> r{1, 2, 3, 4};
  CHORD_CHECK_ERROR(rl::group_advantages(r, 1), "group_size must be >= 2");
  CHORD_CHECK_ERROR(rl::group_advantages(r, 0), "group_size must be >= 2");
  CHORD_CHECK_ERROR(rl::group_advantages(r, 3), "do not split into groups of 3");
  CHORD_CHECK_ERROR(rl::group_advantages(std::vector<double>{1, kNaN}, 2), "reward 1");
  CHECK(rl::advantage_estimator_from_string("dr_grpo") == rl::AdvantageEstimator::DrGRPO);
  CHORD_CHECK_ERROR(rl::advantage_estimator_from_string("ppo"), "unknown advantage estimator");
}

// ---- the mixed objective ----------------------------------------------------------

TEST_CASE("mixed objective, token-mean, one on-policy and one expert row: value, gradient and metrics by hand") {
  // Row 0 (on-policy, A = 1, lp_old = 0): tokens rho = 1.1 and 0.5: l = -1.1 and -0.5 (both unclipped:
  //   1.1 is inside [0.8, 1.2]; 0.5 < 0.8 with A > 0 keeps -A rho), dl/dlp = -1.1, -0.5.
  // Row 1 (expert, plain SFT): lp = -0.2, -1.0: s = 0.2, 1.0, ds/dlp = -1.
  // mu = 0.25: L_policy = (-1.1 - 0.5) / 2 = -0.8, L_sft = (0.2 + 1.0) / 2 = 0.6,
  //   L = 0.75 * -0.8 + 0.25 * 0.6 = -0.45;
  //   dL/dlp row 0 = 0.75 / 2 * [-1.1, -0.5], row 1 = 0.25 / 2 * [-1, -1].
  // Positions outside the mask hold NaN: they must never be read.
  TensorD lp = tensor<double>({{std::log(1.1), std::log(0.5), kNaN}, {kNaN, -0.2, -1.0}});
  lp.set_requires_grad();
  const TensorD lp_old = tensor<double>({{0.0, 0.0, kNaN}, {kNaN, kNaN, kNaN}});
  const TensorD mask = tensor<double>({{1, 1, 0}, {0, 1, 1}});
  const rl::ObjectiveBatch<double> batch{.log_probs = lp,
                                         .old_log_probs = lp_old,
                                         .mask = mask,
                                         .advantages = tensor<double>({1.0, kNaN}),  // an expert row's advantage is ignored
                                         .kinds = {On, Ex}};
  const auto [loss, metrics] = rl::mixed_objective(batch, 0.25, rl::StepNormalizer::of(mask, batch.kinds));
  CHECK(loss.item() == doctest::Approx(-0.45).epsilon(1e-12));
  loss.backward();
  check_values(lp.grad(), {-0.375 * 1.1, -0.375 * 0.5, 0, 0, -0.125, -0.125}, 1e-12);

  const auto m = as_map(metrics);
  CHECK(m.at("loss") == doctest::Approx(-0.45).epsilon(1e-12));
  CHECK(m.at("loss/policy") == doctest::Approx(-0.8).epsilon(1e-12));
  CHECK(m.at("loss/sft") == doctest::Approx(0.6).epsilon(1e-12));
  CHECK(m.at("on/prob_mean") == doctest::Approx(0.8).epsilon(1e-12));
  CHECK(m.at("off/prob_mean") == doctest::Approx((std::exp(-0.2) + std::exp(-1.0)) / 2).epsilon(1e-12));
  CHECK(m.at("ppo_kl") == doctest::Approx(-(std::log(1.1) + std::log(0.5)) / 2).epsilon(1e-12));
  CHECK(m.at("clip_ratio/low") == 0.0);
  CHECK(m.at("clip_ratio/high") == 0.0);
  CHECK(m.at("kl") == 0.0);
  CHECK(m.at("entropy") == 0.0);
}

TEST_CASE("clip ratios count the tokens whose clip took effect, over on-policy tokens") {
  // A = 1 row: rho 1.5 (high), 1.0, 0.5 (A > 0: not clipped), 1.1. A = -1 row: rho 0.5 (low), 4 (dual, c = 3), 1.
  TensorD lp = tensor<double>({{std::log(1.5), 0.0, std::log(0.5), std::log(1.1)},
                               {std::log(0.5), std::log(4.0), 0.0, 0.0}});
  const TensorD mask = tensor<double>({{1, 1, 1, 1}, {1, 1, 1, 0}});
  const rl::ObjectiveBatch<double> batch{.log_probs = lp,
                                         .old_log_probs = TensorD::zeros({2, 4}),
                                         .mask = mask,
                                         .advantages = tensor<double>({1.0, -1.0}),
                                         .kinds = {On, On}};
  const auto m = as_map(
      rl::mixed_objective(batch, 0.0, rl::StepNormalizer::of(mask, batch.kinds), {.dual_clip = 3.0}).metrics);
  CHECK(m.at("clip_ratio/high") == doctest::Approx(1.0 / 7));
  CHECK(m.at("clip_ratio/low") == doctest::Approx(1.0 / 7));
  CHECK(m.at("clip_ratio/dual") == doctest::Approx(1.0 / 7));
  // Token losses: -1.2, -1, -0.5, -1.1 | 0.8, 3, 1: token mean 0.
  CHECK(m.at("loss") == doctest::Approx((-1.2 - 1 - 0.5 - 1.1 + 0.8 + 3 + 1) / 7).epsilon(1e-12));
}

TEST_CASE("every aggregation mode matches its definition, and the objective passes gradcheck in each") {
  const Batch b = mixed_batch(101);
  const double mu = 0.3, C = 6.0;
  for (rl::Aggregation mode : kAggregations) {
    INFO(rl::to_string(mode));
    const rl::ObjectiveOptions options{.dual_clip = 3.0, .aggregation = mode, .constant_normalizer = C};
    const rl::StepNormalizer step = rl::StepNormalizer::of(b.mask, b.kinds);

    // Independent reference: per-row sums of token losses, then the mode's formula per group.
    double policy_sum = 0, sft_sum = 0, policy_rowmean = 0, sft_rowmean = 0;
    int64_t policy_tokens = 0, sft_tokens = 0, policy_rows = 0, sft_rows = 0;
    for (int64_t i = 0; i < b.N; ++i) {
      double row = 0;
      int64_t n = 0;
      for (int64_t t = 0; t < b.L; ++t) {
        if (b.mask.at({i, t}) == 0) continue;
        const double lp = b.lp.at({i, t}), A = b.adv.at({i});
        if (b.kinds[i] == On) row += rl::ppo_token_loss(lp, b.lp_old.at({i, t}), A, options.ppo_clip()).value;
        else if (b.kinds[i] == Off) row += rl::shaped_off_policy_token_loss(lp, A, 0.1).value;
        else row += rl::sft_token_loss(lp, rl::SftWeight::Plain).value;
        ++n;
      }
      if (n == 0) continue;
      if (b.kinds[i] == Ex) sft_sum += row, sft_rowmean += row / n, sft_tokens += n, ++sft_rows;
      else policy_sum += row, policy_rowmean += row / n, policy_tokens += n, ++policy_rows;
    }
    REQUIRE(policy_rows == 4);  // rows 0, 1, 2, 6 (row 4 is empty)
    REQUIRE(sft_rows == 2);
    double L_policy = 0, L_sft = 0;
    switch (mode) {
      case rl::Aggregation::TokenMean: L_policy = policy_sum / policy_tokens, L_sft = sft_sum / sft_tokens; break;
      case rl::Aggregation::SeqMeanTokenMean: L_policy = policy_rowmean / 4, L_sft = sft_rowmean / 2; break;
      case rl::Aggregation::SeqMeanTokenSum: L_policy = policy_sum / 4, L_sft = sft_sum / 2; break;
      case rl::Aggregation::Constant: L_policy = policy_sum / C, L_sft = sft_sum / C; break;
    }
    rl::ObjectiveBatch<double> batch = b.all();
    batch.ref_log_probs = TensorD();  // beta = 0: no KL term, not logged
    const auto r = rl::mixed_objective(batch, mu, step, options);
    CHECK(r.metrics.loss_policy == doctest::Approx(L_policy).epsilon(1e-12));
    CHECK(r.metrics.loss_sft == doctest::Approx(L_sft).epsilon(1e-12));
    CHECK(r.loss.item() == doctest::Approx((1 - mu) * L_policy + mu * L_sft).epsilon(1e-12));

    // Gradients w.r.t. lp and entropy, with every term switched on (KL k3 and an entropy bonus).
    // (Plain SFT weighting: phi and importance weights are under stop-gradient, so finite
    // differences of the value are not their gradient; see the next test.)
    rl::ObjectiveOptions full = options;
    full.beta = 0.2;
    full.entropy_coef = 0.05;
    auto f = [&](const Inputs& in) {
      rl::ObjectiveBatch<double> x = b.all();
      x.log_probs = in[0];
      x.entropy = in[1];
      return rl::mixed_objective(x, mu, step, full).loss;
    };
    TensorD lp = b.lp.detach().clone(), ent = b.entropy.detach().clone();
    lp.set_requires_grad();
    ent.set_requires_grad();
    CHORD_CHECK_GRADCHECK(f, {lp, ent});
  }
}

TEST_CASE("phi and importance SFT weights act as constants in the objective's gradient (stop-gradient)") {
  // Expert rows only, token-mean over n tokens, mu = 1: dL/dlp_t = -w_t / n, with w_t = p(1-p) or p
  // evaluated at the current lp but not differentiated; the value is sum_t -w_t lp_t / n.
  const Batch b = random_batch({Ex, Ex}, {{0, 3}, {1, 3}}, 4, 111);
  const rl::StepNormalizer step = rl::StepNormalizer::of(b.mask, b.kinds);
  for (rl::SftWeight weighting : {rl::SftWeight::Phi, rl::SftWeight::Importance}) {
    INFO(rl::to_string(weighting));
    TensorD lp = b.lp.detach().clone().set_requires_grad();
    const auto r = rl::mixed_objective(b.rows(0, 2, lp, b.entropy), 1.0, step, {.sft_weight = weighting});
    r.loss.backward();
    double value = 0;
    std::vector<double> expected;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t t = 0; t < 4; ++t) {
        const double x = lp.at({i, t}), p = std::exp(x);
        const double w = weighting == rl::SftWeight::Phi ? p * (1 - p) : p;
        const bool in = b.mask.at({i, t}) == 1;
        value += in ? -w * x / 6 : 0;
        expected.push_back(in ? -w / 6 : 0);
      }
    CHECK(r.loss.item() == doctest::Approx(value).epsilon(1e-12));
    check_values(lp.grad(), expected, 1e-12);
  }
}

TEST_CASE("one step split into micro-batches gives the gradient and metrics of the whole batch, in every mode") {
  const Batch b = mixed_batch(202);
  const double mu = 0.4;
  for (rl::Aggregation mode : kAggregations) {
    INFO(rl::to_string(mode));
    const rl::ObjectiveOptions options{.dual_clip = 3.0, .beta = 0.1, .kl = rl::KLEstimator::K2,
                                       .entropy_coef = 0.02, .aggregation = mode, .constant_normalizer = 5.0};
    // The whole batch in one call.
    TensorD lp1 = b.lp.detach().clone().set_requires_grad(), ent1 = b.entropy.detach().clone().set_requires_grad();
    const rl::StepNormalizer whole = rl::StepNormalizer::of(b.mask, b.kinds);
    const auto r1 = rl::mixed_objective(b.rows(0, b.N, lp1, ent1), mu, whole, options);
    r1.loss.backward();

    // Three micro-batches, the normalizer built from all three first.
    TensorD lp2 = b.lp.detach().clone().set_requires_grad(), ent2 = b.entropy.detach().clone().set_requires_grad();
    const std::vector<std::pair<int64_t, int64_t>> parts{{0, 3}, {3, 4}, {4, 7}};
    rl::StepNormalizer step;
    for (auto [begin, end] : parts) {
      const rl::ObjectiveBatch<double> mb = b.rows(begin, end, lp2, ent2);
      step.add(mb.mask, mb.kinds);
    }
    CHECK(step.policy.tokens == whole.policy.tokens);
    CHECK(step.all.rows == whole.all.rows);
    rl::ObjectiveMetrics metrics;
    double loss_sum = 0;
    for (auto [begin, end] : parts) {
      const auto r = rl::mixed_objective(b.rows(begin, end, lp2, ent2), mu, step, options);
      r.loss.backward();
      loss_sum += r.loss.item();
      metrics += r.metrics;
    }
    CHECK(loss_sum == doctest::Approx(r1.loss.item()).epsilon(1e-12));
    check_values(lp2.grad(), lp1.grad().to_vector(), 1e-12);
    check_values(ent2.grad(), ent1.grad().to_vector(), 1e-12);
    const auto m1 = as_map(r1.metrics), m2 = as_map(metrics);
    for (const auto& [name, value] : m1) {
      INFO(name);
      CHECK(m2.at(name) == doctest::Approx(value).epsilon(1e-12));
    }
    CHECK(m1.at("kl") != 0.0);
    CHECK(m1.at("entropy") != 0.0);
  }
}

TEST_CASE("a zero-variance group gives no policy gradient, but its tokens still count in the token normalizer") {
  // Two groups of 4 on-policy rollouts; group 0's rewards are all 1.
  const std::vector<double> rewards{1, 1, 1, 1, 1, 0, 0, 1};
  const rl::Advantages adv = rl::group_advantages(rewards, 4);
  CHECK(adv.frac_reward_zero_std == 0.5);
  Batch b = random_batch(std::vector<RowKind>(8, On), {{0, 3}, {1, 4}, {0, 2}, {2, 3}, {0, 4}, {1, 2}, {0, 1}, {0, 4}},
                         5, 303);
  b.adv = TensorD::from_vector(adv.values);
  const rl::ObjectiveBatch<double> all = b.all();
  rl::mixed_objective(all, 0.0, rl::StepNormalizer::of(all.mask, all.kinds)).loss.backward();
  const TensorD g = b.lp.grad();
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t t = 0; t < 5; ++t) CHECK(g.at({i, t}) == 0.0);

  // Group 1 alone, normalized by its own 11 tokens; in the full batch by 12 + 11 = 23.
  TensorD lp1 = b.lp.detach().clone().set_requires_grad();
  const rl::ObjectiveBatch<double> second = b.rows(4, 8, lp1, b.entropy);
  rl::mixed_objective(second, 0.0, rl::StepNormalizer::of(second.mask, second.kinds)).loss.backward();
  for (int64_t i = 4; i < 8; ++i)
    for (int64_t t = 0; t < 5; ++t)
      CHECK(g.at({i, t}) == doctest::Approx(lp1.grad().at({i, t}) * 11.0 / 23.0).epsilon(1e-12));
}

TEST_CASE("GRPO at rho = 1: each loss token's gradient is -A / (number of loss tokens)") {
  Batch b = random_batch({On, On, On}, {{0, 2}, {1, 3}, {0, 1}}, 4, 404);
  b.lp_old = b.lp.detach().clone();  // strictly on-policy: rho = 1
  const rl::ObjectiveBatch<double> batch = b.all();
  const auto r = rl::mixed_objective(batch, 0.0, rl::StepNormalizer::of(batch.mask, batch.kinds));
  r.loss.backward();
  const double A[3] = {b.adv.at({0}), b.adv.at({1}), b.adv.at({2})};
  CHECK(r.loss.item() == doctest::Approx(-(2 * A[0] + 3 * A[1] + A[2]) / 6).epsilon(1e-12));
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t t = 0; t < 4; ++t)
      CHECK(b.lp.grad().at({i, t}) == doctest::Approx(b.mask.at({i, t}) * -A[i] / 6).epsilon(1e-12));
  CHECK(as_map(r.metrics).at("ppo_kl") == 0.0);
}

TEST_CASE("SFT (mu = 1, expert rows, token-mean) is the mean cross-entropy over loss tokens, through the logits") {
  Generator gen(505);
  const int64_t N = 2, L = 4, V = 6;
  TensorD logits1 = TensorD::randn({N, L, V}, gen).set_requires_grad();
  TensorD logits2 = logits1.detach().clone().set_requires_grad();
  const Tensor<int64_t> targets = randint(0, V, {N, L}, gen);
  const TensorD mask = tensor<double>({{0, 1, 1, 1}, {1, 1, 0, 0}});

  const TensorD lp = token_log_probs(logits1, targets);
  const rl::ObjectiveBatch<double> batch{.log_probs = lp, .mask = mask, .kinds = {Ex, Ex}};
  const TensorD loss = rl::mixed_objective(batch, 1.0, rl::StepNormalizer::of(mask, batch.kinds)).loss;
  loss.backward();

  std::vector<int64_t> t = targets.to_vector();
  for (int64_t k = 0; k < N * L; ++k)
    if (mask.data()[k] == 0) t[k] = -100;  // cross_entropy's ignore_index
  const TensorD ce = cross_entropy(logits2, Tensor<int64_t>::from_vector(t, {N, L}));
  ce.backward();
  CHECK(loss.item() == doctest::Approx(ce.item()).epsilon(1e-12));
  check_values(logits1.grad(), logits2.grad().to_vector(), 1e-12);
}

TEST_CASE("CHORD: the SFT term does not scale with the share of expert rows; mu sets the balance") {
  // The same expert row once, or three times: token-mean L_sft and the policy gradient are unchanged.
  const Batch one = random_batch({On, On, Ex}, {{0, 3}, {1, 2}, {0, 4}}, 4, 606);
  Batch three = random_batch({On, On, Ex, Ex, Ex}, {{0, 3}, {1, 2}, {0, 4}, {0, 4}, {0, 4}}, 4, 606);
  std::vector<double> lp = one.lp.detach().to_vector(), lp_old = one.lp_old.to_vector();
  const std::vector<double> expert_lp(lp.begin() + 8, lp.end()), expert_lp_old(lp_old.begin() + 8, lp_old.end());
  for (int k = 0; k < 2; ++k) {
    lp.insert(lp.end(), expert_lp.begin(), expert_lp.end());
    lp_old.insert(lp_old.end(), expert_lp_old.begin(), expert_lp_old.end());
  }
  three.lp = TensorD::from_vector(lp, {5, 4}).set_requires_grad();
  three.lp_old = TensorD::from_vector(lp_old, {5, 4});
  three.adv = TensorD::from_vector({one.adv.at({0}), one.adv.at({1}), 0.0, 0.0, 0.0});
  for (double mu : {0.1, 0.9}) {
    const auto a = rl::mixed_objective(one.all(), mu, rl::StepNormalizer::of(one.mask, one.kinds));
    const auto b = rl::mixed_objective(three.all(), mu, rl::StepNormalizer::of(three.mask, three.kinds));
    CHECK(a.loss.item() == doctest::Approx(b.loss.item()).epsilon(1e-12));
    CHECK(a.metrics.loss_sft == doctest::Approx(b.metrics.loss_sft).epsilon(1e-12));
    CHECK(a.metrics.loss_policy == doctest::Approx(b.metrics.loss_policy).epsilon(1e-12));
  }
  rl::mixed_objective(one.all(), 0.5, rl::StepNormalizer::of(one.mask, one.kinds)).loss.backward();
  rl::mixed_objective(three.all(), 0.5, rl::StepNormalizer::of(three.mask, three.kinds)).loss.backward();
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t t = 0; t < 4; ++t)
      CHECK(three.lp.grad().at({i, t}) == doctest::Approx(one.lp.grad().at({i, t})).epsilon(1e-12));
  // Each expert copy gets a third of the single row's SFT gradient.
  for (int64_t t = 0; t < 4; ++t)
    CHECK(three.lp.grad().at({3, t}) == doctest::Approx(one.lp.grad().at({2, t}) / 3).epsilon(1e-12));
}

TEST_CASE("LUFFY: on- and off-policy token losses summed over a constant, with the entropy bonus, by hand") {
  // Row 0, on-policy, no clip: rho = 1.5, A = 0.5: l = -0.75, dl/dlp = -0.75.
  // Row 1, off-policy: p = 0.3, A = -0.5, gamma = 0.1: l = 0.5 * 0.75 = 0.375, dl/dlp = 0.5 * 0.1875 = 0.09375.
  // C = 4: L_policy = (-0.75 + 0.375) / 4 = -0.09375; entropies 2 and 1, coef 0.001:
  //   L = -0.09375 - 0.001 * (2 + 1) / 4 = -0.0945; dL/dlp = [-0.1875, 0.0234375]; dL/dH = -0.001 / 4 each.
  TensorD lp = tensor<double>({{std::log(1.5)}, {std::log(0.3)}}).set_requires_grad();
  TensorD ent = tensor<double>({{2.0}, {1.0}}).set_requires_grad();
  const TensorD mask = TensorD::ones({2, 1});
  const rl::ObjectiveBatch<double> batch{.log_probs = lp,
                                         .old_log_probs = TensorD::zeros({2, 1}),
                                         .entropy = ent,
                                         .mask = mask,
                                         .advantages = tensor<double>({0.5, -0.5}),
                                         .kinds = {On, Off}};
  const rl::ObjectiveOptions luffy{.clip = false, .entropy_coef = 0.001, .aggregation = rl::Aggregation::Constant,
                                   .constant_normalizer = 4.0};
  const auto r = rl::mixed_objective(batch, 0.0, rl::StepNormalizer::of(mask, batch.kinds), luffy);
  CHECK(r.loss.item() == doctest::Approx(-0.0945).epsilon(1e-12));
  r.loss.backward();
  check_values(lp.grad(), {-0.1875, 0.0234375}, 1e-12);
  check_values(ent.grad(), {-0.00025, -0.00025}, 1e-12);
  const auto m = as_map(r.metrics);
  CHECK(m.at("loss/policy") == doctest::Approx(-0.09375).epsilon(1e-12));
  CHECK(m.at("loss/entropy") == doctest::Approx(-0.00075).epsilon(1e-12));
  CHECK(m.at("entropy") == doctest::Approx(1.5).epsilon(1e-12));
  CHECK(m.at("on/prob_mean") == doctest::Approx(1.5).epsilon(1e-12));
  CHECK(m.at("off/prob_mean") == doctest::Approx(0.3).epsilon(1e-12));
}

TEST_CASE("the KL term: beta times the aggregated k over every row's loss tokens") {
  // Two rows, one token each, token-mean over 2 tokens; k1 = lp - lp_ref: (-1 - -1.5) = 0.5 and (-2 - -1) = -1.
  TensorD lp = tensor<double>({{-1.0}, {-2.0}}).set_requires_grad();
  const TensorD mask = TensorD::ones({2, 1});
  const rl::ObjectiveBatch<double> batch{.log_probs = lp,
                                         .old_log_probs = tensor<double>({{-1.0}, {-2.0}}),
                                         .ref_log_probs = tensor<double>({{-1.5}, {-1.0}}),
                                         .mask = mask,
                                         .advantages = tensor<double>({0.0, 0.0}),
                                         .kinds = {On, Ex}};
  // mu = 0.5 and the expert row's s = 2: L = 0.5 * 0 + 0.5 * 2 + 0.3 * (0.5 - 1) / 2 = 1 - 0.075.
  const auto r = rl::mixed_objective(batch, 0.5, rl::StepNormalizer::of(mask, batch.kinds),
                                     {.beta = 0.3, .kl = rl::KLEstimator::K1});
  CHECK(r.loss.item() == doctest::Approx(0.925).epsilon(1e-12));
  CHECK(r.metrics.loss_kl == doctest::Approx(-0.075).epsilon(1e-12));
  CHECK(r.metrics.kl.mean() == doctest::Approx(-0.25).epsilon(1e-12));
  r.loss.backward();
  // dL/dlp: row 0: 0.3 * 1 / 2 (A = 0); row 1: 0.5 * -1 (SFT over 1 token) + 0.3 / 2.
  check_values(lp.grad(), {0.15, -0.35}, 1e-12);
}

TEST_CASE("mixed objective in float agrees with double") {
  const Batch b = mixed_batch(707);
  const rl::ObjectiveOptions options{.beta = 0.1, .entropy_coef = 0.01};
  const rl::StepNormalizer step = rl::StepNormalizer::of(b.mask, b.kinds);
  const auto rd = rl::mixed_objective(b.all(), 0.3, step, options);
  auto to_float = [](const TensorD& t) {
    std::vector<float> v;
    for (double x : t.to_vector()) v.push_back(static_cast<float>(x));
    return Tensor<float>::from_vector(v, t.shape());
  };
  Tensor<float> lp = to_float(b.lp.detach()).set_requires_grad();
  const rl::ObjectiveBatch<float> batch{.log_probs = lp,
                                        .old_log_probs = to_float(b.lp_old),
                                        .ref_log_probs = to_float(b.lp_ref),
                                        .entropy = to_float(b.entropy.detach()),
                                        .mask = to_float(b.mask),
                                        .advantages = to_float(b.adv),
                                        .kinds = b.kinds};
  const auto rf = rl::mixed_objective(batch, 0.3, step, options);
  CHECK(rf.loss.item() == doctest::Approx(rd.loss.item()).epsilon(1e-5));
  rf.loss.backward();
  rd.loss.backward();
  check_values(lp.grad(), b.lp.grad().to_vector(), 1e-5);
}

TEST_CASE("the objective rejects bad options, mu, shapes and missing inputs") {
  const Batch b = mixed_batch(808);
  const rl::StepNormalizer step = rl::StepNormalizer::of(b.mask, b.kinds);
  const rl::ObjectiveBatch<double> ok = b.all();
  auto run = [&](const rl::ObjectiveBatch<double>& batch, double mu, const rl::ObjectiveOptions& o) {
    return rl::mixed_objective(batch, mu, step, o);
  };
  CHORD_CHECK_ERROR(run(ok, 0.5, {.eps_low = -0.1}), "eps_low");
  CHORD_CHECK_ERROR(run(ok, 0.5, {.eps_high = -0.1}), "eps_high");
  CHORD_CHECK_ERROR(run(ok, 0.5, {.dual_clip = 1.0}), "dual_clip");
  CHORD_CHECK_ERROR(run(ok, 0.5, {.shaping_gamma = 0.0}), "shaping_gamma");
  CHORD_CHECK_ERROR(run(ok, 0.5, {.beta = -1.0}), "beta");
  CHORD_CHECK_ERROR(run(ok, 0.5, {.entropy_coef = -1.0}), "entropy_coef");
  CHORD_CHECK_ERROR(run(ok, 0.5, {.aggregation = rl::Aggregation::Constant}), "constant_normalizer");
  CHORD_CHECK_ERROR(run(ok, 0.5, {.aggregation = rl::Aggregation::Constant, .constant_normalizer = -2}),
                    "constant_normalizer");
  CHORD_CHECK_ERROR(run(ok, -0.1, {}), "mu must be in [0, 1]");
  CHORD_CHECK_ERROR(run(ok, 1.5, {}), "mu must be in [0, 1]");

  rl::ObjectiveBatch<double> bad = ok;
  bad.mask = b.mask.narrow(1, 0, 4);
  CHORD_CHECK_ERROR(run(bad, 0.5, {}), "does not match log_probs");
  bad = ok;
  bad.old_log_probs = TensorD::zeros({7, 4});
  CHORD_CHECK_ERROR(run(bad, 0.5, {}), "old_log_probs of shape");
  bad = ok;
  bad.old_log_probs = TensorD();
  CHORD_CHECK_ERROR(run(bad, 0.5, {}), "old_log_probs are needed");
  bad = ok;
  bad.kinds.pop_back();
  CHORD_CHECK_ERROR(run(bad, 0.5, {}), "row kinds");
  bad = ok;
  bad.advantages = TensorD::zeros({6});
  CHORD_CHECK_ERROR(run(bad, 0.5, {}), "advantages of shape");
  bad = ok;
  bad.ref_log_probs = TensorD();
  CHORD_CHECK_ERROR(run(bad, 0.5, {.beta = 0.1}), "ref_log_probs are needed");
  bad = ok;
  bad.entropy = TensorD();
  CHORD_CHECK_ERROR(run(bad, 0.5, {.entropy_coef = 0.1}), "entropy is needed");
  bad = ok;
  bad.mask = b.mask * 0.5;
  CHORD_CHECK_ERROR(run(bad, 0.5, {}), "mask values must be 0 or 1");
  bad = ok;
  bad.log_probs = b.lp.reshape({35});
  CHORD_CHECK_ERROR(run(bad, 0.5, {}), "shape [N, L]");
  // A normalizer built without this micro-batch.
  CHORD_CHECK_ERROR(rl::mixed_objective(ok, 0.5, rl::StepNormalizer{}), "StepNormalizer");
  CHECK(rl::aggregation_from_string("seq-mean-token-sum") == rl::Aggregation::SeqMeanTokenSum);
  CHORD_CHECK_ERROR(rl::aggregation_from_string("mean"), "unknown aggregation");
  CHECK(rl::sft_weight_from_string("phi") == rl::SftWeight::Phi);
  CHECK(rl::kl_estimator_from_string("k2") == rl::KLEstimator::K2);
}

TEST_CASE("StepNormalizer counts loss tokens and non-empty rows per group") {
  const Batch b = mixed_batch(909);
  const rl::StepNormalizer n = rl::StepNormalizer::of(b.mask, b.kinds);
  // Policy rows 0, 1, 2, 6 (4 + 2 + 3 + 1 tokens; row 4 has none); expert rows 3, 5 (5 + 2 tokens).
  CHECK(n.policy.tokens == 10);
  CHECK(n.policy.rows == 4);
  CHECK(n.sft.tokens == 7);
  CHECK(n.sft.rows == 2);
  CHECK(n.all.tokens == 17);
  CHECK(n.all.rows == 6);
}

// ---- mu schedule ------------------------------------------------------------------

TEST_CASE("mu schedule: warm-up, cosine decay and valley at the edge steps") {
  const double pi = std::numbers::pi;
  // W = 0, D = 200 (CHORD-mu): cosine from step 0, valley from step 200.
  const rl::MuSchedule chord_mu{.peak = 0.9, .valley = 0.05, .warmup_steps = 0, .decay_steps = 200};
  CHECK(chord_mu.mu(1) == doctest::Approx(0.05 + 0.85 * 0.5 * (1 + std::cos(pi / 200))).epsilon(1e-14));
  CHECK(chord_mu.mu(100) == doctest::Approx(0.05 + 0.85 * 0.5).epsilon(1e-14));
  CHECK(chord_mu.mu(199) == doctest::Approx(0.05 + 0.85 * 0.5 * (1 + std::cos(pi * 199 / 200))).epsilon(1e-14));
  CHECK(chord_mu.mu(200) == 0.05);
  CHECK(chord_mu.mu(10000) == 0.05);

  // W = 10, D = 20: steps 1..9 ramp peak * step / 10; step 10 is the peak; step 29 = W + D - 1; 30 = valley.
  const rl::MuSchedule s{.peak = 0.8, .valley = 0.2, .warmup_steps = 10, .decay_steps = 20};
  CHECK(s.mu(1) == doctest::Approx(0.08).epsilon(1e-14));
  CHECK(s.mu(9) == doctest::Approx(0.72).epsilon(1e-14));
  CHECK(s.mu(10) == doctest::Approx(0.8).epsilon(1e-14));
  CHECK(s.mu(20) == doctest::Approx(0.5).epsilon(1e-14));
  CHECK(s.mu(29) == doctest::Approx(0.2 + 0.6 * 0.5 * (1 + std::cos(pi * 19 / 20))).epsilon(1e-14));
  CHECK(s.mu(30) == 0.2);

  // W = D = 0: the valley from step 1 (checked before the cosine, which would divide by D = 0).
  const rl::MuSchedule flat{.peak = 0.9, .valley = 0.1, .warmup_steps = 0, .decay_steps = 0};
  CHECK(flat.mu(1) == 0.1);
  CHECK(rl::MuSchedule::constant(0.1).mu(1) == 0.1);
  CHECK(rl::MuSchedule::constant(0.1).mu(500) == 0.1);

  // W = 5, D = 0: the ramp, then the valley at step W.
  const rl::MuSchedule ramp{.peak = 0.5, .valley = 0.3, .warmup_steps = 5, .decay_steps = 0};
  CHECK(ramp.mu(4) == doctest::Approx(0.4).epsilon(1e-14));
  CHECK(ramp.mu(5) == 0.3);

  // W = 0, D = 1: step 1 is already W + D.
  CHECK(rl::MuSchedule{.peak = 0.9, .valley = 0.05, .warmup_steps = 0, .decay_steps = 1}.mu(1) == 0.05);
}

TEST_CASE("mu schedule rejects bad settings and steps before 1") {
  CHORD_CHECK_ERROR(rl::MuSchedule{}.mu(0), "steps count from 1");
  CHORD_CHECK_ERROR((rl::MuSchedule{.peak = 1.5}.mu(1)), "peak");
  CHORD_CHECK_ERROR((rl::MuSchedule{.valley = -0.1}.mu(1)), "valley");
  CHORD_CHECK_ERROR((rl::MuSchedule{.warmup_steps = -1}.mu(1)), "warmup_steps");
  CHORD_CHECK_ERROR((rl::MuSchedule{.decay_steps = -1}.validate()), "decay_steps");
}
