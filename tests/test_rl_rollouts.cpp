// The trainer's rollout bookkeeping on hand-built groups: which rows a step builds, in which
// order, with which rewards and advantages, and the reward metrics, all against values worked
// out by hand. Two fakes make every number known in advance:
//   - a "bigram" GPT whose weights are set so that it always continues a token the same way
//     (y -> b -> EOS, z -> z -> z ...): the samples of each prompt are known exactly;
//   - an environment whose verifier hands out a fixed table of rewards in the order the
//     trainer asks for them (group after group, sample after sample), and a fixed reward for
//     the expert's demonstration.

#include <cmath>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace chord;
using rl::RowKind;
using chord::testing::metric;

namespace {

// Ids of io::Tokenizer::char_level("abyz"): PAD 0, BOS 1, EOS 2, then the characters in order.
constexpr int64_t kBos = 1, kEos = 2, kA = 3, kB = 4, kY = 5, kZ = 6;

io::Tokenizer bigram_tokenizer() { return io::Tokenizer::char_level("abyz"); }

// A GPT that continues every token u with next(u) with probability 1 - O(e^-75): y -> b, b -> EOS,
// z -> z, a -> b, BOS -> a, EOS and PAD -> EOS. How: every weight 0 except
//   wte[u] = the one-hot e_u (8 dims for 7 tokens), ln_f's gain 1, lm_head[next(u)][u] = 40.
// The blocks then add nothing (zero projections), so the last hidden state is LayerNorm(e_u):
// about +2.65 at dim u and -0.38 elsewhere; the logit of next(u) is at least 40 * (2.65 - 2 * 0.38)
// = 75 and every other logit at most 0. So prompt "y" always answers "b" then EOS (2 tokens),
// and prompt "z" answers "zzz..." until the token budget runs out.
std::unique_ptr<nn::GPT<double>> bigram_policy(const io::Tokenizer& tok) {
  const nn::GPTConfig config{.vocab_size = tok.vocab_size(), .context_length = 16, .n_layer = 1, .n_head = 1,
                             .n_embd = 8, .tie_embeddings = false};
  auto model = std::make_unique<nn::GPT<double>>(config, 1);
  const int64_t V = config.vocab_size, C = config.n_embd;
  const int64_t next[] = {/*PAD*/ kEos, /*BOS*/ kA, /*EOS*/ kEos, /*a*/ kB, /*b*/ kEos, /*y*/ kB, /*z*/ kZ};
  REQUIRE(V == 7);
  NoGradGuard no_grad;
  for (auto& [name, p] : model->named_parameters()) {
    std::vector<double> values(static_cast<std::size_t>(p.numel()), 0.0);
    if (name == "ln_f.weight") values.assign(values.size(), 1.0);
    if (name == "wte.weight")
      for (int64_t u = 0; u < V; ++u) values[static_cast<std::size_t>(u * C + u)] = 1.0;
    if (name == "lm_head.weight")
      for (int64_t u = 0; u < V; ++u) values[static_cast<std::size_t>(next[u] * C + u)] = 40.0;
    p.copy_(Tensor<double>::from_vector(values, p.shape()));
  }
  return model;
}

// Queries cycle through `prompts` (the generator is not used). reward(q, response) is
// demo_reward for q's demonstration, else the next entry of `table`, in the order asked.
// The demonstrations ("ba" for y, "aab" for z) are never sampled by the bigram policy.
class TableEnv final : public rl::Environment {
 public:
  TableEnv(std::vector<std::string> prompts, std::vector<double> table, double demo_reward)
      : prompts_(std::move(prompts)), table_(std::move(table)), demo_reward_(demo_reward) {}

  std::vector<rl::Query> sample_queries(int64_t n, Generator&) const override {
    std::vector<rl::Query> out;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i)
      out.push_back({prompts_[i % prompts_.size()], "", "table"});
    return out;
  }
  std::string demonstrate(const rl::Query& q) const override { return q.prompt == "y" ? "ba" : "aab"; }
  double reward(const rl::Query& q, std::string_view response) const override {
    if (response == demonstrate(q)) return demo_reward_;
    REQUIRE(next_ < table_.size());
    return table_[next_++];
  }
  std::vector<rl::EvalSplit> eval_splits() const override { return {}; }
  std::size_t rewards_handed_out() const { return next_; }

 private:
  std::vector<std::string> prompts_;
  std::vector<double> table_;
  double demo_reward_;
  mutable std::size_t next_ = 0;
};

bool has_metric(const rl::MetricRow& row, const std::string& name) {
  for (const auto& [k, v] : row)
    if (k == name) return true;
  return false;
}

const std::vector<int64_t> kPromptY = {kBos, kY}, kPromptZ = {kBos, kZ};
const std::vector<int64_t> kSampleY = {kB, kEos};      // "b" + EOS: finished
const std::vector<int64_t> kSampleZ = {kZ, kZ, kZ};    // "zzz": cut at max_new_tokens = 3
const std::vector<int64_t> kDemoY = {kB, kA, kEos};    // "ba" + EOS
const std::vector<int64_t> kDemoZ = {kA, kA, kB, kEos};  // "aab" + EOS

// A sampled row: the prompt, the known sample, the sampler's log-probs (one per token, ~0 for
// this policy), OnPolicy.
void check_sampled_row(const rl::Row& row, const std::vector<int64_t>& prompt, const std::vector<int64_t>& response) {
  CHECK(row.kind == RowKind::OnPolicy);
  CHECK(row.prompt == prompt);
  CHECK(row.response == response);
  REQUIRE(row.old_log_probs.size() == response.size());
  for (double lp : row.old_log_probs) CHECK(lp > -1e-9);
}

}  // namespace

TEST_CASE("rollouts: the bigram test policy samples exactly what its weights say") {
  const auto tok = bigram_tokenizer();
  REQUIRE(tok.encode("abyz") == std::vector<int64_t>{kA, kB, kY, kZ});
  REQUIRE(tok.eos_id() == kEos);
  REQUIRE(tok.bos_id() == kBos);
  auto model = bigram_policy(tok);
  const sample::SampleOptions options{.max_new_tokens = 3, .temperature = 1.0, .eos_id = kEos, .seed = 3, .pad_id = 0};
  const auto out = sample::generate(*model, {kPromptY, kPromptZ}, options, /*n=*/16);
  for (const auto& c : out.completions) CHECK(c.tokens == (c.prompt_index == 0 ? kSampleY : kSampleZ));
}

// GRPO, 3 prompts (y, z, y) x 4 samples. Rewards from the table: group y {1, 0, 0, 1},
// group z {0.5 x 4}, the second group y {0, 0, 0, 1}.
//   group 1: mean 0.5, unbiased std sqrt(4 * 0.25 / 3) = sqrt(1/3); A = +-0.5 / (sqrt(1/3) + 1e-6)
//   group 2: all equal: A = 0 exactly, and the group counts in frac_reward_zero_std (1 of 3)
//   group 3: mean 0.25, std sqrt((3 * 0.25^2 + 0.75^2) / 3) = 0.5; A = (r - 0.25) / (0.5 + 1e-6)
//   reward/mean = (2 + 2 + 1) / 12 = 5/12
//   reward/std  = sqrt(sum (r - 5/12)^2 / 11) = sqrt((3 (7/12)^2 + 5 (5/12)^2 + 4 (1/12)^2) / 11)
//               = sqrt(276 / 144 / 11)
//   reward/accuracy = share of rewards >= 1 = 3 / 12
//   response_length/mean = (8 * 2 + 4 * 3) / 12 = 7/3 (EOS counted); clip_ratio = 4 / 12 (the
//   "zzz" samples hit the budget of 3 tokens)
TEST_CASE("rollouts: GRPO rows carry the table's rewards and their own group's (r - mean) / (std + 1e-6); the "
          "reward metrics equal the hand-computed values") {
  const auto tok = bigram_tokenizer();
  auto model = bigram_policy(tok);
  const std::vector<double> rewards = {1, 0, 0, 1, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 1};
  const TableEnv env({"y", "z"}, rewards, /*demo_reward=*/0.75);
  rl::Trainer<double> trainer(*model, tok, env,
                              {.method = rl::Method::GRPO, .steps = 1, .prompts_per_step = 3, .group_size = 4,
                               .max_new_tokens = 3, .print_progress = false});
  const rl::MetricRow metrics = trainer.accumulate_gradients();
  const auto& rows = trainer.rows();
  REQUIRE(rows.size() == 12);
  CHECK(env.rewards_handed_out() == 12);
  const double a = 0.5 / (std::sqrt(1.0 / 3.0) + 1e-6), lo = -0.25 / (0.5 + 1e-6), hi = 0.75 / (0.5 + 1e-6);
  const double advantages[] = {a, -a, -a, a, 0, 0, 0, 0, lo, lo, lo, hi};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    const bool z = i >= 4 && i < 8;
    check_sampled_row(rows[i], z ? kPromptZ : kPromptY, z ? kSampleZ : kSampleY);
    CHECK(rows[i].reward == rewards[i]);
    CHECK(rows[i].advantage == doctest::Approx(advantages[i]).epsilon(1e-12));
  }
  CHECK(metric(metrics, "reward/mean") == doctest::Approx(5.0 / 12.0).epsilon(1e-12));
  CHECK(metric(metrics, "reward/std") == doctest::Approx(std::sqrt(276.0 / 144.0 / 11.0)).epsilon(1e-12));
  CHECK(metric(metrics, "reward/accuracy") == doctest::Approx(0.25).epsilon(1e-12));
  CHECK(metric(metrics, "frac_reward_zero_std") == doctest::Approx(1.0 / 3.0).epsilon(1e-12));
  CHECK(metric(metrics, "response_length/mean") == doctest::Approx(7.0 / 3.0).epsilon(1e-12));
  CHECK(metric(metrics, "response_length/clip_ratio") == doctest::Approx(1.0 / 3.0).epsilon(1e-12));
  CHECK(metric(trainer.apply_gradients(), "rows") == 12);
}

// LUFFY as in the paper: groups of 8 = 7 samples + 1 demonstration (off_policy_per_group 1).
// Table: group y's samples {0, 1, 0, 0, 1, 0, 0}, group z's {0.75 x 7}; each demonstration 0.75.
//   group y, all 8: {0, 1, 0, 0, 1, 0, 0, 0.75}, mean 2.75 / 8 = 0.34375; Dr.GRPO A = r - 0.34375:
//     samples -0.34375 or +0.65625, the demonstration +0.40625 (over the 7 samples alone the
//     mean would be 2/7, and without its demonstration group z would not tie)
//   group z, all 8: 0.75 each: a tie, A = 0; frac_reward_zero_std = 1 of 2 groups
//   The reward metrics are the samples' (14 rows), not the demonstrations':
//     reward/mean = (2 + 7 * 0.75) / 14 = 29/56; accuracy = 2 / 14
//     reward/std = sqrt(sum (r - 29/56)^2 / 13) = sqrt((5 (29/56)^2 + 2 (27/56)^2 + 7 (13/56)^2) / 13)
//                = sqrt(6846 / 3136 / 13)
//     response_length/mean = (7 * 2 + 7 * 3) / 14 = 2.5; clip_ratio = 7 / 14
TEST_CASE("rollouts: LUFFY's group is 7 samples + 1 demonstration with the demonstration's reward, and Dr.GRPO "
          "advantages over the whole mixed group") {
  const auto tok = bigram_tokenizer();
  auto model = bigram_policy(tok);
  const TableEnv env({"y", "z"}, {0, 1, 0, 0, 1, 0, 0, 0.75, 0.75, 0.75, 0.75, 0.75, 0.75, 0.75}, /*demo_reward=*/0.75);
  rl::Trainer<double> trainer(*model, tok, env,
                              {.method = rl::Method::LUFFY, .steps = 1, .prompts_per_step = 2, .group_size = 8,
                               .off_policy_per_group = 1, .max_new_tokens = 3, .print_progress = false});
  const rl::MetricRow metrics = trainer.accumulate_gradients();
  const auto& rows = trainer.rows();
  REQUIRE(rows.size() == 16);
  CHECK(env.rewards_handed_out() == 14);  // the table served the samples; the demonstrations got 0.75
  const double rewards[] = {0, 1, 0, 0, 1, 0, 0, 0.75};
  for (std::size_t i = 0; i < 8; ++i) {  // group y: rows 0..7, the demonstration last
    CAPTURE(i);
    if (i < 7) {
      check_sampled_row(rows[i], kPromptY, kSampleY);
    } else {
      CHECK(rows[i].kind == RowKind::OffPolicy);
      CHECK(rows[i].prompt == kPromptY);
      CHECK(rows[i].response == kDemoY);
      CHECK(rows[i].old_log_probs.empty());
    }
    CHECK(rows[i].reward == rewards[i]);
    CHECK(rows[i].advantage == doctest::Approx(rewards[i] - 0.34375).epsilon(1e-12));
  }
  for (std::size_t i = 8; i < 16; ++i) {  // group z: rows 8..15, a tie
    CAPTURE(i);
    if (i < 15) {
      check_sampled_row(rows[i], kPromptZ, kSampleZ);
    } else {
      CHECK(rows[i].kind == RowKind::OffPolicy);
      CHECK(rows[i].prompt == kPromptZ);
      CHECK(rows[i].response == kDemoZ);
    }
    CHECK(rows[i].reward == 0.75);
    CHECK(rows[i].advantage == 0.0);
  }
  CHECK(metric(metrics, "reward/mean") == doctest::Approx(29.0 / 56.0).epsilon(1e-12));
  CHECK(metric(metrics, "reward/std") == doctest::Approx(std::sqrt(6846.0 / 3136.0 / 13.0)).epsilon(1e-12));
  CHECK(metric(metrics, "reward/accuracy") == doctest::Approx(2.0 / 14.0).epsilon(1e-12));
  CHECK(metric(metrics, "frac_reward_zero_std") == doctest::Approx(0.5).epsilon(1e-12));
  CHECK(metric(metrics, "response_length/mean") == doctest::Approx(2.5).epsilon(1e-12));
  CHECK(metric(metrics, "response_length/clip_ratio") == doctest::Approx(0.5).epsilon(1e-12));
}

// SFT, CHORD-mu and CHORD-phi add expert_rows_per_step Expert rows after the step's samples:
// queries y, z, y (the environment's order), responses = the demonstration + EOS, no
// log-probs. SFT-then-RL builds SFT's rows up to sft_steps and GRPO's after.
TEST_CASE("rollouts: SFT and CHORD add expert_rows_per_step Expert rows whose response is the demonstration + EOS; "
          "SFT-then-RL switches from those to samples after sft_steps") {
  const auto tok = bigram_tokenizer();
  const std::vector<double> table = {1, 0, 0, 0, 0, 0, 1, 0};  // 2 prompts x 4 samples, one step
  for (rl::Method method : {rl::Method::SFT, rl::Method::CHORDMu, rl::Method::CHORDPhi, rl::Method::SFTThenRL}) {
    INFO(std::string(rl::to_string(method)));
    auto model = bigram_policy(tok);
    const TableEnv env({"y", "z"}, table, 0.75);
    rl::Trainer<double> trainer(*model, tok, env,
                                {.method = method, .steps = 2, .prompts_per_step = 2, .group_size = 4,
                                 .expert_rows_per_step = 3, .sft_steps = 1, .max_new_tokens = 3,
                                 .print_progress = false});
    const rl::MetricRow metrics = trainer.accumulate_gradients();
    const auto& rows = trainer.rows();
    const bool samples = method == rl::Method::CHORDMu || method == rl::Method::CHORDPhi;
    const std::size_t first_expert = samples ? 8 : 0;
    REQUIRE(rows.size() == first_expert + 3);
    CHECK(has_metric(metrics, "reward/mean") == samples);  // SFT steps sample nothing
    for (std::size_t i = 0; i < first_expert; ++i)
      check_sampled_row(rows[i], i < 4 ? kPromptY : kPromptZ, i < 4 ? kSampleY : kSampleZ);
    for (std::size_t i = first_expert; i < rows.size(); ++i) {
      CAPTURE(i);
      const bool y = (i - first_expert) % 2 == 0;  // y, z, y
      CHECK(rows[i].kind == RowKind::Expert);
      CHECK(rows[i].prompt == (y ? kPromptY : kPromptZ));
      CHECK(rows[i].response == (y ? kDemoY : kDemoZ));
      CHECK(rows[i].old_log_probs.empty());
    }
    CHECK(metric(trainer.apply_gradients(), "rows") == static_cast<double>(first_expert + 3));

    if (method == rl::Method::SFTThenRL) {  // step 2 > sft_steps: GRPO's 8 samples, no expert rows
      const rl::MetricRow rl_metrics = trainer.accumulate_gradients();
      REQUIRE(trainer.rows().size() == 8);
      for (const rl::Row& r : trainer.rows()) CHECK(r.kind == RowKind::OnPolicy);
      CHECK(metric(rl_metrics, "reward/mean") == doctest::Approx(0.25).epsilon(1e-12));  // (1 + 1) / 8
      trainer.apply_gradients();
    }
  }
}
