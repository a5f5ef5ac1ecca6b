// The post-training loop: rows, rollouts, the trainer of every method, resume,
// evaluation, and learning that moves the numbers it should; a step's gradient (read before
// the optimizer: Trainer::accumulate_gradients) against micro-batching and against the
// objective; the options mu_override, beta, objective_override and checkpoint_every.
// (The rollout bookkeeping by hand: test_rl_rollouts.cpp; multi-token learning: test_rl_learning.cpp.)

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "test_util.hpp"

using namespace chord;
using chord::testing::kAggregations;
using chord::testing::metric;

namespace {

// A toy verifiable task: prompts "q<k>=" for k in 0..3; a response is correct (1) when it
// starts with 'a', malformed (-0.1) when it is empty, else 0. The expert answers "a#b".
class ToyEnv : public rl::Environment {
 public:
  std::vector<rl::Query> sample_queries(int64_t n, Generator& gen) const override {
    std::vector<rl::Query> out;
    for (int64_t i = 0; i < n; ++i) out.push_back(query(gen.randint(0, 4)));
    return out;
  }
  double reward(const rl::Query&, std::string_view response) const override {
    if (response.empty()) return -0.1;
    return response[0] == 'a' ? 1.0 : 0.0;
  }
  std::string demonstrate(const rl::Query&) const override { return "a#b"; }
  std::vector<rl::EvalSplit> eval_splits() const override { return {{"toy", {query(0), query(1), query(2), query(3)}}}; }
  static rl::Query query(int64_t k) { return {"q" + std::to_string(k) + "=", "a", "toy"}; }
};

// Every reward equal: every group has zero variance.
class ConstantEnv : public ToyEnv {
 public:
  double reward(const rl::Query&, std::string_view) const override { return 0.5; }
};

io::Tokenizer toy_tokenizer() { return io::Tokenizer::char_level("q0123=ab#"); }

nn::GPTConfig toy_config(const io::Tokenizer& tok) {
  return {.vocab_size = tok.vocab_size(), .context_length = 16, .n_layer = 1, .n_head = 2, .n_embd = 16};
}

rl::TrainerOptions quiet(rl::TrainerOptions o) {
  o.print_progress = false;
  o.eval = {.k = 4, .max_new_tokens = 6};
  return o;
}

template <FloatingPoint T>
std::vector<T> flat_parameters(const nn::GPT<T>& model) {
  std::vector<T> out;
  for (const auto& p : model.parameters())
    for (T v : p.to_vector()) out.push_back(v);
  return out;
}

// Rewards spread over 0, 0.5 and 1 (the first character's code mod 3; an empty response 0), so
// that groups of random responses rarely tie and most on-policy rows carry a non-zero advantage.
class SpreadEnv : public ToyEnv {
 public:
  double reward(const rl::Query&, std::string_view response) const override {
    return response.empty() ? 0.0 : static_cast<double>(static_cast<unsigned char>(response[0]) % 3) / 2.0;
  }
};

// Every parameter's gradient (zeros where none was accumulated), in parameter order.
std::vector<std::vector<double>> gradients(const nn::GPT<double>& model) {
  std::vector<std::vector<double>> out;
  for (const auto& p : model.parameters()) {
    std::vector<double> g(static_cast<std::size_t>(p.numel()), 0.0);
    if (p.grad().defined()) g = p.grad().to_vector();
    out.push_back(std::move(g));
  }
  return out;
}

// The largest |a - b| over every gradient entry, and the largest |b| (the scale the gap is judged by).
struct GradientGap {
  double worst = 0, scale = 0;
};
GradientGap gradient_gap(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  REQUIRE(a.size() == b.size());
  GradientGap gap;
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].size() == b[i].size());
    for (std::size_t j = 0; j < a[i].size(); ++j) {
      gap.worst = std::max(gap.worst, std::abs(a[i][j] - b[i][j]));
      gap.scale = std::max(gap.scale, std::abs(b[i][j]));
    }
  }
  return gap;
}

// A new model holding a copy of `model`'s weights.
std::unique_ptr<nn::GPT<double>> copy_of(const nn::GPT<double>& model) {
  auto out = std::make_unique<nn::GPT<double>>(model.config());
  out->load_state_dict(model.state_dict());
  return out;
}

// sum_t w_t value(i, t) over the loss tokens of the rows `use` selects, with the weights w_t of
// docs/algorithms.md section 3, written out here independently of rl/aggregation.hpp:
// token-mean 1 / tokens, seq-mean-token-mean 1 / (rows * the row's tokens), seq-mean-token-sum
// 1 / rows, constant 1 / C.
template <class Value, class Use>
double aggregate(rl::Aggregation mode, double C, const Tensor<double>& mask, Use use, Value value) {
  double total = 0, row_means = 0;
  int64_t tokens = 0, rows = 0;
  for (int64_t i = 0; i < mask.size(0); ++i) {
    if (!use(i)) continue;
    double sum = 0;
    int64_t n = 0;
    for (int64_t t = 0; t < mask.size(1); ++t)
      if (mask.at({i, t}) != 0) sum += value(i, t), ++n;
    if (n == 0) continue;
    total += sum, row_means += sum / static_cast<double>(n), tokens += n, ++rows;
  }
  REQUIRE(rows > 0);
  switch (mode) {
    case rl::Aggregation::TokenMean: return total / static_cast<double>(tokens);
    case rl::Aggregation::SeqMeanTokenMean: return row_means / static_cast<double>(rows);
    case rl::Aggregation::SeqMeanTokenSum: return total / static_cast<double>(rows);
    case rl::Aggregation::Constant: return total / C;
  }
  return 0.0;
}

// Each method over two steps; SFT-then-RL twice: SFT at both steps, and SFT then its RL phase.
struct MethodCase {
  const char* label;
  rl::Method method;
  int64_t sft_steps;
};
const MethodCase kMethodCases[] = {{"SFT", rl::Method::SFT, 0},
                                   {"GRPO", rl::Method::GRPO, 0},
                                   {"SFT-then-RL, SFT phase at steps 1 and 2", rl::Method::SFTThenRL, 2},
                                   {"SFT-then-RL, SFT at step 1, RL phase at step 2", rl::Method::SFTThenRL, 1},
                                   {"CHORD-mu", rl::Method::CHORDMu, 0},
                                   {"CHORD-phi", rl::Method::CHORDPhi, 0},
                                   {"LUFFY", rl::Method::LUFFY, 0}};

constexpr int64_t kMaxNew = 6;
constexpr double kBeta = 0.05;

// The float64 gradient tests' options: 3 prompts x 4 responses (LUFFY: 3 samples + 1
// demonstration) and 4 expert rows; beta > 0, so the KL term's normalizer is split too (its
// gradient is 0 at step 1, where policy == reference, and not at step 2); aggregation `mode`:
// the method's own, or else an objective_override holding the method's options in that mode.
rl::TrainerOptions gradient_test_options(const MethodCase& c, rl::Aggregation mode, int64_t micro) {
  rl::TrainerOptions o = quiet({.method = c.method, .steps = 2, .prompts_per_step = 3, .group_size = 4,
                                .expert_rows_per_step = 4, .sft_steps = c.sft_steps, .mu_decay_steps = 2,
                                .micro_batch_rows = micro, .lr = 1e-2, .max_new_tokens = kMaxNew, .beta = kBeta,
                                .seed = 5});
  rl::ObjectiveOptions own = rl::method_recipe(c.method, 1, c.sft_steps, 2, kMaxNew).objective;
  if (own.aggregation != mode) {
    own.aggregation = mode;
    own.constant_normalizer = static_cast<double>(kMaxNew);
    own.beta = kBeta;  // an override replaces all the options, beta included
    o.objective_override = own;
  }
  return o;
}

rl::Aggregation own_aggregation(const MethodCase& c) {
  return rl::method_recipe(c.method, 1, c.sft_steps, 2, kMaxNew).objective.aggregation;
}

// What one step computed before clipping and the optimizer, and its whole metrics row.
struct StepRecord {
  std::vector<std::vector<double>> grads;
  rl::MetricRow metrics;
  std::size_t rows = 0;
};

std::vector<StepRecord> two_steps(const MethodCase& c, rl::Aggregation mode, int64_t micro) {
  const auto tok = toy_tokenizer();
  SpreadEnv env;
  nn::GPT<double> model(toy_config(tok), 8);
  rl::Trainer<double> trainer(model, tok, env, gradient_test_options(c, mode, micro));
  std::vector<StepRecord> out;
  for (int s = 0; s < 2; ++s) {
    StepRecord r;
    trainer.accumulate_gradients();
    r.grads = gradients(model);
    r.metrics = trainer.apply_gradients();
    r.rows = trainer.rows().size();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

TEST_CASE("pack_rows aligns response tokens with the positions that predict them; EOS in the mask, padding out") {
  std::vector<rl::Row> rows = {
      {.prompt = {1, 5, 6}, .response = {7, 2}, .old_log_probs = {-0.5, -0.25}, .kind = rl::RowKind::OnPolicy, .advantage = 1.5},
      {.prompt = {1, 5}, .response = {8, 9, 2}, .kind = rl::RowKind::Expert}};
  const auto packed = rl::pack_rows<float>(rows, /*pad_id=*/0, /*context_length=*/16);
  // Row 0: tokens 1 5 6 7 2 -> inputs 1 5 6 7, targets 5 6 7 2; response targets at positions 2, 3.
  CHECK(packed.inputs.to_vector() == std::vector<int64_t>{1, 5, 6, 7, 1, 5, 8, 9});
  CHECK(packed.targets.to_vector() == std::vector<int64_t>{5, 6, 7, 2, 5, 8, 9, 2});
  CHECK(packed.mask.to_vector() == std::vector<float>{0, 0, 1, 1, 0, 1, 1, 1});
  CHECK(packed.old_log_probs.to_vector() == std::vector<float>{0, 0, -0.5f, -0.25f, 0, 0, 0, 0});
  CHECK(packed.advantages.to_vector() == std::vector<float>{1.5f, 0});
  CHECK(packed.kinds == std::vector<rl::RowKind>{rl::RowKind::OnPolicy, rl::RowKind::Expert});

  rows[0].old_log_probs.clear();
  CHORD_CHECK_ERROR(rl::pack_rows<float>(rows, 0, 16), "has no old log-probs");
  rows[0].old_log_probs = {-1};
  CHORD_CHECK_ERROR(rl::pack_rows<float>(rows, 0, 16), "1 old log-probs for 2 response tokens");
  rows[0].old_log_probs = {-1, -1};
  CHORD_CHECK_ERROR(rl::pack_rows<float>(rows, 0, 3), "the model's context holds 3");
}

TEST_CASE("on fresh rollouts the trainer's log-probs equal the sampler's: rho = 1, the EOS inside the mask") {
  const auto tok = toy_tokenizer();
  nn::GPT<float> model(toy_config(tok), 3);
  ToyEnv env;
  for (double temperature : {1.0, 0.7}) {
    CAPTURE(temperature);
    std::vector<std::vector<int64_t>> prompts = {tok.encode("q1=", true), tok.encode("q22=", true)};
    const auto out = sample::generate(model, prompts, {.max_new_tokens = 8, .temperature = temperature,
                                                       .eos_id = tok.eos_id(), .seed = 9, .pad_id = tok.pad_id()}, 4);
    std::vector<rl::Row> rows;
    bool saw_eos = false;
    for (const auto& c : out.completions) {
      rows.push_back({.prompt = prompts[c.prompt_index], .response = c.tokens, .kind = rl::RowKind::OnPolicy});
      rows.back().old_log_probs.assign(c.log_probs.begin(), c.log_probs.end());
      saw_eos |= c.finish_reason == sample::FinishReason::Eos;
    }
    REQUIRE(saw_eos);
    const auto packed = rl::pack_rows<float>(rows, tok.pad_id(), 16);
    NoGradGuard no_grad;
    const auto lp = token_log_probs(model.forward(packed.inputs), packed.targets, temperature);
    const int64_t S = packed.mask.size(1);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      int64_t in_mask = 0;
      for (int64_t t = 0; t < S; ++t) {
        if (packed.mask.at({static_cast<int64_t>(i), t}) == 0) continue;
        ++in_mask;
        const double rho = std::exp(lp.at({static_cast<int64_t>(i), t}) - packed.old_log_probs.at({static_cast<int64_t>(i), t}));
        CHECK(rho == doctest::Approx(1.0).epsilon(1e-5));
      }
      CHECK(in_mask == static_cast<int64_t>(rows[i].response.size()));  // the EOS included, nothing after it
    }
  }
}

TEST_CASE("a zero-variance group gives zero policy gradient: GRPO leaves the weights unchanged") {
  const auto tok = toy_tokenizer();
  nn::GPT<float> model(toy_config(tok), 5);
  const auto before = flat_parameters(model);
  ConstantEnv env;
  rl::Trainer<float> trainer(model, tok, env,
                             quiet({.method = rl::Method::GRPO, .steps = 2, .prompts_per_step = 2, .group_size = 4,
                                    .weight_decay = 0.0, .max_new_tokens = 6}));
  const auto row = trainer.train_step();
  auto value = [&](const char* name) {
    for (const auto& [k, v] : row)
      if (k == name) return v;
    FAIL("no metric " << name);
    return 0.0;
  };
  CHECK(value("frac_reward_zero_std") == 1.0);
  CHECK(value("grad_norm") == 0.0);
  CHECK(flat_parameters(model) == before);
}

// The step's normalizers are counted over all of its rows before any loss (rl::StepNormalizer),
// so the micro-batch losses add up to the loss of the whole step, and so do their gradients:
// exactly in real arithmetic, to rounding in double. The gradients are read BEFORE clipping and
// AdamW: AdamW's update is blind to a scale on the whole gradient (m / sqrt(v)), so comparing
// weights after a step would miss e.g. a loss divided by the number of micro-batches.
TEST_CASE("micro-batches do not change a step: every parameter's gradient before the optimizer, grad_norm and the "
          "losses agree for micro_batch_rows 1, 3 and all rows, every method and aggregation (float64)") {
  for (const MethodCase& c : kMethodCases)
    for (rl::Aggregation mode : kAggregations) {
      INFO(std::string(c.label) << ", " << std::string(rl::to_string(mode))
                                << std::string(mode == own_aggregation(c) ? "" : " (objective_override)"));
      const auto whole = two_steps(c, mode, /*micro=*/1000);
      for (int64_t micro : {1, 3}) {
        INFO("micro_batch_rows " << micro);
        const auto split = two_steps(c, mode, micro);
        for (std::size_t s = 0; s < 2; ++s) {
          INFO("step " << s + 1);
          REQUIRE(split[s].rows == whole[s].rows);
          REQUIRE(whole[s].rows > 3);  // micro_batch_rows 3 really splits the step
          const GradientGap gap = gradient_gap(split[s].grads, whole[s].grads);
          INFO("largest gradient entry " << gap.scale << ", largest difference " << gap.worst);
          REQUIRE(gap.scale > 0);
          CHECK(gap.worst <= 1e-10 * gap.scale);
          for (const char* name : {"loss", "loss/policy", "loss/sft", "loss/kl", "loss/entropy", "kl", "entropy",
                                   "ppo_kl", "on/prob_mean", "off/prob_mean", "grad_norm"}) {
            const double a = metric(split[s].metrics, name), b = metric(whole[s].metrics, name);
            INFO(std::string(name) << ": " << a << " split, " << b << " whole");
            CHECK(std::abs(a - b) <= 1e-10 * std::max(1.0, std::abs(b)));
          }
        }
      }
      CHECK(metric(whole[0].metrics, "kl") == 0.0);  // step 1: policy == reference
      CHECK(metric(whole[1].metrics, "kl") > 0.0);   // step 2: the KL term has a gradient to split
    }
}

// Checked against the objective computed here, in one call over the rows the step built: the
// trainer differentiates exactly the documented loss (not, say, twice it, which AdamW would hide
// too), with the recipe's mu and options and beta from TrainerOptions.
TEST_CASE("a step's gradient is the gradient of mixed_objective over the step's rows, with the recipe's mu and "
          "options (float64)") {
  const auto tok = toy_tokenizer();
  SpreadEnv env;
  for (const MethodCase& c : kMethodCases) {
    INFO(std::string(c.label));
    nn::GPT<double> model(toy_config(tok), 8);
    const auto start = copy_of(model);  // the reference policy of beta > 0
    const rl::TrainerOptions options = gradient_test_options(c, own_aggregation(c), /*micro=*/3);
    REQUIRE_FALSE(options.objective_override.has_value());
    rl::Trainer<double> trainer(model, tok, env, options);
    for (int64_t step = 1; step <= 2; ++step) {
      INFO("step " << step);
      const auto before = copy_of(model);  // the weights this step differentiates at
      const rl::MetricRow partial = trainer.accumulate_gradients();

      const rl::Recipe recipe = rl::method_recipe(c.method, step, c.sft_steps, options.mu_decay_steps, kMaxNew);
      rl::ObjectiveOptions objective = recipe.objective;
      objective.beta = kBeta;
      const double mu = recipe.mu.mu(step);
      const auto packed = rl::pack_rows<double>(trainer.rows(), tok.pad_id(), toy_config(tok).context_length);
      auto [lp, entropy] = token_log_probs_and_entropy(before->forward(packed.inputs), packed.targets, 1.0);
      rl::ObjectiveBatch<double> batch{.log_probs = lp, .old_log_probs = packed.old_log_probs, .entropy = entropy,
                                       .mask = packed.mask, .advantages = packed.advantages, .kinds = packed.kinds};
      {
        NoGradGuard no_grad;
        batch.ref_log_probs = token_log_probs(start->forward(packed.inputs), packed.targets, 1.0);
      }
      const auto result = rl::mixed_objective(batch, mu, rl::StepNormalizer::of(packed.mask, packed.kinds), objective);
      result.loss.backward();

      const GradientGap gap = gradient_gap(gradients(model), gradients(*before));
      INFO("largest gradient entry " << gap.scale << ", largest difference " << gap.worst);
      REQUIRE(gap.scale > 0);
      CHECK(gap.worst <= 1e-10 * gap.scale);
      CHECK(metric(partial, "mu") == mu);
      CHECK(metric(partial, "loss") == doctest::Approx(result.metrics.loss).epsilon(1e-10));
      trainer.apply_gradients();
    }
  }
}

TEST_CASE("accumulate_gradients and apply_gradients alternate; train_step is the two of them") {
  const auto tok = toy_tokenizer();
  ToyEnv env;
  nn::GPT<double> model(toy_config(tok), 8);
  rl::Trainer<double> trainer(model, tok, env, quiet({.method = rl::Method::SFT, .expert_rows_per_step = 2}));
  CHORD_CHECK_ERROR(trainer.apply_gradients(), "call accumulate_gradients() first");
  const rl::MetricRow partial = trainer.accumulate_gradients();
  CHECK(trainer.step() == 1);
  CHORD_CHECK_ERROR(trainer.accumulate_gradients(), "call apply_gradients() first");
  const rl::MetricRow row = trainer.apply_gradients();
  REQUIRE(row.size() > partial.size());
  for (std::size_t i = 0; i < partial.size(); ++i) CHECK(row[i] == partial[i]);  // the row continues the partial one
  CHECK(trainer.train_step().size() == row.size());
  CHECK(trainer.step() == 2);
}

TEST_CASE("GRPO raises the reward of an easy task within 40 seeded steps") {
  const auto tok = toy_tokenizer();
  nn::GPT<float> model(toy_config(tok), 11);
  ToyEnv env;
  rl::Trainer<float> trainer(model, tok, env,
                             quiet({.method = rl::Method::GRPO, .steps = 40, .prompts_per_step = 4, .group_size = 8,
                                    .lr = 1e-2, .max_new_tokens = 4, .seed = 3}));
  const auto start = rl::evaluate(model, tok, env, {.k = 16, .max_new_tokens = 4});
  trainer.train();
  const auto end = rl::evaluate(model, tok, env, {.k = 16, .max_new_tokens = 4});
  INFO("pass@1 " << start[0].pass_at_1 << " -> " << end[0].pass_at_1);
  CHECK(start[0].pass_at_1 < 0.4);
  CHECK(end[0].pass_at_1 > 0.9);
}

TEST_CASE("SFT teaches the expert's format: greedy answers become the demonstration") {
  const auto tok = toy_tokenizer();
  nn::GPT<float> model(toy_config(tok), 12);
  ToyEnv env;
  rl::Trainer<float> trainer(model, tok, env,
                             quiet({.method = rl::Method::SFT, .steps = 40, .expert_rows_per_step = 8, .lr = 1e-2}));
  trainer.train();
  for (int k = 0; k < 4; ++k) {
    const auto texts = generate_text(model, tok, ToyEnv::query(k).prompt, {.max_new_tokens = 6, .temperature = 0.0});
    CHECK(texts.at(0) == "a#b");
  }
}

// The metric names are those of docs/algorithms.md section 6.
TEST_CASE("every method runs, logs the documented metrics, and resuming from a checkpoint is bit-identical") {
  const auto tok = toy_tokenizer();
  ToyEnv env;
  const std::string dir = (std::filesystem::temp_directory_path() / "chord_test_trainer").string();
  for (rl::Method method : {rl::Method::SFT, rl::Method::GRPO, rl::Method::SFTThenRL, rl::Method::CHORDMu,
                            rl::Method::CHORDPhi, rl::Method::LUFFY}) {
    INFO(std::string(rl::to_string(method)));
    std::filesystem::remove_all(dir);
    const rl::TrainerOptions options =
        quiet({.method = method, .steps = 4, .prompts_per_step = 2, .group_size = 4, .expert_rows_per_step = 3,
               .sft_steps = 2, .mu_decay_steps = 2, .micro_batch_rows = 6, .max_new_tokens = 6, .eval_every = 2,
               .out_dir = dir});
    nn::GPT<float> straight(toy_config(tok), 21);
    rl::Trainer<float>(straight, tok, env, options).train();

    // The same run, stopped after step 2 and resumed from its checkpoint in a new trainer and model.
    nn::GPT<float> first(toy_config(tok), 21);
    rl::TrainerOptions half = options;
    half.steps = 2;
    rl::Trainer<float>(first, tok, env, half).train();
    nn::GPT<float> resumed(toy_config(tok), 99);  // other weights: resume must overwrite them
    rl::Trainer<float> again(resumed, tok, env, options);
    again.resume(dir + "/checkpoint");
    CHECK(again.step() == 2);
    again.train();
    const auto a = flat_parameters(straight), b = flat_parameters(resumed);
    REQUIRE(a.size() == b.size());
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);

    const auto table = io::read_metrics(dir + "/metrics.jsonl");
    CHECK(table.size() == 5);  // the evaluation before step 1, then 4 steps
    for (const char* name : {"loss/policy", "loss/sft", "mu", "entropy", "grad_norm", "lr", "timing/train_s",
                             "eval/toy/pass@1", "eval/toy/pass@k"})
      CHECK_MESSAGE(table.has(name), name);
    if (method != rl::Method::SFT)
      for (const char* name : {"reward/mean", "reward/std", "frac_reward_zero_std", "clip_ratio/low", "clip_ratio/high",
                               "ppo_kl", "response_length/mean", "response_length/clip_ratio", "timing/rollout_s"})
        CHECK_MESSAGE(table.has(name), name);
    if (method == rl::Method::CHORDMu) {
      // D = 2: mu(1) = 0.05 + 0.85 * 0.5 * (1 + cos(pi / 2)), then the valley from step 2 on.
      const auto [steps_logged, mu] = table.xy("mu");
      REQUIRE(mu.size() == 4);
      CHECK(mu[0] == doctest::Approx(0.05 + 0.85 * 0.5));
      CHECK(mu[1] == doctest::Approx(0.05));
      CHECK(mu[3] == doctest::Approx(0.05));
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("trainer and resume reject nonsense with clear errors") {
  const auto tok = toy_tokenizer();
  ToyEnv env;
  nn::GPT<float> model(toy_config(tok), 1);
  CHORD_CHECK_ERROR(rl::Trainer<float>(model, tok, env, {.group_size = 1}), "group_size must be >= 2");
  CHORD_CHECK_ERROR(rl::Trainer<float>(model, tok, env, {.method = rl::Method::LUFFY, .group_size = 4, .off_policy_per_group = 4}),
                    "off_policy_per_group");
  CHORD_CHECK_ERROR(rl::Trainer<float>(model, tok, env, {.method = rl::Method::SFTThenRL, .steps = 5, .sft_steps = 6}),
                    "sft_steps");
  CHORD_CHECK_ERROR(rl::Trainer<float>(model, tok, env, {.temperature = 0.0}), "temperature");
  CHORD_CHECK_ERROR(rl::method_from_string("PPO"), "unknown method 'PPO'");
  CHECK(rl::method_from_string("CHORD-phi") == rl::Method::CHORDPhi);
  rl::Trainer<float> trainer(model, tok, env, quiet({}));
  CHORD_CHECK_ERROR(trainer.resume("/nonexistent/chord/checkpoint"), "no complete checkpoint at '/nonexistent");
}

// ---- options: mu_override, beta, objective_override, checkpoint_every ----------------------

TEST_CASE("mu_override replaces the method's mu: each step's mu metric follows the override's schedule, and the "
          "loss is mixed with that mu") {
  const auto tok = toy_tokenizer();
  ToyEnv env;
  // peak 0.6, valley 0.2, W = 2, D = 3 (rl/mu_schedule.hpp), by hand:
  //   step 1 < W: warm-up, 0.6 * 1 / 2 = 0.3
  //   step 2 = W: the cosine at progress 0, the peak 0.6
  //   step 3: 0.2 + 0.4 * (1 + cos(pi / 3)) / 2 = 0.2 + 0.4 * 0.75 = 0.5
  //   step 4: 0.2 + 0.4 * (1 + cos(2 pi / 3)) / 2 = 0.2 + 0.4 * 0.25 = 0.3
  //   steps 5, 6 >= W + D: the valley, 0.2
  const rl::MuSchedule schedule{.peak = 0.6, .valley = 0.2, .warmup_steps = 2, .decay_steps = 3};
  const double expected[] = {0.3, 0.6, 0.5, 0.3, 0.2, 0.2};
  for (rl::Method method : {rl::Method::CHORDMu, rl::Method::CHORDPhi}) {
    for (bool override_mu : {true, false}) {
      INFO(std::string(rl::to_string(method)) << std::string(override_mu ? " with mu_override" : " without"));
      nn::GPT<double> model(toy_config(tok), 4);
      rl::TrainerOptions options = quiet({.method = method, .steps = 6, .prompts_per_step = 2, .group_size = 4,
                                          .expert_rows_per_step = 3, .mu_decay_steps = 4, .max_new_tokens = 6});
      if (override_mu) options.mu_override = schedule;
      rl::Trainer<double> trainer(model, tok, env, options);
      const rl::MuSchedule own = rl::method_recipe(method, 1, 0, 4, 6).mu;
      for (int64_t step = 1; step <= 6; ++step) {
        INFO("step " << step);
        const rl::MetricRow row = trainer.train_step();
        const double mu = metric(row, "mu");
        CHECK(mu == doctest::Approx(override_mu ? expected[step - 1] : own.mu(step)).epsilon(1e-12));
        // The objective mixed its terms with that same mu (they differ, so another mu would show).
        const double policy = metric(row, "loss/policy"), sft = metric(row, "loss/sft");
        REQUIRE(std::abs(policy - sft) > 0.1);
        CHECK(metric(row, "loss") == doctest::Approx((1 - mu) * policy + mu * sft + metric(row, "loss/kl") +
                                                     metric(row, "loss/entropy"))
                                         .epsilon(1e-12));
      }
    }
  }
}

// The KL is recomputed here at every step from the step's rows: lp from the policy's weights at
// the step, lp_ref from a copy of the weights the run started from. Agreeing with the trainer's
// kl metric at steps 2..5 shows its frozen reference never moved off the starting weights.
TEST_CASE("beta > 0: kl is 0 at step 1 and positive after, it is the k3 KL to the starting weights at every step "
          "(the reference never moves), and loss/kl is beta times the aggregated KL") {
  const auto tok = toy_tokenizer();
  SpreadEnv env;
  constexpr double beta = 0.1;
  for (rl::Aggregation mode : {rl::Aggregation::TokenMean, rl::Aggregation::SeqMeanTokenSum}) {
    INFO(std::string(rl::to_string(mode)));
    nn::GPT<double> model(toy_config(tok), 6);
    const auto start = copy_of(model);
    rl::TrainerOptions options = quiet({.method = rl::Method::GRPO, .steps = 5, .prompts_per_step = 2, .group_size = 4,
                                        .lr = 1e-2, .max_new_tokens = 6, .beta = beta});
    if (mode != rl::Aggregation::TokenMean)
      options.objective_override = rl::ObjectiveOptions{.beta = beta, .aggregation = mode};
    rl::Trainer<double> trainer(model, tok, env, options);
    for (int64_t step = 1; step <= 5; ++step) {
      INFO("step " << step);
      const rl::MetricRow row = trainer.accumulate_gradients();  // the weights are still those of the step's lp
      const auto packed = rl::pack_rows<double>(trainer.rows(), tok.pad_id(), toy_config(tok).context_length);
      NoGradGuard no_grad;
      const Tensor<double> lp = token_log_probs(model.forward(packed.inputs), packed.targets, 1.0);
      const Tensor<double> lp_ref = token_log_probs(start->forward(packed.inputs), packed.targets, 1.0);
      auto k3 = [&](int64_t i, int64_t t) {  // d = lp_ref - lp: exp(d) - d - 1
        const double d = lp_ref.at({i, t}) - lp.at({i, t});
        return std::exp(d) - d - 1.0;
      };
      auto every_row = [](int64_t) { return true; };
      const double kl_mean = aggregate(rl::Aggregation::TokenMean, 0, packed.mask, every_row, k3);
      const double kl_aggregated = aggregate(mode, 0, packed.mask, every_row, k3);
      if (step == 1) {  // the policy is the reference: d = 0 at every token
        CHECK(metric(row, "kl") == 0.0);
        CHECK(metric(row, "loss/kl") == 0.0);
      } else {
        CHECK(metric(row, "kl") > 1e-6);
      }
      CHECK(metric(row, "kl") == doctest::Approx(kl_mean).epsilon(1e-9));
      CHECK(metric(row, "loss/kl") == doctest::Approx(beta * kl_aggregated).epsilon(1e-9));
      trainer.apply_gradients();
    }
  }
}

TEST_CASE("objective_override cannot set beta behind TrainerOptions::beta's back; beta applies to an override") {
  const auto tok = toy_tokenizer();
  SpreadEnv env;
  nn::GPT<double> model(toy_config(tok), 9);
  rl::TrainerOptions options = quiet({.method = rl::Method::GRPO, .steps = 2, .prompts_per_step = 2,
                                      .group_size = 2, .lr = 0.05, .max_new_tokens = 4});
  options.objective_override = rl::ObjectiveOptions{.beta = 0.1};
  CHORD_CHECK_ERROR(rl::Trainer<double>(model, tok, env, options), "set the KL coefficient in TrainerOptions::beta");
  // With beta in TrainerOptions and an override that leaves it 0, the KL term is in the loss: 0 at
  // step 1 (the policy is its reference), then beta times a positive KL once the weights moved.
  options.objective_override = rl::ObjectiveOptions{};
  options.beta = 0.1;
  rl::Trainer<double> trainer(model, tok, env, options);
  CHECK(metric(trainer.train_step(), "kl") == doctest::Approx(0.0).epsilon(1e-12));
  const rl::MetricRow second = trainer.train_step();
  REQUIRE(metric(second, "kl") > 0.0);
  CHECK(metric(second, "loss/kl") > 0.0);
}

// At step 1 the rollouts are fresh: rho = exp(lp - lp_old) = 1 to rounding (float64), inside the
// clip range, so an on-policy token's loss is -A, and loss/policy = -sum_t w_t A_row(t). With an
// entropy bonus c, loss/entropy = -c * the aggregated entropy. LUFFY's off-policy tokens add
// -A f(p), f(p) = p / (p + 0.1) with shaping, p without, p from the policy computed here.
TEST_CASE("objective_override replaces the method's options: step 1's loss/policy and loss/entropy under every "
          "aggregation, and LUFFY without shaping, as predicted by hand") {
  const auto tok = toy_tokenizer();
  SpreadEnv env;
  constexpr double C = 7, coef = 0.01;
  for (bool use_override : {false, true})
    for (rl::Aggregation mode : kAggregations) {
      if (!use_override && mode != rl::Aggregation::TokenMean) continue;  // GRPO's own options: token-mean only
      INFO(std::string(use_override ? "override, " : "GRPO's own options, ") << std::string(rl::to_string(mode)));
      nn::GPT<double> model(toy_config(tok), 9);
      rl::TrainerOptions options = quiet({.method = rl::Method::GRPO, .steps = 1, .prompts_per_step = 3,
                                          .group_size = 4, .max_new_tokens = 6});
      if (use_override)
        options.objective_override =
            rl::ObjectiveOptions{.entropy_coef = coef, .aggregation = mode, .constant_normalizer = C};
      rl::Trainer<double> trainer(model, tok, env, options);
      const rl::MetricRow row = trainer.accumulate_gradients();
      const auto& rows = trainer.rows();
      const auto packed = rl::pack_rows<double>(rows, tok.pad_id(), toy_config(tok).context_length);
      NoGradGuard no_grad;
      const auto [lp, entropy] = token_log_probs_and_entropy(model.forward(packed.inputs), packed.targets, 1.0);
      auto every_row = [](int64_t) { return true; };
      auto minus_advantage = [&](int64_t i, int64_t) { return -rows[static_cast<std::size_t>(i)].advantage; };
      const double policy = aggregate(mode, C, packed.mask, every_row, minus_advantage);
      // Under token-mean -sum_i A_i n_i / tokens: not 0 only when lengths and advantages correlate.
      if (mode == rl::Aggregation::TokenMean) REQUIRE(std::abs(policy) > 1e-3);
      CHECK(metric(row, "loss/policy") == doctest::Approx(policy).epsilon(1e-9));
      CHECK(metric(row, "clip_ratio/low") == 0.0);
      CHECK(metric(row, "clip_ratio/high") == 0.0);
      auto entropy_at = [&](int64_t i, int64_t t) { return entropy.at({i, t}); };
      const double H = aggregate(mode, C, packed.mask, every_row, entropy_at);
      CHECK(metric(row, "loss/entropy") == doctest::Approx(use_override ? -coef * H : 0.0).epsilon(1e-9));
    }

  // LUFFY: 3 samples + 1 demonstration per group, constant normalizer C = max_new_tokens = 6.
  std::vector<double> predicted, logged;
  for (bool shaping : {true, false}) {
    INFO("LUFFY, shaping " << shaping);
    nn::GPT<double> model(toy_config(tok), 9);
    rl::TrainerOptions options = quiet({.method = rl::Method::LUFFY, .steps = 1, .prompts_per_step = 3,
                                        .group_size = 4, .max_new_tokens = 6});
    if (!shaping) {
      rl::ObjectiveOptions o = rl::method_recipe(rl::Method::LUFFY, 1, 0, 1, 6).objective;
      o.shaping = false;
      options.objective_override = o;
    }
    rl::Trainer<double> trainer(model, tok, env, options);
    const rl::MetricRow row = trainer.accumulate_gradients();
    const auto& rows = trainer.rows();
    const auto packed = rl::pack_rows<double>(rows, tok.pad_id(), toy_config(tok).context_length);
    NoGradGuard no_grad;
    const Tensor<double> lp = token_log_probs(model.forward(packed.inputs), packed.targets, 1.0);
    auto token_loss = [&](int64_t i, int64_t t) {
      const rl::Row& r = rows[static_cast<std::size_t>(i)];
      if (r.kind == rl::RowKind::OnPolicy) return -r.advantage;  // rho = 1
      const double p = std::exp(lp.at({i, t}));
      return -r.advantage * (shaping ? p / (p + 0.1) : p);
    };
    predicted.push_back(aggregate(rl::Aggregation::Constant, 6, packed.mask, [](int64_t) { return true; }, token_loss));
    logged.push_back(metric(row, "loss/policy"));
    CHECK(logged.back() == doctest::Approx(predicted.back()).epsilon(1e-9));
  }
  CHECK(std::abs(predicted[0] - predicted[1]) > 1e-4);  // shaping changes the prediction: the check can tell
}

namespace {

// SpreadEnv that, at the start of each GRPO step (its rollouts call sample_queries once, first),
// notes the step of the checkpoint on disk (-1: none) and keeps a copy of the checkpoint of keep_step.
class CheckpointWatcher final : public SpreadEnv {
 public:
  CheckpointWatcher(std::string checkpoint, std::string keep_dir, int64_t keep_step)
      : checkpoint_(std::move(checkpoint)), keep_dir_(std::move(keep_dir)), keep_step_(keep_step) {}
  std::vector<rl::Query> sample_queries(int64_t n, Generator& gen) const override {
    seen.push_back(step_on_disk());
    if (seen.back() == keep_step_ && !std::filesystem::exists(keep_dir_))
      std::filesystem::copy(checkpoint_, keep_dir_, std::filesystem::copy_options::recursive);
    return SpreadEnv::sample_queries(n, gen);
  }
  int64_t step_on_disk() const {
    if (!std::filesystem::exists(checkpoint_ + "/trainer.json")) return -1;
    return io::Json::parse(io::read_file(checkpoint_ + "/trainer.json", "test")).at("step").as_int("step");
  }
  mutable std::vector<int64_t> seen;

 private:
  std::string checkpoint_, keep_dir_;
  int64_t keep_step_;
};

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) out.insert(entry.path().filename().string());
  return out;
}

}  // namespace

TEST_CASE("checkpoint_every writes a checkpoint after every multiple of it and after the last step; resuming from "
          "the middle one reproduces the uninterrupted run bit for bit (beta > 0)") {
  const auto tok = toy_tokenizer();
  const auto base = std::filesystem::temp_directory_path() / "chord_test_checkpoint_every";
  std::filesystem::remove_all(base);
  const std::string run = (base / "run").string(), middle = (base / "step2").string(),
                    again = (base / "resumed").string();
  const rl::TrainerOptions options =
      quiet({.method = rl::Method::GRPO, .steps = 5, .prompts_per_step = 2, .group_size = 4, .lr = 1e-2,
             .max_new_tokens = 6, .beta = 0.05, .checkpoint_every = 2, .out_dir = run, .seed = 7});

  CheckpointWatcher watcher(run + "/checkpoint", middle, 2);
  nn::GPT<double> straight(toy_config(tok), 21);
  rl::Trainer<double> first(straight, tok, watcher, options);
  first.train();
  // Checkpoints after steps 2 and 4 (the multiples of 2) and 5 (the last); seen at the start of steps 1..5:
  CHECK(watcher.seen == std::vector<int64_t>{-1, -1, 2, 2, 4});
  CHECK(watcher.step_on_disk() == 5);
  CHECK(names_in(run) == std::set<std::string>{"checkpoint", "metrics.csv", "metrics.jsonl"});
  // save_checkpoint's files: the weights (with their config and tokenizer beside), AdamW's moments,
  // the frozen reference (beta > 0), the step, and the manifest that seals them.
  CHECK(names_in(run + "/checkpoint") ==
        std::set<std::string>{"model.safetensors", "model.config.json", "model.tokenizer.json", "optimizer.safetensors",
                              "reference.safetensors", "reference.config.json", "trainer.json", "manifest.json"});
  REQUIRE(std::filesystem::exists(middle + "/trainer.json"));

  // Resume the step-2 checkpoint in a new trainer built on other weights (seed 99), so that its
  // frozen reference starts wrong too: resume must restore the policy and the reference the run
  // had (the checkpoint holds both). The weights are also scrambled before resume.
  SpreadEnv env;
  rl::TrainerOptions resumed_options = options;
  resumed_options.out_dir = again;
  nn::GPT<double> resumed(toy_config(tok), 99);
  rl::Trainer<double> second(resumed, tok, env, resumed_options);
  {
    NoGradGuard no_grad;
    for (auto& p : resumed.parameters()) p.copy_(Tensor<double>::full(p.shape(), 0.5));
  }
  second.resume(middle);
  CHECK(second.step() == 2);
  second.train();

  const auto a = straight.parameters(), b = resumed.parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].to_vector() == b[i].to_vector());  // bit for bit
  // Steps 3..5 log the same numbers, bit for bit (the timings aside), the final evaluation included.
  REQUIRE(first.history().size() == 5);
  REQUIRE(second.history().size() == 3);
  for (std::size_t s = 0; s < 3; ++s) {
    const rl::MetricRow &want = first.history()[s + 2], &got = second.history()[s];
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CAPTURE(want[i].first);
      CHECK(got[i].first == want[i].first);
      if (want[i].first.rfind("timing/", 0) != 0) CHECK(got[i].second == want[i].second);
    }
  }
  CHECK(io::read_metrics(again + "/metrics.jsonl").size() == 3);
  std::filesystem::remove_all(base);
}

// ---- crash-consistent checkpoints and a resume that checks before it changes anything -------

namespace {

// A 2-step GRPO run in `dir`/run with a checkpoint after each step; returns its options.
rl::TrainerOptions two_step_run(const io::Tokenizer& tok, const rl::Environment& env, const std::string& dir) {
  std::filesystem::remove_all(dir);
  const rl::TrainerOptions options =
      quiet({.method = rl::Method::GRPO, .steps = 2, .prompts_per_step = 2, .group_size = 2, .lr = 1e-2,
             .max_new_tokens = 4, .checkpoint_every = 1, .out_dir = dir + "/run", .seed = 5});
  nn::GPT<double> model(toy_config(tok), 3);
  rl::Trainer<double>(model, tok, env, options).train();
  return options;
}

// Copies checkpoint `from` into a new, sealed checkpoint `to`, after `edit(tmp_dir)` changed its files.
void reseal(const std::string& from, const std::string& to, const std::function<void(const std::string&)>& edit,
            int64_t manifest_step) {
  io::write_checkpoint_directory(
      to,
      [&](const std::string& tmp) {
        for (const auto& e : std::filesystem::directory_iterator(from))
          if (e.path().filename() != io::kManifestName) std::filesystem::copy(e.path(), tmp + "/" + e.path().filename().string());
        edit(tmp);
      },
      {{"step", io::Json(manifest_step)}});
}

}  // namespace

TEST_CASE("a checkpoint is published whole: a mixed or torn directory is refused, and the previous complete one is "
          "used when the newest is incomplete") {
  const auto tok = toy_tokenizer();
  SpreadEnv env;
  const std::string dir = (std::filesystem::temp_directory_path() / "chord_test_crash_consistent").string();
  const rl::TrainerOptions options = two_step_run(tok, env, dir);
  const std::string ckpt = dir + "/run/checkpoint";
  // Only the newest checkpoint remains, sealed; no temporary or previous directory is left over.
  CHECK(names_in(dir + "/run") == std::set<std::string>{"checkpoint", "metrics.csv", "metrics.jsonl"});
  CHECK(io::find_complete_checkpoint(ckpt).manifest.at("step").as_int() == 2);

  // A kill between a save's two renames leaves only checkpoint.previous: resume uses it, and says so.
  std::filesystem::copy(ckpt, ckpt + ".previous", std::filesystem::copy_options::recursive);
  std::filesystem::remove_all(ckpt);
  {
    nn::GPT<double> model(toy_config(tok), 3);
    rl::Trainer<double> trainer(model, tok, env, options);
    trainer.resume(ckpt);
    CHECK(trainer.step() == 2);
  }
  std::filesystem::rename(ckpt + ".previous", ckpt);

  // A step-1 optimizer file dropped into the step-2 checkpoint (the mix a kill between two file
  // writes once left): the manifest's checksum refuses it, and nothing of the trainer changes.
  const std::string step1 = dir + "/step1";
  reseal(ckpt, step1, [](const std::string&) {}, 2);  // a second, sealed copy to take files from
  {
    nn::GPT<double> other(toy_config(tok), 3);
    rl::Trainer<double> trainer(other, tok, env, quiet({.method = rl::Method::GRPO, .steps = 1, .prompts_per_step = 2,
                                                        .group_size = 2, .lr = 1e-2, .max_new_tokens = 4,
                                                        .out_dir = dir + "/other", .seed = 5}));
    trainer.train();  // a 1-step run: its optimizer file is from step 1
    std::filesystem::copy(dir + "/other/checkpoint/optimizer.safetensors", ckpt + "/optimizer.safetensors",
                          std::filesystem::copy_options::overwrite_existing);
  }
  nn::GPT<double> model(toy_config(tok), 8);
  const auto before = flat_parameters(model);
  rl::Trainer<double> trainer(model, tok, env, options);
  CHORD_CHECK_ERROR(trainer.resume(ckpt), "does not match the checksum in its manifest");
  CHECK(flat_parameters(model) == before);
  CHECK(trainer.step() == 0);
  // A torn file (shorter than the manifest says).
  reseal(step1, ckpt, [](const std::string&) {}, 2);
  const std::string model_file = ckpt + "/model.safetensors";
  std::filesystem::resize_file(model_file, std::filesystem::file_size(model_file) / 2);
  CHORD_CHECK_ERROR(trainer.resume(ckpt), "bytes, its manifest says");
  // An unsealed directory (no manifest: a save killed before it finished).
  std::filesystem::remove(step1 + "/manifest.json");
  CHORD_CHECK_ERROR(trainer.resume(step1), "has no manifest.json");
  CHECK(flat_parameters(model) == before);
  std::filesystem::remove_all(dir);
}

TEST_CASE("resume validates its metadata and weights before touching the trainer: step_count, trainer.json's keys, "
          "NaN weights") {
  const auto tok = toy_tokenizer();
  SpreadEnv env;
  const std::string dir = (std::filesystem::temp_directory_path() / "chord_test_resume_metadata").string();
  const rl::TrainerOptions options = two_step_run(tok, env, dir);
  const std::string good = dir + "/run/checkpoint", bad = dir + "/bad";
  nn::GPT<double> model(toy_config(tok), 8);
  const auto before = flat_parameters(model);
  rl::Trainer<double> trainer(model, tok, env, options);

  // optimizer.safetensors' step_count: not a number, negative, or another step than trainer.json's.
  const auto with_step_count = [&](const std::string& count) {
    reseal(good, bad,
           [&](const std::string& tmp) {
             const io::SafetensorsFile f = io::SafetensorsFile::read(tmp + "/optimizer.safetensors");
             io::NamedTensorList<double> tensors;
             for (const std::string& name : f.names()) tensors.emplace_back(name, f.tensor<double>(name));
             io::save_safetensors(tmp + "/optimizer.safetensors", tensors, {{"step_count", count}});
           },
           2);
  };
  with_step_count("4x");
  CHORD_CHECK_ERROR(trainer.resume(bad), "step_count must be a non-negative integer, got '4x'");
  with_step_count("-7");
  CHORD_CHECK_ERROR(trainer.resume(bad), "step_count must be a non-negative integer, got '-7'");
  with_step_count("1");
  CHORD_CHECK_ERROR(trainer.resume(bad), "has step_count 1, but");

  // trainer.json: a missing key, a key of the wrong type; the error names the file and the key.
  const auto with_trainer_json = [&](const std::string& text, int64_t manifest_step) {
    reseal(good, bad, [&](const std::string& tmp) { io::write_text_file_atomically(tmp + "/trainer.json", text); },
           manifest_step);
  };
  with_trainer_json(R"({"method": "GRPO", "seed": 5})", 2);
  CHORD_CHECK_ERROR(trainer.resume(bad), (bad + "/trainer.json' has no \"step\"").c_str());
  with_trainer_json(R"({"step": "two", "method": "GRPO", "seed": 5})", 2);
  CHORD_CHECK_ERROR(trainer.resume(bad), "\"step\" must be an integer, got \"two\"");
  with_trainer_json(R"({"step": 2, "method": 7, "seed": 5})", 2);
  CHORD_CHECK_ERROR(trainer.resume(bad), "\"method\" must be a string");
  with_trainer_json(R"({"step": 2, "method": "GRPO", "seed": 5})", 1);
  CHORD_CHECK_ERROR(trainer.resume(bad), "but the manifest of");
  with_trainer_json("{not json", 2);
  CHORD_CHECK_ERROR(trainer.resume(bad), "trainer.json' is not valid JSON");

  // A NaN weight: refused, not trained on.
  reseal(good, bad,
         [&](const std::string& tmp) {
           const io::SafetensorsFile f = io::SafetensorsFile::read(tmp + "/model.safetensors");
           io::NamedTensorList<double> tensors;  // the model is float64
           for (const std::string& name : f.names()) tensors.emplace_back(name, f.tensor<double>(name));
           tensors.front().second.data()[0] = std::nan("");
           io::save_safetensors(tmp + "/model.safetensors", tensors, f.metadata());
         },
         2);
  CHORD_CHECK_ERROR(trainer.resume(bad), "holds nan at element 0");

  CHECK(flat_parameters(model) == before);  // every refusal left the trainer as it was
  CHECK(trainer.step() == 0);
  trainer.resume(good);  // and the good checkpoint still resumes
  CHECK(trainer.step() == 2);
  CHECK(flat_parameters(model) != before);
  std::filesystem::remove_all(dir);
}
