// The model path on the GPU against the CPU: a GPT training step (loss, gradients,
// AdamW, clip_grad_norm), the KV cache, generation (greedy equals the CPU's; the
// sampler's log-probs equal the trainer's), the RL objective and one trainer step.
// Without a GPU every test prints a notice and passes.

#include <cmath>
#include <string>
#include <vector>

#include "cuda_test_util.hpp"

using namespace chord;
using namespace chord::testing;

namespace {

nn::GPTConfig small_config() {
  return nn::GPTConfig{.vocab_size = 37, .context_length = 32, .n_layer = 2, .n_head = 4, .n_embd = 32};
}

// A model whose logits are spread out (token embeddings 10x GPT-2's init), so that the
// argmax of a row is far from a tie and float rounding cannot flip a greedy choice.
void spread_logits(nn::GPT<float>& model) {
  NoGradGuard no_grad;
  mul_(model.wte->weight, 10.0f);
}

// One training step (lm_loss, backward, clip, AdamW) of a fresh seeded model on `device`;
// returns the loss, the gradient norm and the parameters after the step.
struct StepResult {
  float loss = 0;
  double grad_norm = 0;
  std::vector<Tensor<float>> grads, params;
};
StepResult train_step(Device device) {
  nn::GPT<float> model(small_config(), 5);
  model.to(device);
  optim::AdamW<float> opt(model.named_parameters(), {.lr = 1e-3, .weight_decay = 0.1});
  Generator gen(6);
  const auto tokens = Tensor<int64_t>::randint(0, 37, {3, 21}, gen);
  const auto input = tokens.narrow(1, 0, 20).contiguous(), target = tokens.narrow(1, 1, 20).contiguous();
  auto loss = nn::lm_loss(model.forward(input), target.to(device));
  loss.backward();
  StepResult r;
  r.loss = loss.item();
  // clone(): on the cpu, to(kCpu) is the gradient itself, which clip_grad_norm then scales in place
  for (const auto& p : model.parameters()) r.grads.push_back(p.grad().to(kCpu).clone());
  r.grad_norm = optim::clip_grad_norm(model.parameters(), 0.5);
  opt.step();
  for (const auto& p : model.parameters()) r.params.push_back(p.detach().to(kCpu));
  return r;
}

}  // namespace

TEST_CASE("cuda: a GPT training step on the GPU matches the cpu's: loss, gradients, clipped norm, AdamW update") {
  CHORD_SKIP_WITHOUT_CUDA();
  const StepResult gpu = train_step(kGpu), cpu = train_step(kCpu);
  CHECK(gpu.loss == doctest::Approx(cpu.loss).epsilon(1e-5));
  CHECK(gpu.grad_norm == doctest::Approx(cpu.grad_norm).epsilon(1e-4));
  REQUIRE(gpu.grads.size() == cpu.grads.size());
  for (std::size_t i = 0; i < gpu.grads.size(); ++i) {
    CAPTURE(i);
    check_close(gpu.grads[i], cpu.grads[i], 1e-3, 1e-6);
    check_close(gpu.params[i], cpu.params[i], 1e-4, 1e-6);
  }
}

TEST_CASE("cuda: AdamW on the GPU follows the cpu's update over three steps, with and without weight decay") {
  CHORD_SKIP_WITHOUT_CUDA();
  auto run = [](Device device) {
    Generator gen(7);
    auto w = Tensor<double>::randn({5, 40000}, gen).to(device);  // several chunks of the fused kernel
    auto b = Tensor<double>::randn({7}, gen).to(device);
    w.set_requires_grad(true);
    b.set_requires_grad(true);
    optim::AdamW<double> opt({{"w", w}, {"bias", b}}, {.lr = 0.01, .weight_decay = 0.1});
    for (int step = 0; step < 3; ++step) {
      opt.zero_grad();
      ((w * w).sum() * 0.5 + (b * w.narrow(1, 0, 7).narrow(0, 0, 1)).sum()).backward();
      opt.step();
    }
    return std::vector<Tensor<double>>{w.detach().to(kCpu), b.detach().to(kCpu), opt.exp_avg_sq()[0].to(kCpu)};
  };
  const auto gpu = run(kGpu), cpu = run(kCpu);
  for (std::size_t i = 0; i < gpu.size(); ++i) check_close(gpu[i], cpu[i], 1e-12, 1e-14);
}

TEST_CASE("cuda: the KV cache on the GPU gives the logits of a full forward, and equals the cpu's") {
  CHORD_SKIP_WITHOUT_CUDA();
  nn::GPT<float> cpu_model(small_config(), 8), gpu_model(small_config(), 8);
  gpu_model.to(kGpu);
  cpu_model.eval();
  gpu_model.eval();
  NoGradGuard no_grad;
  const auto tokens = Tensor<int64_t>::from_vector({1, 5, 9, 2, 7, 3, 4, 8, 0, 6, 11, 12}, {2, 6});
  const auto full = gpu_model.forward(tokens);  // [2, 6, V]
  check_close(full, cpu_model.forward(tokens), 1e-4, 1e-5);
  auto cache = gpu_model.make_cache(2, 8);
  CHECK(cache.keys[0].device() == kGpu);
  const auto first = gpu_model.forward(tokens.narrow(1, 0, 4).contiguous(), cache);
  const auto next = gpu_model.forward(tokens.narrow(1, 4, 2).contiguous(), cache);
  check_close(first, full.narrow(1, 0, 4), 1e-4, 1e-5);
  check_close(next, full.narrow(1, 4, 2), 1e-4, 1e-5);
}

TEST_CASE("cuda: greedy generation on the GPU equals the cpu's, and its log-probs agree") {
  CHORD_SKIP_WITHOUT_CUDA();
  nn::GPT<float> cpu_model(small_config(), 9), gpu_model(small_config(), 9);
  spread_logits(cpu_model);
  spread_logits(gpu_model);
  gpu_model.to(kGpu);
  const std::vector<std::vector<int64_t>> prompts = {{1, 2, 3}, {4, 5}, {6, 7, 8, 9, 10}};
  const SampleOptions options{.max_new_tokens = 12, .temperature = 0.0};
  const auto gpu = generate(gpu_model, prompts, options, 2);
  const auto cpu = generate(cpu_model, prompts, options, 2);
  check_equal(gpu.tokens, cpu.tokens);
  check_close(gpu.log_probs, cpu.log_probs, 1e-4, 1e-5);
  CHECK(gpu_model.is_training());  // restored after generation
}

TEST_CASE("cuda: sampled generation on the GPU is reproducible and its lp_old equal the trainer's log-probs (rho = 1)") {
  CHORD_SKIP_WITHOUT_CUDA();
  nn::GPT<float> model(small_config(), 10);
  model.to(kGpu);
  const std::vector<std::vector<int64_t>> prompts = {{1, 2, 3}, {4, 5, 6, 7}};
  for (double temperature : {1.0, 0.7}) {
    const SampleOptions options{.max_new_tokens = 10, .temperature = temperature, .top_k = 20, .seed = 3};
    const auto a = generate(model, prompts, options, 3), b = generate(model, prompts, options, 3);
    check_equal(a.tokens, b.tokens);
    std::vector<rl::Row> rows;
    for (const auto& c : a.completions) {
      rows.push_back({.prompt = prompts[c.prompt_index], .response = c.tokens, .kind = rl::RowKind::OnPolicy});
      rows.back().old_log_probs.assign(c.log_probs.begin(), c.log_probs.end());
    }
    const auto packed = rl::pack_rows<float>(rows, 0, 32);
    NoGradGuard no_grad;
    const auto lp = token_log_probs(model.forward(packed.inputs), packed.targets.to(kGpu), temperature).to(kCpu);
    for (int64_t i = 0; i < packed.mask.size(0); ++i)
      for (int64_t t = 0; t < packed.mask.size(1); ++t)
        if (packed.mask.at({i, t}) != 0)
          CHECK(std::exp(lp.at({i, t}) - packed.old_log_probs.at({i, t})) == doctest::Approx(1.0).epsilon(1e-4));
  }
}

TEST_CASE("cuda: the mixed RL objective of GPU log-probs equals the cpu's: loss, metrics and gradients") {
  CHORD_SKIP_WITHOUT_CUDA();
  Generator gen(11);
  const auto lp0 = Tensor<double>::rand({4, 6}, gen, -3.0, -0.05);
  const auto old = lp0 + Tensor<double>::randn({4, 6}, gen) * 0.1;
  const auto ent = Tensor<double>::rand({4, 6}, gen, 0.1, 2.0);
  const auto mask = Tensor<double>::from_vector({1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0,
                                                  1, 1, 0, 0, 0, 0}, {4, 6});
  const auto adv = Tensor<double>::from_vector({1.0, -0.5, 0.7, 0.0});
  const std::vector<rl::RowKind> kinds = {rl::RowKind::OnPolicy, rl::RowKind::OnPolicy, rl::RowKind::OffPolicy,
                                          rl::RowKind::Expert};
  const rl::ObjectiveOptions options{.dual_clip = 3.0, .sft_weight = rl::SftWeight::Phi, .entropy_coef = 0.01};
  auto run = [&](Device device) {
    auto lp = lp0.to(device), h = ent.to(device);
    lp.set_requires_grad(true);
    h.set_requires_grad(true);
    const rl::ObjectiveBatch<double> batch{.log_probs = lp, .old_log_probs = old.to(device), .entropy = h,
                                           .mask = mask, .advantages = adv, .kinds = kinds};
    auto result = rl::mixed_objective(batch, 0.3, rl::StepNormalizer::of(mask, kinds), options);
    CHECK(result.loss.device() == device);
    result.loss.backward();
    return std::tuple{result.loss.item(), result.metrics.named(), lp.grad().to(kCpu), h.grad().to(kCpu)};
  };
  const auto [gl, gm, glp, gh] = run(kGpu);
  const auto [cl, cm, clp, ch] = run(kCpu);
  CHECK(gl == doctest::Approx(cl).epsilon(1e-14));
  REQUIRE(gm.size() == cm.size());
  for (std::size_t i = 0; i < gm.size(); ++i) CHECK(gm[i].second == doctest::Approx(cm[i].second).epsilon(1e-14));
  check_close(glp, clp, 1e-14);
  check_close(gh, ch, 1e-14);
}

TEST_CASE("cuda: one GRPO trainer step on the GPU runs end to end and gives the cpu's reward metrics") {
  CHORD_SKIP_WITHOUT_CUDA();
  // A task where every response is scored by its first character.
  class Env : public rl::Environment {
   public:
    std::vector<rl::Query> sample_queries(int64_t n, Generator& gen) const override {
      std::vector<rl::Query> out;
      for (int64_t i = 0; i < n; ++i) out.push_back({"q" + std::to_string(gen.randint(0, 4)) + "=", "a", "toy"});
      return out;
    }
    double reward(const rl::Query&, std::string_view response) const override {
      return !response.empty() && response[0] == 'a' ? 1.0 : 0.0;
    }
    std::string demonstrate(const rl::Query&) const override { return "a#b"; }
    std::vector<rl::EvalSplit> eval_splits() const override { return {{"toy", {{"q0=", "a", "toy"}}}}; }
  } env;
  const auto tok = io::Tokenizer::char_level("q0123=ab#");
  const nn::GPTConfig config{.vocab_size = tok.vocab_size(), .context_length = 16, .n_layer = 1, .n_head = 2,
                             .n_embd = 16};
  auto run = [&](Device device) {
    nn::GPT<float> model(config, 12);
    model.to(device);
    rl::Trainer<float> trainer(model, tok, env,
                               {.method = rl::Method::CHORDPhi, .steps = 1, .prompts_per_step = 2, .group_size = 4,
                                .expert_rows_per_step = 2, .max_new_tokens = 6, .print_progress = false});
    return trainer.train_step();
  };
  const auto gpu = run(kGpu), cpu = run(kCpu);
  auto value = [](const rl::MetricRow& row, const std::string& name) {
    for (const auto& [k, v] : row)
      if (k == name) return v;
    FAIL("no metric " << name);
    return 0.0;
  };
  // Same weights and seeds: the same samples unless a near-tie in the logits flips a draw.
  CHECK(value(gpu, "reward/mean") == doctest::Approx(value(cpu, "reward/mean")));
  CHECK(value(gpu, "loss") == doctest::Approx(value(cpu, "loss")).epsilon(1e-3));
  CHECK(std::isfinite(value(gpu, "grad_norm")));
}
