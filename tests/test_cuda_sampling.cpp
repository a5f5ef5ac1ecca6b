// The draws on the GPU (sample/device_sampler.hpp, backend/cuda/sampling.hpp) against the CPU's
// TokenSampler: the same kept sets (top-k, top-p, min-p, repetition penalty, ties by id), the
// same distribution (chi-square with a fixed seed), the same token for the same uniform where
// the CPU walks ids in order, greedy, the recorded log-probs, errors; and generate() on the GPU
// against the CPU with plain sampling. Without a GPU every test prints a notice and passes.

#include <cmath>
#include <vector>

#include "sampling_checks.hpp"
#include "cuda_test_util.hpp"

using namespace chord;
using namespace chord::testing;
using sample::draw_on_device;

namespace {

// R copies of one logits row, on the GPU.
template <FloatingPoint T>
Tensor<T> repeated_rows(const std::vector<T>& row, int64_t R) {
  std::vector<T> values;
  values.reserve(row.size() * static_cast<std::size_t>(R));
  for (int64_t r = 0; r < R; ++r) values.insert(values.end(), row.begin(), row.end());
  return Tensor<T>::from_vector(values, {R, static_cast<int64_t>(row.size())}).to(kGpu);
}

std::vector<double> uniforms(int64_t n, uint64_t seed) {
  Generator gen(seed);
  std::vector<double> u(static_cast<std::size_t>(n));
  for (double& x : u) x = gen.uniform();
  return u;
}

const std::vector<float>& kRow = kSamplingRow;

}  // namespace

TEST_CASE("cuda sampling: draws stay in the CPU's kept set and match its probabilities (chi-square, fixed seed)") {
  CHORD_SKIP_WITHOUT_CUDA();
  const int64_t draws = 20000, V = static_cast<int64_t>(kRow.size());
  const std::vector<int64_t> context = {3, 0, 3, 9};
  std::vector<FilterOptions> cases = chi_square_filter_cases();  // the CPU test's, and a penalty
  cases.push_back({.temperature = 0.8, .top_p = 0.95, .repetition_penalty = 1.8});
  const Tensor<float> logits = repeated_rows(kRow, draws);
  TokenSampler<float> cpu(V);
  for (const FilterOptions& o : cases) {
    CHORD_CAPTURE_FILTER(o);
    std::vector<float> p(static_cast<std::size_t>(V));
    cpu.probabilities(kRow.data(), o, p.data(), context);
    const std::vector<std::vector<int64_t>> contexts(static_cast<std::size_t>(draws), context);
    const auto got = draw_on_device(logits, o, uniforms(draws, 77), contexts);
    std::vector<int64_t> counts(static_cast<std::size_t>(V), 0);
    for (int64_t t : got.tokens) {
      REQUIRE(t >= 0);
      REQUIRE(t < V);
      ++counts[t];
    }
    for (int64_t v = 0; v < V; ++v)
      if (p[v] == 0.0f) CHECK(counts[v] == 0);  // never outside the kept set
    int df = 0;
    const double stat = chi_square(counts, p, draws, df);
    CAPTURE(df);
    CHECK(df >= 1);  // as on the CPU: every case keeps at least two tokens, so the test has a statistic
    CHECK(stat < chi_square_critical_0001(df));
  }
}

TEST_CASE("cuda sampling: with the same uniform and no reordering filter, the GPU draws the CPU's token") {
  CHORD_SKIP_WITHOUT_CUDA();
  // Row i: the first uniform of Generator(1000 + i) drives the GPU's draw and TokenSampler's.
  // Without top-k / top-p both walk the kept ids in ascending order.
  const int64_t R = 2000, V = static_cast<int64_t>(kRow.size());
  TokenSampler<float> cpu(V);
  for (const FilterOptions o : {FilterOptions{.temperature = 1.0}, FilterOptions{.temperature = 0.6, .min_p = 0.2}}) {
    std::vector<double> u(static_cast<std::size_t>(R));
    for (int64_t i = 0; i < R; ++i) u[i] = Generator(1000 + static_cast<uint64_t>(i)).uniform();
    const auto got = draw_on_device(repeated_rows(kRow, R), o, u);
    int differ = 0;
    for (int64_t i = 0; i < R; ++i) {
      Generator gen(1000 + static_cast<uint64_t>(i));
      differ += got.tokens[i] != cpu.sample(kRow.data(), o, gen);
    }
    CHECK(differ <= 1);  // only a uniform within rounding of a cell boundary may differ
  }
}

TEST_CASE("cuda sampling: top-k and top-p break ties at the cut by the lower id, as the CPU does") {
  CHORD_SKIP_WITHOUT_CUDA();
  const std::vector<float> row = {0.5f, 2.0f, 1.0f, 1.0f, 1.0f, 2.0f, 1.0f, -3.0f};  // ties at 2 and at 1
  const int64_t R = 4000, V = static_cast<int64_t>(row.size());
  TokenSampler<float> cpu(V);
  for (const FilterOptions o : {FilterOptions{.top_k = 3}, FilterOptions{.top_k = 4}, FilterOptions{.top_p = 0.6},
                                FilterOptions{.top_k = 5, .top_p = 0.8}}) {
    CAPTURE(o.top_k);
    CAPTURE(o.top_p);
    std::vector<float> p(static_cast<std::size_t>(V));
    cpu.probabilities(row.data(), o, p.data());
    const auto got = draw_on_device(repeated_rows(row, R), o, uniforms(R, 11));
    std::vector<int64_t> counts(static_cast<std::size_t>(V), 0);
    for (int64_t t : got.tokens) ++counts[t];
    for (int64_t v = 0; v < V; ++v) {
      CAPTURE(v);
      CHECK((counts[v] > 0) == (p[v] > 0.0f));  // the kept sets are equal (each kept id has p > 5%)
    }
  }
}

TEST_CASE("cuda sampling: a large vocabulary (GPT-2's) with top-k 50 and top-p 0.9 keeps the CPU's set") {
  CHORD_SKIP_WITHOUT_CUDA();
  const int64_t V = 50257, R = 64;
  Generator gen(3);
  const Tensor<float> logits = Tensor<float>::randn({R, V}, gen) * 3.0f;
  const std::vector<float> host = logits.to_vector();
  TokenSampler<float> cpu(V);
  for (const FilterOptions o : {FilterOptions{.top_k = 50}, FilterOptions{.temperature = 0.7, .top_p = 0.9},
                                FilterOptions{.top_k = 200, .top_p = 0.5, .min_p = 0.05}}) {
    const auto got = draw_on_device(logits.to(kGpu), o, uniforms(R, 13));
    std::vector<float> p(static_cast<std::size_t>(V));
    for (int64_t r = 0; r < R; ++r) {
      cpu.probabilities(host.data() + r * V, o, p.data());
      CHECK(p[got.tokens[r]] > 0.0f);
    }
  }
  // Greedy: the argmax of each row, and the log-prob at temperature 1.
  const auto greedy = draw_on_device(logits.to(kGpu), {.temperature = 0.0}, {});
  const Tensor<float> lp = log_softmax(logits, -1);
  for (int64_t r = 0; r < R; ++r) {
    const float* x = host.data() + r * V;
    CHECK(greedy.tokens[r] == std::max_element(x, x + V) - x);
    CHECK(greedy.log_probs[r] == doctest::Approx(lp.at({r, greedy.tokens[r]})).epsilon(1e-5));
  }
}

TEST_CASE("cuda sampling: greedy takes the lowest id of a tie, after the repetition penalty") {
  CHORD_SKIP_WITHOUT_CUDA();
  const std::vector<double> row = {1.0, 3.0, -2.0, 3.0, 2.5};
  const auto plain = draw_on_device(repeated_rows(row, 1), {.temperature = 0.0}, {});
  CHECK(plain.tokens[0] == 1);
  const std::vector<std::vector<int64_t>> context = {{1}};
  const auto penalised = draw_on_device(repeated_rows(row, 1), {.temperature = 0.0, .repetition_penalty = 1.5}, {},
                                        context);
  CHECK(penalised.tokens[0] == 3);  // 3.0 / 1.5 = 2 at id 1 now loses to id 3
  CHECK(penalised.log_probs[0] == doctest::Approx(3.0 - std::log(std::exp(1.0) + 2 * std::exp(3.0) + std::exp(-2.0) +
                                                                  std::exp(2.5))));
}

TEST_CASE("cuda sampling: the recorded log-prob is log_softmax(x / T) of the unfiltered row") {
  CHORD_SKIP_WITHOUT_CUDA();
  const int64_t R = 50;
  const double T = 0.7;
  const auto got = draw_on_device(repeated_rows(kRow, R), {.temperature = T, .top_k = 3}, uniforms(R, 9));
  const Tensor<float> lp = log_softmax(Tensor<float>::from_vector(kRow) * static_cast<float>(1.0 / T), -1);
  for (int64_t r = 0; r < R; ++r) CHECK(got.log_probs[r] == doctest::Approx(lp.at({got.tokens[r]})).epsilon(1e-5));
}

TEST_CASE("cuda sampling: a NaN, a +inf or an all -inf row is a chord::Error naming it") {
  CHORD_SKIP_WITHOUT_CUDA();
  const float inf = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_AS(draw_on_device(repeated_rows(std::vector<float>{1.0f, std::nanf(""), 0.0f}, 2), {}, {0.1, 0.2}),
                       doctest::Contains("NaN or +inf"), Error);
  CHECK_THROWS_WITH_AS(draw_on_device(repeated_rows(std::vector<float>{1.0f, inf}, 1), {.temperature = 0.0}, {}),
                       doctest::Contains("NaN or +inf"), Error);
  CHECK_THROWS_WITH_AS(draw_on_device(repeated_rows(std::vector<float>{-inf, -inf}, 1), {}, {0.5}),
                       doctest::Contains("every logit of the row is -inf"), Error);
  // A banned (-inf) token is never drawn.
  const auto got = draw_on_device(repeated_rows(std::vector<float>{0.0f, -inf, 0.0f}, 500), {}, uniforms(500, 1));
  for (int64_t t : got.tokens) CHECK(t != 1);
  CHECK_THROWS_WITH_AS(draw_on_device(repeated_rows(kRow, 2), {.temperature = 1.0}, {0.5}),
                       doctest::Contains("uniforms"), Error);
}

TEST_CASE("cuda sampling: generate() on the GPU draws the CPU's first tokens from the same seed") {
  CHORD_SKIP_WITHOUT_CUDA();
  const nn::GPTConfig config{.vocab_size = 37, .context_length = 32, .n_layer = 2, .n_head = 4, .n_embd = 32};
  nn::GPT<float> cpu_model(config, 21), gpu_model(config, 21);
  gpu_model.to(kGpu);
  const std::vector<std::vector<int64_t>> prompts = {{1, 2, 3}, {4, 5}, {6, 7, 8, 9}};
  const SampleOptions options{.max_new_tokens = 8, .temperature = 1.0, .seed = 17};
  const auto gpu = generate(gpu_model, prompts, options, 4), cpu = generate(cpu_model, prompts, options, 4);
  REQUIRE(gpu.num_rows() == cpu.num_rows());
  int same_first = 0;
  for (int64_t r = 0; r < gpu.num_rows(); ++r) {
    same_first += gpu.completions[r].tokens[0] == cpu.completions[r].tokens[0];
    CHECK(gpu.completions[r].log_probs[0] == doctest::Approx(cpu.completions[r].log_probs[0]).epsilon(1e-4));
  }
  CHECK(same_first >= gpu.num_rows() - 1);  // a uniform at a cell boundary may flip one
  // With a repetition penalty, top-k and a stop id the GPU path runs and is reproducible.
  const SampleOptions filtered{.max_new_tokens = 10, .temperature = 0.9, .top_k = 8, .top_p = 0.95,
                               .repetition_penalty = 1.3, .stop_ids = {5}, .seed = 4};
  const auto a = generate(gpu_model, prompts, filtered, 3), b = generate(gpu_model, prompts, filtered, 3);
  check_equal(a.tokens, b.tokens);
  check_equal(a.log_probs, b.log_probs);
  for (const auto& c : a.completions)
    for (std::size_t t = 0; t + 1 < c.tokens.size(); ++t) CHECK(c.tokens[t] != 5);  // a stop id ends the response
}
