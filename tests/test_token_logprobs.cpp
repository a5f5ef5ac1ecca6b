// token_log_probs / token_entropy (ops/token_logprobs.hpp) and the row kernels
// the sampler shares with them (backend/cpu/token_logprobs.hpp).

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "test_util.hpp"

using namespace chord;
using namespace chord::testing;

namespace {

// lp and H of one row by the textbook formulas, in double.
struct NaiveRow {
  std::vector<double> log_p;
  double entropy = 0;
};
NaiveRow naive_row(const std::vector<double>& logits, double temperature) {
  double m = -std::numeric_limits<double>::infinity();
  for (double x : logits) m = std::max(m, x / temperature);
  double s = 0;
  for (double x : logits) s += std::exp(x / temperature - m);
  NaiveRow out;
  for (double x : logits) out.log_p.push_back(x / temperature - m - std::log(s));
  for (double lp : out.log_p) out.entropy -= std::exp(lp) * lp;
  return out;
}

Tensor<int64_t> random_targets(const Shape& shape, int64_t V, uint64_t seed) {
  Generator gen(seed);
  return randint(0, V, shape, gen);
}

}  // namespace

TEST_CASE("token_log_probs and token_entropy equal log_softmax(logits / T) gathered at the targets") {
  Generator gen(11);
  const TensorD logits = TensorD::randn({2, 3, 5}, gen) * 2.0;
  const Tensor<int64_t> targets = random_targets({2, 3}, 5, 12);
  for (double temperature : {1.0, 0.7, 1.6}) {
    INFO("temperature " << temperature);
    // The composition of existing ops, as an independent reference.
    const TensorD z = logits * (1.0 / temperature);
    const TensorD log_p = log_softmax(z, -1);
    const TensorD expected_lp = gather(log_p, -1, targets.unsqueeze(-1)).squeeze(-1);
    const TensorD expected_h = -sum(softmax(z, -1) * log_p, {-1});

    const TensorD lp = token_log_probs(logits, targets, temperature);
    const TensorD h = token_entropy(logits, temperature);
    CHECK(lp.shape() == Shape{2, 3});
    CHECK(h.shape() == Shape{2, 3});
    check_values(lp, expected_lp.contiguous().to_vector(), 1e-12);
    check_values(h, expected_h.contiguous().to_vector(), 1e-12);

    // And the textbook per-row formulas.
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t t = 0; t < 3; ++t) {
        std::vector<double> row;
        for (int64_t v = 0; v < 5; ++v) row.push_back(logits.at({i, t, v}));
        const NaiveRow naive = naive_row(row, temperature);
        CHECK(lp.at({i, t}) == doctest::Approx(naive.log_p[targets.at({i, t})]).epsilon(1e-12));
        CHECK(h.at({i, t}) == doctest::Approx(naive.entropy).epsilon(1e-12));
      }

    // One pass for both gives the same bits as the two calls.
    const TokenLogProbs<double> both = token_log_probs_and_entropy(logits, targets, temperature);
    CHECK(both.log_probs.to_vector() == lp.to_vector());
    CHECK(both.entropy.to_vector() == h.to_vector());
  }
}

TEST_CASE("token entropy is log V for uniform logits and 0 for a one-hot limit") {
  const TensorD uniform = TensorD::zeros({1, 7});
  check_values(token_entropy(uniform), {std::log(7.0)}, 1e-14);
  const TensorD peaked = tensor<double>({{0.0, 200.0, 0.0}});
  CHECK(token_entropy(peaked).item() < 1e-80);
  // A -inf logit has probability 0 and adds nothing (no 0 * -inf = NaN).
  const double inf = std::numeric_limits<double>::infinity();
  const TensorD masked = tensor<double>({{0.0, -inf, 0.0}});
  check_values(token_entropy(masked), {std::log(2.0)}, 1e-14);
  check_values(token_log_probs(masked, Tensor<int64_t>::from_vector({0}, {1})), {std::log(0.5)}, 1e-14);
}

TEST_CASE("token_log_probs and token_entropy pass gradcheck in double, with temperature and on views") {
  const Tensor<int64_t> targets = random_targets({2, 3}, 4, 21);
  for (double temperature : {1.0, 0.6}) {
    INFO("temperature " << temperature);
    auto lp_fn = [&](const Inputs& in) { return token_log_probs(in[0], targets, temperature); };
    auto h_fn = [&](const Inputs& in) { return token_entropy(in[0], temperature); };
    // Both outputs in one graph: two nodes reading the same logits.
    auto both_fn = [&](const Inputs& in) {
      const TokenLogProbs<double> r = token_log_probs_and_entropy(in[0], targets, temperature);
      return r.log_probs * 0.7 - r.entropy * 1.3;
    };
    CHORD_CHECK_GRADCHECK(lp_fn, {leaf({2, 3, 4}, 22)});
    CHORD_CHECK_GRADCHECK(h_fn, {leaf({2, 3, 4}, 23)});
    CHORD_CHECK_GRADCHECK(both_fn, {leaf({2, 3, 4}, 24)});
    CHORD_CHECK_GRADCHECK(both_fn, {transposed_leaf({2, 3, 4}, 25)});
    CHORD_CHECK_GRADCHECK(both_fn, {strided_leaf({2, 3, 4}, 26)});
  }
}

TEST_CASE("token_log_probs backward is (onehot - softmax) / T, token_entropy backward -p (log p + H) / T") {
  const TensorD logits = tensor<double>({{0.5, -1.0, 2.0}});
  const double T = 0.8;
  const NaiveRow naive = naive_row({0.5, -1.0, 2.0}, T);

  TensorD x = logits.clone();
  x.set_requires_grad();
  token_log_probs(x, Tensor<int64_t>::from_vector({1}, {1}), T).sum().backward();
  std::vector<double> expected;
  for (int v = 0; v < 3; ++v) expected.push_back(((v == 1) - std::exp(naive.log_p[v])) / T);
  check_values(x.grad(), expected, 1e-13);

  TensorD y = logits.clone();
  y.set_requires_grad();
  token_entropy(y, T).sum().backward();
  expected.clear();
  for (int v = 0; v < 3; ++v) expected.push_back(-std::exp(naive.log_p[v]) * (naive.log_p[v] + naive.entropy) / T);
  check_values(y.grad(), expected, 1e-13);
}

TEST_CASE("the sampler's row helpers and the op give bit-identical log-probs and entropies") {
  // V = 37 (odd): rows of the op's buffer start at every alignment; the
  // sampler's copy of each row sits one float past an aligned address.
  const int64_t N = 3, L = 4, V = 37;
  Generator gen(31);
  const Tensor<float> logits = Tensor<float>::randn({N, L, V}, gen) * 3.0f;
  const Tensor<int64_t> targets = random_targets({N, L}, V, 32);
  for (float temperature : {1.0f, 0.7f}) {
    INFO("temperature " << temperature);
    const TokenLogProbs<float> op = token_log_probs_and_entropy(logits, targets, temperature);
    const float inv_t = cpu::inverse_temperature<float>(temperature);
    std::vector<float> buffer(V + 1), out(V);
    for (int64_t r = 0; r < N * L; ++r) {
      float* row = buffer.data() + 1;
      std::memcpy(row, logits.data() + r * V, V * sizeof(float));
      const int64_t target = targets.data()[r];
      const float lp_sampler = cpu::token_log_prob_row(row, V, target, inv_t);
      const cpu::LogSoftmaxRowStats<float> stats = cpu::log_softmax_row(row, out.data(), V, inv_t);
      CHECK(lp_sampler == op.log_probs.data()[r]);
      CHECK(out[target] == op.log_probs.data()[r]);
      CHECK(stats.entropy == op.entropy.data()[r]);
    }
  }
}

TEST_CASE("log_softmax_row at temperature 1 agrees with log_softmax to float rounding") {
  Generator gen(41);
  const Tensor<float> logits = Tensor<float>::randn({1, 50}, gen) * 4.0f;
  std::vector<float> out(50);
  cpu::log_softmax_row(logits.data(), out.data(), 50, 1.0f);
  const std::vector<float> expected = log_softmax(logits, -1).to_vector();
  for (int v = 0; v < 50; ++v) CHECK(out[v] == doctest::Approx(expected[v]).epsilon(1e-6));
}

TEST_CASE("token_log_probs is stable for large float logits and independent of the thread count") {
  const Tensor<float> big = tensor<float>({{1000.0f, 1001.0f, 1002.0f}});
  const NaiveRow naive = naive_row({0.0, 1.0, 2.0}, 1.0);
  check_values(token_log_probs(big, Tensor<int64_t>::from_vector({0}, {1})), {naive.log_p[0]}, 1e-6);
  check_values(token_entropy(big), {naive.entropy}, 1e-6);

  // Large enough for parallel_for to split the rows.
  Generator gen(51);
  Tensor<float> logits = Tensor<float>::randn({64, 3000}, gen);
  logits.set_requires_grad();
  const Tensor<int64_t> targets = random_targets({64}, 3000, 52);
  const int saved_threads = cpu::num_threads();
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2}) {
    cpu::set_num_threads(threads);
    logits.set_grad(Tensor<float>());
    const TokenLogProbs<float> r = token_log_probs_and_entropy(logits, targets, 0.9);
    (r.log_probs.sum() + r.entropy.sum()).backward();
    std::vector<float> all = r.log_probs.to_vector();
    const std::vector<float> h = r.entropy.to_vector(), g = logits.grad().to_vector();
    all.insert(all.end(), h.begin(), h.end());
    all.insert(all.end(), g.begin(), g.end());
    runs.push_back(all);
  }
  cpu::set_num_threads(saved_threads);
  CHECK(runs[0] == runs[1]);
}

TEST_CASE("token_log_probs rejects bad targets, shapes and temperatures") {
  const TensorD logits = TensorD::zeros({2, 4});
  CHORD_CHECK_ERROR(token_log_probs(logits, Tensor<int64_t>::from_vector({0, 4}, {2})), "out of range");
  CHORD_CHECK_ERROR(token_log_probs(logits, Tensor<int64_t>::from_vector({-1, 0}, {2})), "out of range");
  CHORD_CHECK_ERROR(token_log_probs(logits, Tensor<int64_t>::from_vector({0, 1, 2}, {3})), "do not match");
  CHORD_CHECK_ERROR(token_log_probs(logits, Tensor<int64_t>::from_vector({0, 1}, {2}), 0.0), "temperature");
  CHORD_CHECK_ERROR(token_entropy(logits, -1.0), "temperature");
  CHORD_CHECK_ERROR(token_entropy(TensorD::zeros({2, 0})), "empty");
  CHORD_CHECK_ERROR(token_entropy(TensorD::scalar(1.0)), "0-d");
}
