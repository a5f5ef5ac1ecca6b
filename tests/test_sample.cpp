// The sample layer: filters and the categorical draw (sample/filters.hpp), batched generation with
// a KV cache and the log-probs it records (sample/generate.hpp).

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include <chord/nn/gpt.hpp>
#include <chord/ops/token_logprobs.hpp>
#include <chord/sample/filters.hpp>
#include <chord/sample/generate.hpp>

#include "sampling_checks.hpp"
#include "test_util.hpp"

using namespace chord;
using chord::testing::chi_square;
using chord::testing::chi_square_critical_0001;
using chord::testing::chi_square_filter_cases;

namespace {

// ---- references -----------------------------------------------------------------

// The filtered distribution computed naively in double, straight from the definitions in
// filters.hpp (sorting everything, no shared code with TokenSampler).
std::vector<double> reference_probs(const std::vector<float>& logits, const FilterOptions& o,
                                    const std::vector<int64_t>& context = {}) {
  const int64_t V = static_cast<int64_t>(logits.size());
  std::vector<double> x(logits.begin(), logits.end());
  std::set<int64_t> seen(context.begin(), context.end());
  for (int64_t id : seen) x[id] = x[id] > 0 ? x[id] / o.repetition_penalty : x[id] * o.repetition_penalty;
  std::vector<double> p(V, 0.0);
  if (o.temperature == 0.0) {
    p[std::max_element(x.begin(), x.end()) - x.begin()] = 1.0;
    return p;
  }
  std::vector<int64_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return x[a] > x[b]; });
  const double m = x[order[0]];
  for (int64_t v = 0; v < V; ++v) p[v] = std::exp((x[v] - m) / o.temperature);
  std::vector<bool> keep(V, true);
  if (o.top_k > 0)
    for (int64_t i = o.top_k; i < V; ++i) keep[order[i]] = false;
  auto renormalise = [&] {
    double s = 0;
    for (int64_t v = 0; v < V; ++v) s += keep[v] ? p[v] : 0.0;
    for (int64_t v = 0; v < V; ++v) p[v] = keep[v] ? p[v] / s : 0.0;
  };
  renormalise();
  if (o.top_p < 1.0) {
    double before = 0;
    for (int64_t i = 0; i < V; ++i) {
      const int64_t v = order[i];
      if (!keep[v]) continue;
      if (before >= o.top_p) keep[v] = false;
      before += p[v];
    }
    renormalise();
  }
  if (o.min_p > 0.0) {
    const double pmax = *std::max_element(p.begin(), p.end());
    for (int64_t v = 0; v < V; ++v)
      if (p[v] < o.min_p * pmax) keep[v] = false;
    renormalise();
  }
  return p;
}

const std::vector<float>& kRow = chord::testing::kSamplingRow;

// ---- a tiny model ---------------------------------------------------------------

nn::GPTConfig sampling_model_config() {
  return nn::GPTConfig{.vocab_size = 11, .context_length = 32, .n_layer = 2, .n_head = 2, .n_embd = 16};
}

// A randomly initialised tiny GPT whose token embedding (= tied head) is scaled by `scale`, so
// its next-token distributions range from near uniform (scale 1) to peaked (scale 30).
std::unique_ptr<nn::GPT<float>> tiny_model(uint64_t seed, float scale) {
  auto model = std::make_unique<nn::GPT<float>>(sampling_model_config(), seed);
  float* w = model->wte->weight.data();
  for (int64_t i = 0; i < model->wte->weight.numel(); ++i) w[i] *= scale;
  return model;
}

const std::vector<std::vector<int64_t>> kPrompts = {{1, 4, 2}, {7}, {3, 3, 9, 0, 5, 6}};

// log_softmax(logits / T) of each response token under a full forward of prompt + response (no
// cache), as the trainer computes it: [tokens.size()].
std::vector<float> full_recompute_log_probs(nn::GPT<float>& model, const std::vector<int64_t>& prompt,
                                            const std::vector<int64_t>& response, double temperature) {
  std::vector<int64_t> seq = prompt;
  seq.insert(seq.end(), response.begin(), response.end());
  const int64_t S = static_cast<int64_t>(seq.size());
  NoGradGuard no_grad;
  const auto input = Tensor<int64_t>::from_vector(std::vector<int64_t>(seq.begin(), seq.end() - 1), {1, S - 1});
  const auto target = Tensor<int64_t>::from_vector(std::vector<int64_t>(seq.begin() + 1, seq.end()), {1, S - 1});
  const std::vector<float> all = token_log_probs(model.forward(input), target, temperature).to_vector();
  return std::vector<float>(all.end() - static_cast<std::ptrdiff_t>(response.size()), all.end());
}

std::vector<std::vector<int64_t>> tokens_of(const GenerationResult<float>& r) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& c : r.completions) out.push_back(c.tokens);
  return out;
}

}  // namespace

// ---- filters --------------------------------------------------------------------

TEST_CASE("greedy (temperature 0) picks the argmax, the lowest id on ties, and uses no randomness") {
  TokenSampler<float> sampler(5);
  Generator gen(1), untouched(1);
  const std::vector<float> row = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
  CHECK(sampler.sample(row.data(), {.temperature = 0.0}, gen) == 1);
  CHECK(gen.next_u64() == untouched.next_u64());
  std::vector<float> p(5);
  sampler.probabilities(row.data(), {.temperature = 0.0}, p.data());
  CHECK(p == std::vector<float>{0, 1, 0, 0, 0});
  // The repetition penalty can move the argmax: 2.0 / 4 = 0.5 for ids 1 and 3.
  CHECK(sampler.sample(row.data(), {.temperature = 0.0, .repetition_penalty = 4.0}, gen, std::vector<int64_t>{1, 3}) ==
        4);
}

TEST_CASE("filtered probabilities equal a naive reference: temperature, top-k, top-p, min-p, penalty, combined") {
  TokenSampler<float> sampler(11);
  const std::vector<FilterOptions> cases = {
      {.temperature = 1.0},
      {.temperature = 0.5},
      {.temperature = 2.0, .top_k = 3},
      {.temperature = 1.0, .top_k = 1},
      {.temperature = 1.0, .top_k = 11},
      {.temperature = 1.0, .top_p = 0.6},
      {.temperature = 0.7, .top_p = 0.95},
      {.temperature = 1.0, .top_p = 0.01},  // only the most likely token
      {.temperature = 1.0, .min_p = 0.3},
      {.temperature = 1.3, .top_k = 6, .top_p = 0.8, .min_p = 0.2},
      {.temperature = 1.0, .repetition_penalty = 1.8},
      {.temperature = 0.8, .top_k = 4, .repetition_penalty = 1.5},
  };
  const std::vector<int64_t> context = {3, 5, 3, 6, 7};  // 3 twice: penalised once
  for (const FilterOptions& o : cases) {
    CHORD_CAPTURE_FILTER(o);
    const std::vector<double> want = reference_probs(kRow, o, context);
    std::vector<float> got(11);
    sampler.probabilities(kRow.data(), o, got.data(), context);
    for (int v = 0; v < 11; ++v) {
      CAPTURE(v);
      CHECK((got[v] == 0.0f) == (want[v] == 0.0));  // the same allowed set
      CHECK(got[v] == doctest::Approx(want[v]).epsilon(1e-5));
    }
  }
  // Spot values by hand: top-k = 1 is one-hot on id 3; top-p 0.55 of kRow keeps ids 3, 6, 0
  // (p = 0.302, 0.183, 0.111: the mass before the fourth, 0.596, has reached 0.55).
  std::vector<float> got(11);
  sampler.probabilities(kRow.data(), {.top_k = 1}, got.data());
  CHECK(got[3] == 1.0f);
  sampler.probabilities(kRow.data(), {.top_p = 0.55}, got.data());
  for (int v = 0; v < 11; ++v) CHECK((got[v] > 0) == (v == 3 || v == 6 || v == 0));
}

TEST_CASE("draws never leave the allowed set and match the renormalised probabilities (chi-square, fixed seed)") {
  TokenSampler<float> sampler(11);
  const int64_t draws = 20000;
  const std::vector<FilterOptions> cases = chi_square_filter_cases();
  Generator gen(2024);
  for (const FilterOptions& o : cases) {
    CHORD_CAPTURE_FILTER(o);
    const std::vector<double> p = reference_probs(kRow, o);
    std::vector<int64_t> counts(11, 0);
    for (int64_t i = 0; i < draws; ++i) ++counts[sampler.sample(kRow.data(), o, gen)];
    for (int v = 0; v < 11; ++v)
      if (p[v] == 0.0) CHECK(counts[v] == 0);
    int df = 0;
    const double stat = chi_square(counts, p, draws, df);
    CAPTURE(df);
    CHECK(df >= 1);
    CHECK(stat < chi_square_critical_0001(df));
  }
  // The test has power: draws at temperature 1 against the temperature-1.3 distribution fail it.
  std::vector<int64_t> counts(11, 0);
  for (int64_t i = 0; i < draws; ++i) ++counts[sampler.sample(kRow.data(), {.temperature = 1.0}, gen)];
  int df = 0;
  const double stat = chi_square(counts, reference_probs(kRow, {.temperature = 1.3}), draws, df);
  CHECK(stat > chi_square_critical_0001(df));
}

TEST_CASE("sampling toward temperature 0 agrees with greedy") {
  TokenSampler<float> sampler(11);
  Generator gen(5), logits_gen(6);
  int compared = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> row(11);
    for (float& x : row) x = static_cast<float>(logits_gen.normal());
    std::vector<float> sorted = row;
    std::sort(sorted.rbegin(), sorted.rend());
    if (sorted[0] - sorted[1] < 1e-2f) continue;  // gap / T must be large: exp(-1e-2 / 1e-4) = e^-100
    CHECK(sampler.sample(row.data(), {.temperature = 1e-4}, gen) ==
          sampler.sample(row.data(), {.temperature = 0.0}, gen));
    ++compared;
  }
  // The rows with a near-tie at the top are left out; most rows must remain, or the test tests little.
  CAPTURE(compared);
  CHECK(compared >= 150);
}

TEST_CASE("a -inf logit is never drawn; NaN, +inf, an all -inf row and bad options are errors") {
  TokenSampler<float> sampler(4);
  Generator gen(3);
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> banned = {0.0f, -inf, 0.5f, -inf};
  for (int i = 0; i < 500; ++i) {
    const int64_t v = sampler.sample(banned.data(), {.top_k = 3}, gen);
    CHECK((v == 0 || v == 2));
  }
  const std::vector<float> nan_row = {0.0f, std::nanf(""), 1.0f, 2.0f}, inf_row = {0.0f, inf, 1.0f, 2.0f},
                           dead = {-inf, -inf, -inf, -inf}, ok = {0, 1, 2, 3};
  CHORD_CHECK_ERROR(sampler.sample(nan_row.data(), {}, gen), "NaN");
  CHORD_CHECK_ERROR(sampler.sample(nan_row.data(), {.temperature = 0.0}, gen), "NaN");
  CHORD_CHECK_ERROR(sampler.sample(inf_row.data(), {}, gen), "+inf");
  CHORD_CHECK_ERROR(sampler.sample(dead.data(), {}, gen), "-inf");
  CHORD_CHECK_ERROR(sampler.sample(ok.data(), {.temperature = -1.0}, gen), "temperature");
  // A temperature so small that logits / T overflows: a clear error, not "NaN logits".
  CHORD_CHECK_ERROR(sampler.sample(ok.data(), {.temperature = 1e-40}, gen), "too small to divide the logits by");
  CHECK(sampler.sample(ok.data(), {.temperature = sample::FilterOptions::kMinTemperature}, gen) >= 0);
  CHORD_CHECK_ERROR(sampler.sample(ok.data(), {.top_k = -2}, gen), "top_k");
  CHORD_CHECK_ERROR(sampler.sample(ok.data(), {.top_p = 0.0}, gen), "top_p");
  CHORD_CHECK_ERROR(sampler.sample(ok.data(), {.min_p = 1.5}, gen), "min_p");
  CHORD_CHECK_ERROR(sampler.sample(ok.data(), {.repetition_penalty = 0.0}, gen), "repetition_penalty");
  CHORD_CHECK_ERROR(sampler.sample(ok.data(), {.repetition_penalty = 2.0}, gen, std::vector<int64_t>{1, 4}),
                    "context token 4");
  CHORD_CHECK_ERROR(TokenSampler<float>(0), "vocab_size");
}

TEST_CASE("the row kernels generate records lp with give token_log_probs' bits on the same logits") {
  // A check of two code paths, not of generate itself: generate.hpp records lp through
  // cpu::log_softmax_row_stats + cpu::log_prob_at; the trainer calls token_log_probs on [N, L, V].
  // On the same logits they must agree bit for bit. (generate's own records, from KV-cache
  // logits, are checked against a full recompute in the next test, within rounding.)
  Generator gen(11);
  const int64_t rows = 6, V = 37;
  const auto logits = Tensor<float>::randn({rows, V}, gen, 0.0f, 3.0f);
  const auto targets = Tensor<int64_t>::randint(0, V, {rows}, gen);
  for (double temperature : {1.0, 0.7, 1.3, 0.05}) {
    const std::vector<float> trainer = token_log_probs(logits, targets, temperature).to_vector();
    const float inv_t = static_cast<float>(1.0 / temperature);
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = logits.data() + r * V;
      const auto stats = cpu::log_softmax_row_stats(row, V, inv_t);
      const float sampler_lp = cpu::log_prob_at(row[targets.data()[r]], inv_t, stats);
      CHECK(sampler_lp == trainer[r]);
    }
  }
}

// ---- generate -------------------------------------------------------------------

TEST_CASE("generate's log-probs equal a full recompute's log_softmax(logits / T) (KV cache == no cache)") {
  // Prompts of lengths 3, 1 and 6 (left padding), 4 samples each (one prefill repeated), EOS and
  // stop ids that end most rows early (so the cache is compacted mid-way), filters on. Every recorded lp must
  // equal the trainer's recomputation without a cache: this is the KV-cache logits against the
  // full-recompute logits, through the row the trainer reads. Tolerance 2e-5 absolute: float
  // rounding of two summation orders (logits of size ~3, 16-wide dot products).
  const auto owner = tiny_model(21, 10.0f);
  nn::GPT<float>& model = *owner;
  for (double temperature : {1.0, 0.7}) {
    const SampleOptions options{.max_new_tokens = 26, .temperature = temperature, .top_k = 8, .min_p = 0.01,
                                .eos_id = 10, .stop_ids = {8, 9}, .seed = 99};
    const auto result = generate(model, kPrompts, options, 4);
    REQUIRE(result.num_rows() == 12);
    int early = 0;  // rows that ended with at least 4 steps to go
    for (const auto& c : result.completions) {
      early += c.finish_reason != FinishReason::Length && c.tokens.size() <= 26 - 4;
      const auto want = full_recompute_log_probs(model, kPrompts[c.prompt_index], c.tokens, temperature);
      REQUIRE(want.size() == c.log_probs.size());
      for (std::size_t t = 0; t < want.size(); ++t) CHECK(std::abs(c.log_probs[t] - want[t]) <= 2e-5f);
    }
    CHECK(early >= 6);  // half the rows had ended with steps to go: the compaction ran
  }
}

TEST_CASE("greedy generation is deterministic and equals argmax decoding with full recompute; lp at T = 1") {
  const auto owner = tiny_model(3, 30.0f);
  nn::GPT<float>& model = *owner;
  const SampleOptions options{.max_new_tokens = 20, .temperature = 0.0};
  const auto a = generate(model, kPrompts, options, 2);
  const auto b = generate(model, kPrompts, {.max_new_tokens = 20, .temperature = 0.0, .seed = 12345}, 2);
  CHECK(tokens_of(a) == tokens_of(b));
  NoGradGuard no_grad;
  for (const auto& c : a.completions) {
    CHECK(c.tokens == a.completions[c.prompt_index * 2].tokens);  // both samples of a prompt agree
    // Naive greedy: recompute the whole sequence each step, take the argmax of the last row.
    std::vector<int64_t> seq = kPrompts[c.prompt_index];
    for (int step = 0; step < 20; ++step) {
      const int64_t S = static_cast<int64_t>(seq.size());
      const auto logits = model.forward(Tensor<int64_t>::from_vector(seq, {1, S}));
      const float* last = logits.data() + (S - 1) * 11;
      seq.push_back(std::max_element(last, last + 11) - last);
    }
    CHECK(c.tokens == std::vector<int64_t>(seq.end() - 20, seq.end()));
    const auto lp = full_recompute_log_probs(model, kPrompts[c.prompt_index], c.tokens, 1.0);
    for (std::size_t t = 0; t < lp.size(); ++t) CHECK(std::abs(c.log_probs[t] - lp[t]) <= 2e-5f);
  }
}

TEST_CASE("a fixed seed reproduces the samples, for 1 and 2 threads; another seed gives others") {
  const auto owner = tiny_model(4, 3.0f);
  nn::GPT<float>& model = *owner;
  const SampleOptions options{.max_new_tokens = 15, .temperature = 1.0, .top_p = 0.95, .seed = 7};
  const int threads = cpu::num_threads();
  cpu::set_num_threads(1);
  const auto one = generate(model, kPrompts, options, 3);
  cpu::set_num_threads(2);
  const auto two = generate(model, kPrompts, options, 3);
  cpu::set_num_threads(threads);
  const auto again = generate(model, kPrompts, options, 3);
  CHECK(tokens_of(one) == tokens_of(two));
  CHECK(tokens_of(one) == tokens_of(again));
  CHECK(one.log_probs.to_vector() == again.log_probs.to_vector());
  SampleOptions other = options;
  other.seed = 8;
  CHECK(tokens_of(generate(model, kPrompts, other, 3)) != tokens_of(one));
  // A row's stream depends on (seed, prompt index, sample index) only: asking for more samples
  // per prompt leaves the first ones as they were.
  const auto five = generate(model, kPrompts, options, 5);
  for (int64_t p = 0; p < 3; ++p)
    for (int64_t s = 0; s < 3; ++s) CHECK(five.completions[p * 5 + s].tokens == one.completions[p * 3 + s].tokens);
}

TEST_CASE("generation toward temperature 0 agrees with greedy generation") {
  const auto owner = tiny_model(5, 30.0f);
  nn::GPT<float>& model = *owner;
  const auto greedy = generate(model, kPrompts, {.max_new_tokens = 20, .temperature = 0.0});
  const auto cold = generate(model, kPrompts, {.max_new_tokens = 20, .temperature = 1e-4, .seed = 3});
  CHECK(tokens_of(cold) == tokens_of(greedy));
}

TEST_CASE("the samples of one group differ from the first token on, drawn from the prompt's distribution") {
  // 3000 samples of one prompt, one token each: their first tokens follow softmax(logits) of the
  // prompt's last position (chi-square), so no draw was copied to the whole group.
  const auto owner = tiny_model(6, 6.0f);
  nn::GPT<float>& model = *owner;
  const std::vector<int64_t> prompt = {2, 5, 1};
  const int64_t n = 3000;
  const auto result = generate(model, {prompt}, {.max_new_tokens = 1, .seed = 1}, n);
  std::vector<int64_t> counts(11, 0);
  for (const auto& c : result.completions) {
    REQUIRE(c.tokens.size() == 1);
    ++counts[c.tokens[0]];
  }
  NoGradGuard no_grad;
  const auto logits = model.forward(Tensor<int64_t>::from_vector(prompt, {1, 3}));
  std::vector<float> last(logits.data() + 2 * 11, logits.data() + 3 * 11);
  std::vector<double> p = reference_probs(last, {.temperature = 1.0});
  // Merge cells expected under 5 draws into one, as the chi-square approximation needs.
  std::vector<int64_t> merged_counts;
  std::vector<double> merged_p;
  int64_t rare_count = 0;
  double rare_p = 0;
  for (int v = 0; v < 11; ++v) {
    if (p[v] * n >= 5) merged_counts.push_back(counts[v]), merged_p.push_back(p[v]);
    else rare_count += counts[v], rare_p += p[v];
  }
  if (rare_p * n >= 5) merged_counts.push_back(rare_count), merged_p.push_back(rare_p);
  REQUIRE(merged_p.size() >= 3);
  int df = 0;
  const double stat = chi_square(merged_counts, merged_p, n, df);
  CHECK(stat < chi_square_critical_0001(df));
  // And a small group: 8 samples of a prompt do not all start alike.
  const auto group = generate(model, {prompt}, {.max_new_tokens = 4, .seed = 2}, 8);
  std::set<int64_t> firsts;
  for (const auto& c : group.completions) firsts.insert(c.tokens[0]);
  CHECK(firsts.size() > 1);
}

TEST_CASE("rows stop at EOS or a stop id, inside the mask; nothing after it; finish reasons and padding") {
  const auto owner = tiny_model(8, 2.0f);
  nn::GPT<float>& model = *owner;
  const int64_t L = 8;
  const SampleOptions options{.max_new_tokens = L, .eos_id = 10, .stop_ids = {9}, .seed = 5, .pad_id = 0};
  const auto r = generate(model, kPrompts, options, 6);
  REQUIRE(r.tokens.shape() == Shape{18, L});
  REQUIRE(r.log_probs.shape() == Shape{18, L});
  REQUIRE(r.response_mask.shape() == Shape{18, L});
  std::set<FinishReason> reasons;
  int64_t total = 0;
  for (int64_t i = 0; i < r.num_rows(); ++i) {
    const auto& c = r.completions[i];
    CHECK(c.prompt_index == i / 6);
    CHECK(c.sample_index == i % 6);
    reasons.insert(c.finish_reason);
    const int64_t len = static_cast<int64_t>(c.tokens.size());
    total += len;
    REQUIRE(len >= 1);
    REQUIRE(len <= L);
    for (int64_t t = 0; t + 1 < len; ++t) CHECK((c.tokens[t] != 10 && c.tokens[t] != 9));
    switch (c.finish_reason) {
      case FinishReason::Eos: CHECK(c.tokens.back() == 10); break;
      case FinishReason::Stop: CHECK(c.tokens.back() == 9); break;
      case FinishReason::Length: CHECK((len == L && c.tokens.back() != 10 && c.tokens.back() != 9)); break;
    }
    for (int64_t t = 0; t < L; ++t) {
      const bool inside = t < len;
      CHECK(r.response_mask.at({i, t}) == (inside ? 1.0f : 0.0f));
      CHECK(r.tokens.at({i, t}) == (inside ? c.tokens[t] : 0));
      CHECK(r.log_probs.at({i, t}) == (inside ? c.log_probs[t] : 0.0f));
      if (inside) CHECK(c.log_probs[t] < 0.0f);
    }
  }
  CHECK(total == r.num_new_tokens());
  CHECK(reasons.size() == 3);  // this seed reaches all three
  CHECK(std::string(finish_reason_name(FinishReason::Eos)) == "eos");
}

TEST_CASE("top-k generation only emits allowed tokens; repetition penalty and a Tensor batch of prompts work") {
  const auto owner = tiny_model(9, 10.0f);
  nn::GPT<float>& model = *owner;
  const auto prompts = Tensor<int64_t>::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  const auto r = generate(model, prompts, {.max_new_tokens = 12, .top_k = 2, .seed = 4}, 2);
  REQUIRE(r.num_rows() == 4);
  NoGradGuard no_grad;
  for (const auto& c : r.completions) {
    std::vector<int64_t> seq(prompts.data() + c.prompt_index * 3, prompts.data() + c.prompt_index * 3 + 3);
    for (const int64_t token : c.tokens) {
      const int64_t S = static_cast<int64_t>(seq.size());
      const auto logits = model.forward(Tensor<int64_t>::from_vector(seq, {1, S}));
      std::vector<float> last(logits.data() + (S - 1) * 11, logits.data() + S * 11);
      const auto allowed = reference_probs(last, {.top_k = 2});
      CHECK(allowed[token] > 0.0);
      seq.push_back(token);
    }
  }
  // Greedy with a repetition penalty equals a naive loop: full recompute, penalise every id seen so
  // far (x / r if x > 0, else x * r), argmax.
  const double penalty = 3.0;
  const auto penalised = generate(model, {{4, 4, 7}}, {.max_new_tokens = 12, .temperature = 0.0,
                                                      .repetition_penalty = penalty});
  const auto plain = generate(model, {{4, 4, 7}}, {.max_new_tokens = 12, .temperature = 0.0});
  CHECK(penalised.completions[0].tokens != plain.completions[0].tokens);  // the penalty mattered
  std::vector<int64_t> seq = {4, 4, 7};
  for (int step = 0; step < 12; ++step) {
    const int64_t S = static_cast<int64_t>(seq.size());
    const auto logits = model.forward(Tensor<int64_t>::from_vector(seq, {1, S}));
    std::vector<float> last(logits.data() + (S - 1) * 11, logits.data() + S * 11);
    const auto p = reference_probs(last, {.temperature = 0.0, .repetition_penalty = penalty}, seq);
    seq.push_back(std::max_element(p.begin(), p.end()) - p.begin());
  }
  CHECK(penalised.completions[0].tokens == std::vector<int64_t>(seq.begin() + 3, seq.end()));
}

TEST_CASE("generate_text: a prompt string in, n completions out; the tokenizer's EOS ends them") {
  const io::Tokenizer tokenizer = io::Tokenizer::char_level("0123456+=");  // 3 specials + 9 = 12 tokens
  nn::GPTConfig config = sampling_model_config();
  config.vocab_size = tokenizer.vocab_size();
  nn::GPT<float> model(config, 10);
  const auto texts = generate_text(model, tokenizer, "12+3=", {.max_new_tokens = 10, .seed = 1}, 3);
  REQUIRE(texts.size() == 3);
  const auto r = generate(model, tokenizer, {"12+3=", ""}, {.max_new_tokens = 10, .seed = 1}, 3);
  for (int i = 0; i < 3; ++i) {
    const auto& c = r.completions[i];
    CHECK(c.text == texts[i]);
    CHECK(c.text == tokenizer.decode(c.tokens));
    if (c.finish_reason == FinishReason::Eos) CHECK(c.tokens.back() == tokenizer.eos_id());
    for (std::size_t t = 0; t + 1 < c.tokens.size(); ++t) CHECK(c.tokens[t] != tokenizer.eos_id());
  }
  CHECK(r.completions[3].prompt_index == 1);  // the empty prompt became BOS
  nn::GPT<float> small(sampling_model_config(), 1);  // 11 < 12 tokens
  CHORD_CHECK_ERROR(generate_text(small, tokenizer, "1"), "the tokenizer has 12 tokens");
}

TEST_CASE("generate rejects bad prompts and options with clear errors, and restores the training mode") {
  const auto owner = tiny_model(1, 1.0f);
  nn::GPT<float>& model = *owner;
  CHORD_CHECK_ERROR(generate(model, std::vector<std::vector<int64_t>>{}), "no prompts");
  CHORD_CHECK_ERROR(generate(model, {{1, 2}, {}}), "prompt 1 is empty");
  CHORD_CHECK_ERROR(generate(model, {{1, 11}}), "token 11 at position 1 of prompt 0");
  CHORD_CHECK_ERROR(generate(model, {{1}}, {}, 0), "n (samples per prompt)");
  CHORD_CHECK_ERROR(generate(model, {{1, 2, 3}}, {.max_new_tokens = 31}), "exceeds the context length 32");
  CHORD_CHECK_ERROR(generate(model, {{1}}, {.max_new_tokens = 0}), "max_new_tokens");
  CHORD_CHECK_ERROR(generate(model, {{1}}, {.eos_id = 11}), "eos_id 11");
  CHORD_CHECK_ERROR(generate(model, {{1}}, {.stop_ids = {3, -2}}), "stop_ids[1] = -2");
  CHORD_CHECK_ERROR(generate(model, {{1}}, {.top_p = 2.0}), "top_p");
  // The longest prompt plus max_new_tokens - 1 may fill the context exactly.
  CHECK(generate(model, {{1, 2, 3}}, {.max_new_tokens = 30}).completions[0].tokens.size() <= 30);
  model.train();
  generate(model, {{1}}, {.max_new_tokens = 2});
  CHECK(model.is_training());
  model.eval();
  generate(model, {{1}}, {.max_new_tokens = 2});
  CHECK_FALSE(model.is_training());
}
