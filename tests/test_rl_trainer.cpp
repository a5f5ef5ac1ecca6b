// The post-training loop: rows, rollouts, the trainer of every method, resume,
// evaluation, and learning that moves the numbers it should.

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace chord;

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

std::vector<float> flat_parameters(const nn::GPT<float>& model) {
  std::vector<float> out;
  for (const auto& p : model.parameters())
    for (float v : p.to_vector()) out.push_back(v);
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

TEST_CASE("splitting a step into micro-batches does not change the update") {
  const auto tok = toy_tokenizer();
  ToyEnv env;
  for (rl::Method method : {rl::Method::GRPO, rl::Method::CHORDPhi, rl::Method::LUFFY}) {
    CAPTURE(rl::to_string(method));
    std::vector<std::vector<float>> after;
    for (int64_t micro : {64, 5}) {
      nn::GPT<float> model(toy_config(tok), 8);
      rl::Trainer<float> trainer(model, tok, env,
                                 quiet({.method = method, .steps = 1, .prompts_per_step = 3, .group_size = 4,
                                        .expert_rows_per_step = 4, .micro_batch_rows = micro, .max_new_tokens = 6}));
      trainer.train_step();
      after.push_back(flat_parameters(model));
    }
    REQUIRE(after[0].size() == after[1].size());
    for (std::size_t i = 0; i < after[0].size(); ++i) CHECK(after[0][i] == doctest::Approx(after[1][i]).epsilon(1e-5));
  }
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
    CAPTURE(rl::to_string(method));
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
  CHORD_CHECK_ERROR(trainer.resume("/nonexistent/chord/checkpoint"), "trainer.json");
}
