#pragma once
// The papers in miniature, part 1: the setting (docs/miniature.md says why each choice).
//
//   task         sort a string of letters a..h; the base policy answers tersely ("sort dbcab=#abbcd"),
//                the expert counts first ("a1b2c1d1#abbcd"), a style this 0.6 M model can learn
//   base policy  SFT on terse answers of lengths 3..5 (30% of them near-miss wrong answers, 10% in the
//                expert's style), plus string reversal (25% of the corpus), the held-out skill
//   post-train   prompts of lengths 3..8: 3..5 is what the base policy knows ("id"); 6..8 it never saw
//                and never solves ("hard": pass@8 = 0, so RL alone gets no reward signal there)
//   evaluate     pass@1 and pass@8 on id, hard and retention (reversal: what post-training forgot)
//
// Every method starts from the same base policy and gets the same number of optimizer steps; the
// ablations change one thing of one method.

#include <chord/chord.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace miniature {

using namespace chord;

// The sizes of one preset.
struct Preset {
  std::string name;               // "quick", "default" or "full"
  std::vector<uint64_t> seeds;    // one run of everything per seed
  bool ablations = false;         // also SFT-IS, constant mu, LUFFY without shaping
  int64_t base_steps = 1500;      // the base policy's SFT steps (64 rows each)
  int64_t steps = 600;            // post-training optimizer steps per method
  int64_t prompts_per_step = 12;  // RL queries per step
  int64_t group_size = 8;         // G: rollouts per query (LUFFY: 7 + 1 demonstration)
  int64_t expert_rows = 32;       // SFT / CHORD demonstrations per step
  int64_t eval_every = 50;        // steps between evaluations (and at step 0)
  int64_t test_size = 100;        // problems per split
  int64_t eval_k = 8;             // samples per problem: pass@1 and pass@k
  double lr = 5e-4;               // post-training AdamW learning rate
  int64_t max_new_tokens = 28;    // an 8-letter expert answer is 25 characters + EOS
  nn::GPTConfig model = {};

  // The knobs that decide a run's numbers, for --resume to check that a saved run is this one's.
  std::string fingerprint() const {
    return "base_steps=" + std::to_string(base_steps) + " steps=" + std::to_string(steps) +
           " prompts=" + std::to_string(prompts_per_step) + " G=" + std::to_string(group_size) +
           " expert_rows=" + std::to_string(expert_rows) + " eval_every=" + std::to_string(eval_every) +
           " test_size=" + std::to_string(test_size) + " k=" + std::to_string(eval_k) +
           " lr=" + std::to_string(lr) + " max_new_tokens=" + std::to_string(max_new_tokens) +
           " model=" + std::to_string(model.n_layer) + "x" + std::to_string(model.n_embd) + "/" +
           std::to_string(model.n_head) + "/" + std::to_string(model.context_length);
  }
};

// quick: a smoke run (under 2 minutes); default: one seed, the six methods (about 9 minutes on
// 2 cores); full: three seeds, the six methods and the four ablations, 800 steps.
inline Preset make_preset(const std::string& name, int64_t vocab_size) {
  Preset p;
  p.name = name;
  p.model = {.vocab_size = vocab_size, .context_length = 64, .n_layer = 3, .n_head = 4, .n_embd = 128};
  if (name == "quick") {
    p.seeds = {1};
    p.base_steps = 300;
    p.steps = 30;
    p.prompts_per_step = 8;
    p.expert_rows = 16;
    p.eval_every = 10;
    p.test_size = 32;
    p.eval_k = 4;
    p.lr = 5e-4;
    p.model.n_layer = 2;
    p.model.n_embd = 64;
  } else if (name == "default") {
    p.seeds = {1};
  } else if (name == "full") {
    p.seeds = {1, 2, 3};
    p.ablations = true;
    p.steps = 800;
    p.prompts_per_step = 16;
  } else {
    fail("papers_in_miniature", "unknown preset '", name, "' (expected quick, default or full)");
  }
  return p;
}

// The problems of one seed: sorting to post-train on, reversal held out.
inline tasks::TaskSuite make_suite(uint64_t seed, int64_t test_size) {
  return tasks::TaskSuite({std::make_shared<tasks::Sort>()}, std::make_shared<tasks::Reverse>(),
                          {.seed = seed,
                           .test_size = test_size,
                           .ood_size = test_size,
                           .retention_size = test_size,
                           .train_on_ood = true,  // post-training prompts of lengths 3..8
                           .ood_split_name = "hard"});
}

// The base policy's corpus (tasks::PretrainOptions).
inline tasks::PretrainOptions base_corpus() {
  return {.wrong_fraction = 0.3, .retention_share = 0.25, .expert_fraction = 0.1};
}

// One post-training run: a method, or a method with one thing changed (an ablation).
struct RunSpec {
  std::string name;       // the table's row and the run's directory
  rl::Method method;
  std::optional<rl::MuSchedule> mu = std::nullopt;               // replaces the method's mu
  std::optional<rl::ObjectiveOptions> objective = std::nullopt;  // replaces the method's loss options
  std::string what;       // one line for the table's notes
  bool ablation = false;
};

inline std::vector<RunSpec> make_runs(const Preset& p) {
  std::vector<RunSpec> runs = {
      {.name = "SFT", .method = rl::Method::SFT, .what = "imitate the expert (mu = 1)"},
      {.name = "GRPO", .method = rl::Method::GRPO, .what = "on-policy RL only (mu = 0)"},
      {.name = "SFT-then-RL", .method = rl::Method::SFTThenRL, .what = "SFT for a third of the steps, then GRPO"},
      {.name = "LUFFY", .method = rl::Method::LUFFY, .what = "7 rollouts + 1 demonstration per group, p/(p+0.1)"},
      {.name = "CHORD-mu", .method = rl::Method::CHORDMu, .what = "GRPO + mu SFT, mu 0.9 -> 0.05 over half the steps"},
      {.name = "CHORD-phi", .method = rl::Method::CHORDPhi, .what = "GRPO + 0.1 SFT weighted by p(1-p)"},
  };
  if (!p.ablations) return runs;
  // CHORD-phi's recipe with the SFT-IS weight sg(p) instead of sg(p(1-p)).
  rl::ObjectiveOptions importance = rl::method_recipe(rl::Method::CHORDPhi, 1, 0, 1, p.max_new_tokens).objective;
  importance.sft_weight = rl::SftWeight::Importance;
  // LUFFY's recipe with -A p for the demonstrations' tokens instead of -A p/(p+0.1).
  rl::ObjectiveOptions unshaped = rl::method_recipe(rl::Method::LUFFY, 1, 0, 1, p.max_new_tokens).objective;
  unshaped.shaping = false;
  runs.push_back({.name = "SFT-IS", .method = rl::Method::CHORDPhi, .objective = importance,
                  .what = "CHORD-phi with the weight sg(p) instead of p(1-p)", .ablation = true});
  runs.push_back({.name = "CHORD-mu=0.5", .method = rl::Method::CHORDMu, .mu = rl::MuSchedule::constant(0.5),
                  .what = "CHORD-mu with mu fixed at 0.5", .ablation = true});
  runs.push_back({.name = "CHORD-mu=0.02", .method = rl::Method::CHORDMu, .mu = rl::MuSchedule::constant(0.02),
                  .what = "CHORD-mu with mu fixed at 0.02", .ablation = true});
  runs.push_back({.name = "LUFFY-unshaped", .method = rl::Method::LUFFY, .objective = unshaped,
                  .what = "LUFFY with -A p for the demonstration (no shaping)", .ablation = true});
  return runs;
}

}  // namespace miniature
