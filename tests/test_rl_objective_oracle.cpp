// The mixed objective composed of tensor ops (rl/objective.hpp, rl/policy_losses.hpp,
// rl/aggregation.hpp) against the scalar oracle of rl/token_losses.hpp: a loop over the tokens
// that weighs each token loss and its derivative with rl::aggregation_weight, as the objective
// did by hand before it was composed. Value, gradient w.r.t. lp and H and every metric, for every
// method's configuration and aggregation mode, in double (to ~1e-12) and float (loosely), whole
// and in micro-batches; plus finite differences (gradcheck).

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "test_util.hpp"

using namespace chord;
using namespace chord::testing;
using rl::RowKind;

namespace {


// One batch on the host, in double. Outside the mask every input is NaN (it must never be read),
// and so are the advantages of expert rows and lp_old off the on-policy rows.
struct Data {
  int64_t N = 0, L = 0;
  std::vector<double> lp, lp_old, lp_ref, ent, mask, adv;
  std::vector<RowKind> kinds;
};

Data make_data(const std::vector<RowKind>& kinds, const std::vector<std::pair<int64_t, int64_t>>& spans, int64_t L,
               uint64_t seed) {
  Data d;
  d.N = static_cast<int64_t>(kinds.size());
  d.L = L;
  d.kinds = kinds;
  Generator gen(seed);
  for (int64_t i = 0; i < d.N; ++i) {
    d.adv.push_back(kinds[i] == Ex ? kNaN : gen.normal());
    for (int64_t t = 0; t < L; ++t) {
      const bool in = t >= spans[i].first && t < spans[i].first + spans[i].second;
      const double lp = -0.05 - 0.9 * std::abs(gen.normal());
      const double old = lp + 0.7 * gen.normal();  // rho from about 0.25 to 4: every clip region
      const double ref = t % 4 == 1 ? lp + 3.0 : lp + 0.6 * gen.normal();  // d = 3: k3 = e^3 - 4 > 10, clamped
      const double h = 0.1 + std::abs(gen.normal());
      d.mask.push_back(in ? 1.0 : 0.0);
      d.lp.push_back(in ? lp : kNaN);
      d.lp_old.push_back(in && kinds[i] == On ? old : kNaN);
      d.lp_ref.push_back(in ? ref : kNaN);
      d.ent.push_back(in ? h : kNaN);
    }
  }
  // Make sure of a dual-clip token (A < 0, rho = 4.5) and of a positive advantage.
  for (int64_t i = 0, seen = 0; i < d.N; ++i) {
    if (kinds[i] != On || spans[i].second == 0) continue;
    if (seen++ == 0) {
      d.adv[i] = -0.8;
      const int64_t k = i * L + spans[i].first;
      d.lp_old[k] = d.lp[k] - std::log(4.5);
    } else if (seen == 2) {
      d.adv[i] = 0.9;
    }
  }
  return d;
}

// ---- the oracle: the objective token by token, in double ------------------------------

struct Oracle {
  double loss = 0;
  std::vector<double> d_lp, d_ent;  // [N * L]
  rl::ObjectiveMetrics metrics;
};

Oracle oracle(const Data& d, double mu, const rl::StepNormalizer& step, const rl::ObjectiveOptions& o,
              bool with_ref, bool with_entropy) {
  Oracle out;
  out.d_lp.assign(d.N * d.L, 0.0);
  out.d_ent.assign(d.N * d.L, 0.0);
  rl::ObjectiveMetrics& m = out.metrics;
  double kl_sum = 0, entropy_sum = 0;
  for (int64_t i = 0; i < d.N; ++i) {
    int64_t n = 0;
    for (int64_t t = 0; t < d.L; ++t) n += d.mask[i * d.L + t] == 1.0;
    if (n == 0) continue;
    const RowKind kind = d.kinds[i];
    const bool expert = kind == Ex;
    const double w_group =
        rl::aggregation_weight(o.aggregation, o.constant_normalizer, expert ? step.sft : step.policy, n);
    const double w_all = rl::aggregation_weight(o.aggregation, o.constant_normalizer, step.all, n);
    const double w_mix = expert ? mu : 1.0 - mu;
    for (int64_t t = 0; t < d.L; ++t) {
      const int64_t k = i * d.L + t;
      if (d.mask[k] == 0.0) continue;
      const double lp = d.lp[k];
      rl::TokenLoss l;
      if (kind == On) {
        const rl::PpoTokenLoss r = rl::ppo_token_loss(lp, d.lp_old[k], d.adv[i], o.ppo_clip());
        l = {r.value, r.grad};
        m.ppo_kl.add(d.lp_old[k] - lp);
        m.clip_low.add(r.region == rl::ClipRegion::Low);
        m.clip_high.add(r.region == rl::ClipRegion::High);
        m.clip_dual.add(r.region == rl::ClipRegion::Dual);
        m.on_prob.add(std::exp(lp));
      } else if (kind == Off) {
        l = o.shaping ? rl::shaped_off_policy_token_loss(lp, d.adv[i], o.shaping_gamma)
                      : rl::unshaped_off_policy_token_loss(lp, d.adv[i]);
        m.off_prob.add(std::exp(lp));
      } else {
        l = rl::sft_token_loss(lp, o.sft_weight);
        m.off_prob.add(std::exp(lp));
      }
      (expert ? m.loss_sft : m.loss_policy) += w_group * l.value;
      double grad = w_mix * w_group * l.grad;
      if (with_ref) {
        const rl::TokenLoss kl = rl::kl_token(lp, d.lp_ref[k], o.kl);
        m.kl.add(kl.value);
        kl_sum += w_all * kl.value;
        grad += o.beta * w_all * kl.grad;
      }
      if (with_entropy) {
        m.entropy.add(d.ent[k]);
        entropy_sum += w_all * d.ent[k];
        out.d_ent[k] = -o.entropy_coef * w_all;
      }
      out.d_lp[k] = grad;
    }
  }
  m.loss_kl = o.beta * kl_sum;
  m.loss_entropy = -o.entropy_coef * entropy_sum;
  m.loss = (1.0 - mu) * m.loss_policy + mu * m.loss_sft + m.loss_kl + m.loss_entropy;
  out.loss = m.loss;
  return out;
}

// ---- the composed objective, whole or in micro-batches ------------------------------------

template <FloatingPoint T>
Tensor<T> as_tensor(const std::vector<double>& v, const Shape& shape) {
  std::vector<T> x(v.begin(), v.end());
  return Tensor<T>::from_vector(x, shape);
}

template <FloatingPoint T>
struct Composed {
  double loss = 0;  // summed over the micro-batches
  std::vector<double> d_lp, d_ent;
  rl::ObjectiveMetrics metrics;
};

// Rows split at `cuts` (e.g. {3, 5}: rows [0, 3), [3, 5), [5, N)) into micro-batches of one step.
template <FloatingPoint T>
Composed<T> composed(const Data& d, double mu, const rl::ObjectiveOptions& o, bool with_ref, bool with_entropy,
                     const std::vector<int64_t>& cuts = {}) {
  const Shape shape{d.N, d.L};
  Tensor<T> lp = as_tensor<T>(d.lp, shape).set_requires_grad();
  Tensor<T> ent = as_tensor<T>(d.ent, shape).set_requires_grad();
  const Tensor<T> lp_old = as_tensor<T>(d.lp_old, shape), lp_ref = as_tensor<T>(d.lp_ref, shape);
  const Tensor<T> mask = as_tensor<T>(d.mask, shape), adv = as_tensor<T>(d.adv, Shape{d.N});
  std::vector<std::pair<int64_t, int64_t>> parts;
  int64_t begin = 0;
  for (int64_t c : cuts) parts.emplace_back(begin, c), begin = c;
  parts.emplace_back(begin, d.N);
  auto batch = [&](int64_t b, int64_t e) {
    return rl::ObjectiveBatch<T>{.log_probs = lp.narrow(0, b, e - b),
                                 .old_log_probs = lp_old.narrow(0, b, e - b),
                                 .ref_log_probs = with_ref ? lp_ref.narrow(0, b, e - b) : Tensor<T>(),
                                 .entropy = with_entropy ? ent.narrow(0, b, e - b) : Tensor<T>(),
                                 .mask = mask.narrow(0, b, e - b),
                                 .advantages = adv.narrow(0, b, e - b),
                                 .kinds = std::vector<RowKind>(d.kinds.begin() + b, d.kinds.begin() + e)};
  };
  rl::StepNormalizer step;
  for (auto [b, e] : parts) {
    const rl::ObjectiveBatch<T> mb = batch(b, e);
    step.add(mb.mask, mb.kinds);
  }
  Composed<T> out;
  for (auto [b, e] : parts) {
    const rl::ObjectiveResult<T> r = rl::mixed_objective(batch(b, e), mu, step, o);
    CHECK(r.loss.dim() == 0);
    CHECK(r.metrics.loss == doctest::Approx(static_cast<double>(r.loss.item())).epsilon(1e-6));
    r.loss.backward();
    out.loss += static_cast<double>(r.loss.item());
    out.metrics += r.metrics;
  }
  auto grad = [](const Tensor<T>& x) {
    std::vector<double> g(static_cast<std::size_t>(x.numel()), 0.0);
    if (x.grad().defined()) {
      const std::vector<T> v = x.grad().to_vector();
      std::copy(v.begin(), v.end(), g.begin());
    }
    return g;
  };
  out.d_lp = grad(lp);
  out.d_ent = grad(ent);
  return out;
}

// |got - want| <= tol (|want| + scale); scale: the size of the quantity's typical values.
bool close(double got, double want, double tol, double scale) {
  return std::abs(got - want) <= tol * (std::abs(want) + scale);
}
double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

template <FloatingPoint T>
void check_against_oracle(const Data& d, double mu, const rl::ObjectiveOptions& o, bool with_ref, bool with_entropy,
                          const std::vector<int64_t>& cuts, double tol) {
  const Data& x = d;
  const Composed<T> c = composed<T>(x, mu, o, with_ref, with_entropy, cuts);
  // The oracle reads the inputs as the composed objective does: rounded to T.
  Data rounded = d;
  for (auto* v : {&rounded.lp, &rounded.lp_old, &rounded.lp_ref, &rounded.ent, &rounded.adv})
    for (double& e : *v) e = static_cast<double>(static_cast<T>(e));
  const rl::StepNormalizer step =
      rl::StepNormalizer::of(as_tensor<double>(d.mask, Shape{d.N, d.L}), std::span<const RowKind>(d.kinds));
  const Oracle want = oracle(rounded, mu, step, o, with_ref, with_entropy);

  INFO("loss " << c.loss << " vs " << want.loss);
  CHECK(close(c.loss, want.loss, tol, 1e-3));
  const double lp_scale = max_abs(want.d_lp), ent_scale = max_abs(want.d_ent);
  for (std::size_t k = 0; k < want.d_lp.size(); ++k) {
    INFO("d loss / d lp at " << k << ": " << c.d_lp[k] << " vs " << want.d_lp[k]);
    CHECK(close(c.d_lp[k], want.d_lp[k], tol, lp_scale));
  }
  if (with_entropy && o.entropy_coef > 0)
    for (std::size_t k = 0; k < want.d_ent.size(); ++k) {
      INFO("d loss / d H at " << k << ": " << c.d_ent[k] << " vs " << want.d_ent[k]);
      CHECK(close(c.d_ent[k], want.d_ent[k], tol, ent_scale));
    }
  else
    CHECK(max_abs(c.d_ent) == 0.0);  // no bonus: no gradient to H
  const auto got_named = c.metrics.named(), want_named = want.metrics.named();
  REQUIRE(got_named.size() == want_named.size());
  for (std::size_t i = 0; i < got_named.size(); ++i) {
    INFO(got_named[i].first << ": " << got_named[i].second << " vs " << want_named[i].second);
    CHECK(got_named[i].first == want_named[i].first);
    CHECK(close(got_named[i].second, want_named[i].second, tol, 1e-3));
  }
  // The counts behind the token means are exact.
  CHECK(c.metrics.ppo_kl.count == want.metrics.ppo_kl.count);
  CHECK(c.metrics.off_prob.count == want.metrics.off_prob.count);
  CHECK(c.metrics.kl.count == want.metrics.kl.count);
  CHECK(c.metrics.entropy.count == want.metrics.entropy.count);
  CHECK(c.metrics.clip_low.sum == want.metrics.clip_low.sum);
  CHECK(c.metrics.clip_high.sum == want.metrics.clip_high.sum);
  CHECK(c.metrics.clip_dual.sum == want.metrics.clip_dual.sum);
}

// A method's configuration: its rows, mu and options.
struct Config {
  std::string name;
  std::vector<RowKind> kinds;
  std::vector<std::pair<int64_t, int64_t>> spans;
  double mu = 0;
  rl::ObjectiveOptions options;
  bool with_ref = false;      // lp_ref given (needed when beta > 0; logged as kl whenever given)
  bool with_entropy = true;   // entropy given (always in the trainer)
};

std::vector<Config> configs() {
  const int64_t max_len = 6;
  auto recipe = [&](rl::Method m, int64_t step = 3) { return rl::method_recipe(m, step, 0, 10, max_len); };
  // Row layouts; each has a row without loss tokens.
  const std::vector<RowKind> sft_rows{Ex, Ex, Ex, Ex}, grpo_rows{On, On, On, On, On, On},
      chord_rows{On, On, Ex, On, Ex, On}, luffy_rows{On, On, Off, On, Off, On},
      all_rows{On, On, Off, Ex, On, Ex, Off, On};
  const std::vector<std::pair<int64_t, int64_t>> four{{0, 4}, {1, 5}, {0, 0}, {2, 3}},
      six{{0, 4}, {1, 5}, {0, 2}, {2, 4}, {0, 0}, {0, 6}},
      eight{{0, 4}, {1, 5}, {2, 3}, {0, 6}, {0, 0}, {3, 2}, {1, 1}, {0, 3}};

  std::vector<Config> out;
  auto add = [&](std::string name, rl::Method m, const std::vector<RowKind>& kinds,
                 const std::vector<std::pair<int64_t, int64_t>>& spans) {
    const rl::Recipe r = recipe(m);
    out.push_back({std::move(name), kinds, spans, r.mu.mu(3), r.objective});
    return &out.back();
  };
  add("SFT", rl::Method::SFT, sft_rows, four);
  add("SFT phi", rl::Method::SFT, sft_rows, four)->options.sft_weight = rl::SftWeight::Phi;
  add("SFT importance", rl::Method::SFT, sft_rows, four)->options.sft_weight = rl::SftWeight::Importance;
  add("GRPO", rl::Method::GRPO, grpo_rows, six);
  add("GRPO dual clip", rl::Method::GRPO, grpo_rows, six)->options.dual_clip = 3.0;
  add("GRPO clip-higher", rl::Method::GRPO, grpo_rows, six)->options.eps_high = 0.28;
  add("GRPO no clip", rl::Method::GRPO, grpo_rows, six)->options.clip = false;
  add("CHORD-mu", rl::Method::CHORDMu, chord_rows, six);
  add("CHORD-phi", rl::Method::CHORDPhi, chord_rows, six);
  add("LUFFY", rl::Method::LUFFY, luffy_rows, six);
  add("LUFFY unshaped", rl::Method::LUFFY, luffy_rows, six)->options.shaping = false;
  add("LUFFY clipped, gamma 0.5", rl::Method::LUFFY, luffy_rows, six)->options.clip = true;
  out.back().options.shaping_gamma = 0.5;
  for (rl::KLEstimator k : {rl::KLEstimator::K1, rl::KLEstimator::K2, rl::KLEstimator::K3}) {
    Config* c = add(std::string("GRPO beta 0.2 ") + rl::to_string(k), rl::Method::GRPO, grpo_rows, six);
    c->options.beta = 0.2;
    c->options.kl = k;
    c->with_ref = true;
  }
  Config* c = add("every kind, every term", rl::Method::CHORDPhi, all_rows, eight);
  c->mu = 0.3;
  c->options.dual_clip = 3.0;
  c->options.beta = 0.1;
  c->options.entropy_coef = 0.02;
  c->with_ref = true;
  c = add("CHORD-mu, kl logged at beta 0, no entropy", rl::Method::CHORDMu, chord_rows, six);
  c->with_ref = true;
  c->with_entropy = false;
  c = add("SFT with an entropy bonus", rl::Method::SFT, sft_rows, four);
  c->options.entropy_coef = 0.05;
  return out;
}


}  // namespace

TEST_CASE("composed objective = scalar oracle: value, gradients and metrics for every configuration and mode") {
  uint64_t seed = 1000;
  for (const Config& config : configs())
    for (rl::Aggregation mode : kAggregations) {
      rl::ObjectiveOptions o = config.options;
      o.aggregation = mode;
      if (o.constant_normalizer == 0.0) o.constant_normalizer = 7.0;
      const Data d = make_data(config.kinds, config.spans, 6, ++seed);
      INFO(config.name << ", " << rl::to_string(mode));
      const int64_t N = d.N;
      {
        INFO("double, one batch");
        check_against_oracle<double>(d, config.mu, o, config.with_ref, config.with_entropy, {}, 1e-12);
      }
      {
        INFO("double, three micro-batches");
        check_against_oracle<double>(d, config.mu, o, config.with_ref, config.with_entropy, {1, N / 2}, 1e-12);
      }
      {
        INFO("float, one batch");
        check_against_oracle<float>(d, config.mu, o, config.with_ref, config.with_entropy, {}, 2e-5);
      }
      {
        INFO("float, two micro-batches");
        check_against_oracle<float>(d, config.mu, o, config.with_ref, config.with_entropy, {N - 2}, 2e-5);
      }
    }
}

TEST_CASE("the oracle comparison exercises every clip region and the k3 clamp") {
  // Guards the test above against data that would leave a branch untried.
  const Data d = make_data({On, On, On, On, On, On}, {{0, 4}, {1, 5}, {0, 2}, {2, 4}, {0, 0}, {0, 6}}, 6, 1005);
  const rl::StepNormalizer step =
      rl::StepNormalizer::of(as_tensor<double>(d.mask, Shape{d.N, d.L}), std::span<const RowKind>(d.kinds));
  const Oracle o = oracle(d, 0.0, step, {.dual_clip = 3.0}, false, true);
  CHECK(o.metrics.clip_low.sum > 0);
  CHECK(o.metrics.clip_high.sum > 0);
  CHECK(o.metrics.clip_dual.sum > 0);
  CHECK(o.metrics.clip_low.sum + o.metrics.clip_high.sum + o.metrics.clip_dual.sum < o.metrics.clip_low.count);
  int clamped = 0;
  for (std::size_t k = 0; k < d.lp.size(); ++k)
    if (d.mask[k] == 1.0) clamped += rl::kl_token(d.lp[k], d.lp_ref[k], rl::KLEstimator::K3).value == 10.0;
  CHECK(clamped > 0);
}

TEST_CASE("the composed objective passes gradcheck in every configuration and mode") {
  uint64_t seed = 2000;
  for (const Config& config : configs()) {
    // Phi and importance weights are under stop-gradient: finite differences of the value are not
    // the gradient (the oracle comparison covers them).
    if (config.options.sft_weight != rl::SftWeight::Plain) continue;
    for (rl::Aggregation mode : kAggregations) {
      rl::ObjectiveOptions o = config.options;
      o.aggregation = mode;
      if (o.constant_normalizer == 0.0) o.constant_normalizer = 7.0;
      Data d = make_data(config.kinds, config.spans, 6, ++seed);
      // Keep finite differences away from the kinks of the clip: no rho within 1e-3 of a bound.
      for (std::size_t k = 0; k < d.lp.size(); ++k) {
        if (std::isnan(d.lp_old[k])) continue;
        for (double bound : {1.0 - o.eps_low, 1.0 + o.eps_high, 1.0})
          if (std::abs(std::exp(d.lp[k] - d.lp_old[k]) - bound) < 1e-3) d.lp_old[k] -= 0.01;
      }
      INFO(config.name << ", " << rl::to_string(mode));
      const Shape shape{d.N, d.L};
      const TensorD mask = as_tensor<double>(d.mask, shape);
      const rl::StepNormalizer step = rl::StepNormalizer::of(mask, std::span<const RowKind>(d.kinds));
      auto f = [&](const Inputs& in) {
        const rl::ObjectiveBatch<double> b{.log_probs = in[0],
                                           .old_log_probs = as_tensor<double>(d.lp_old, shape),
                                           .ref_log_probs = config.with_ref ? as_tensor<double>(d.lp_ref, shape) : TensorD(),
                                           .entropy = config.with_entropy ? in[1] : TensorD(),
                                           .mask = mask,
                                           .advantages = as_tensor<double>(d.adv, Shape{d.N}),
                                           .kinds = d.kinds};
        return rl::mixed_objective(b, config.mu, step, o).loss;
      };
      // Finite inputs for the finite differences (NaN outside the mask is checked above).
      std::vector<double> lp = d.lp, ent = d.ent;
      for (std::size_t k = 0; k < lp.size(); ++k)
        if (std::isnan(lp[k])) lp[k] = -0.5, ent[k] = 1.0;
      TensorD lp_t = as_tensor<double>(lp, shape).set_requires_grad();
      TensorD ent_t = as_tensor<double>(ent, shape).set_requires_grad();
      CHORD_CHECK_GRADCHECK(f, {lp_t, ent_t});
    }
  }
}

TEST_CASE("each tensor token loss matches its scalar function, value and derivative, token by token") {
  const Data d = make_data({On, On, On, On}, {{0, 6}, {0, 6}, {0, 6}, {0, 6}}, 6, 3001);
  const Shape shape{d.N, d.L};
  const TensorD lp_old = as_tensor<double>(d.lp_old, shape), lp_ref = as_tensor<double>(d.lp_ref, shape);
  const TensorD adv = as_tensor<double>(d.adv, Shape{d.N, 1});
  // f(lp) elementwise: its values, and d f_k / d lp_k from the backward of sum(f).
  auto run = [&](auto f) {
    TensorD lp = as_tensor<double>(d.lp, shape).set_requires_grad();
    const TensorD out = f(lp);
    REQUIRE(out.shape() == shape);
    out.sum().backward();
    return std::pair{out.to_vector(), lp.grad().to_vector()};
  };
  auto expect = [&](const std::pair<std::vector<double>, std::vector<double>>& got, auto scalar) {
    for (int64_t k = 0; k < d.N * d.L; ++k) {
      const rl::TokenLoss want = scalar(k, k / d.L);
      INFO("token " << k);
      CHECK(close(got.first[k], want.value, 1e-13, 1e-3));
      CHECK(close(got.second[k], want.grad, 1e-13, 1e-3));
    }
  };
  for (const rl::PpoClip clip : {rl::PpoClip{}, rl::PpoClip{.dual_clip = 3.0}, rl::PpoClip{.eps_high = 0.28},
                                 rl::PpoClip{.clip = false}, rl::PpoClip{.clip = false, .dual_clip = 2.0}}) {
    rl::PpoTokenLosses<double> regions;
    const auto got = run([&](const TensorD& lp) {
      regions = rl::ppo_token_losses(lp, lp_old, adv, clip);
      return regions.loss;
    });
    expect(got, [&](int64_t k, int64_t i) {
      const rl::PpoTokenLoss r = rl::ppo_token_loss(d.lp[k], d.lp_old[k], d.adv[i], clip);
      return rl::TokenLoss{r.value, r.grad};
    });
    const std::vector<double> low = regions.clip_low.to_vector(), high = regions.clip_high.to_vector(),
                              dual = regions.clip_dual.to_vector(), ratio = regions.ratio.to_vector();
    for (int64_t k = 0; k < d.N * d.L; ++k) {
      const rl::PpoTokenLoss r = rl::ppo_token_loss(d.lp[k], d.lp_old[k], d.adv[k / d.L], clip);
      CHECK(low[k] == (r.region == rl::ClipRegion::Low ? 1.0 : 0.0));
      CHECK(high[k] == (r.region == rl::ClipRegion::High ? 1.0 : 0.0));
      CHECK(dual[k] == (r.region == rl::ClipRegion::Dual ? 1.0 : 0.0));
      CHECK(ratio[k] == doctest::Approx(r.ratio).epsilon(1e-15));
    }
  }
  for (double gamma : {0.1, 1.0})
    expect(run([&](const TensorD& lp) { return rl::shaped_off_policy_token_losses(lp, adv, gamma); }),
           [&](int64_t k, int64_t i) { return rl::shaped_off_policy_token_loss(d.lp[k], d.adv[i], gamma); });
  expect(run([&](const TensorD& lp) { return rl::unshaped_off_policy_token_losses(lp, adv); }),
         [&](int64_t k, int64_t i) { return rl::unshaped_off_policy_token_loss(d.lp[k], d.adv[i]); });
  for (rl::SftWeight w : {rl::SftWeight::Plain, rl::SftWeight::Phi, rl::SftWeight::Importance})
    expect(run([&](const TensorD& lp) { return rl::sft_token_losses(lp, w); }),
           [&](int64_t k, int64_t) { return rl::sft_token_loss(d.lp[k], w); });
  for (rl::KLEstimator e : {rl::KLEstimator::K1, rl::KLEstimator::K2, rl::KLEstimator::K3})
    expect(run([&](const TensorD& lp) { return rl::kl_token_losses(lp, lp_ref, e); }),
           [&](int64_t k, int64_t) { return rl::kl_token(d.lp[k], d.lp_ref[k], e); });
  // The entropy bonus: -H, d/dH = -1.
  TensorD h = as_tensor<double>(d.ent, shape).set_requires_grad();
  rl::entropy_bonus_token_losses(h).sum().backward();
  check_values(h.grad(), std::vector<double>(d.N * d.L, -1.0), 0.0);
}

TEST_CASE("aggregation_weights is aggregation_weight of each token's row; aggregate sums the weighted losses") {
  const TensorD mask = tensor<double>({{1, 1, 0, 0}, {0, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 0, 0}});
  const rl::TokenCounts step{.tokens = 11, .rows = 5};  // the step holds other micro-batches too
  const int64_t row_tokens[4] = {2, 0, 4, 1};
  for (rl::Aggregation mode : kAggregations) {
    INFO(rl::to_string(mode));
    const TensorD w = rl::aggregation_weights(mask, mode, 3.0, step);
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t t = 0; t < 4; ++t)
        CHECK(w.at({i, t}) == (mask.at({i, t}) == 1.0 ? rl::aggregation_weight(mode, 3.0, step, row_tokens[i]) : 0.0));
    TensorD l = TensorD::arange(16.0).reshape({4, 4}).set_requires_grad();
    const TensorD s = rl::aggregate(l, mask, mode, 3.0, step);
    double want = 0;
    for (int64_t k = 0; k < 16; ++k) want += w.data()[k] * static_cast<double>(k);
    CHECK(s.item() == doctest::Approx(want).epsilon(1e-15));
    s.backward();
    check_values(l.grad(), w.to_vector(), 0.0);
  }
  // An empty group weighs nothing.
  CHECK(rl::aggregation_weights(mask, rl::Aggregation::TokenMean, 0.0, {}).sum().item() == 0.0);
  CHECK(rl::aggregation_weights(mask, rl::Aggregation::SeqMeanTokenMean, 0.0, {}).sum().item() == 0.0);
}

TEST_CASE("a micro-batch without loss tokens gives a zero loss that backward() accepts") {
  TensorD lp = tensor<double>({{kNaN, kNaN}}).set_requires_grad();
  const TensorD mask = TensorD::zeros({1, 2});
  const rl::ObjectiveBatch<double> b{.log_probs = lp, .mask = mask, .kinds = {On}};
  rl::StepNormalizer step;
  step.policy = step.all = {.tokens = 3, .rows = 1};  // the step's other micro-batches
  const auto r = rl::mixed_objective(b, 0.0, step);
  CHECK(r.loss.item() == 0.0);
  r.loss.backward();
  check_values(lp.grad(), {0.0, 0.0}, 0.0);
  for (const auto& [name, value] : r.metrics.named()) CHECK(value == 0.0);
}
