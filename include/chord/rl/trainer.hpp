#pragma once
// rl::Trainer: post-trains a GPT policy with SFT, GRPO, SFT-then-RL, CHORD-mu,
// CHORD-phi or LUFFY on an Environment. One step (docs/design.md, "The path of one
// CHORD step"):
//
//   queries -> sample::generate (KV cache; records lp_old) -> rewards -> group advantages
//   -> on-policy rows (+ LUFFY's off-policy demonstrations in each group) + expert rows
//   -> micro-batches: one GPT forward each -> token log-probs and entropy -> mixed_objective
//      (normalizers counted over the whole step first) -> backward, gradients accumulate
//   -> clip_grad_norm -> AdamW -> a metrics row -> (every eval_every steps) evaluation,
//      (every checkpoint_every steps) a checkpoint
//
// Reproducibility: every random draw of step s comes from generators seeded with (seed, s),
// so a run resumed from a checkpoint at step s continues exactly as the uninterrupted run
// would have (same thread count), bit for bit.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chord/core/grad_mode.hpp"
#include "chord/core/non_templates.hpp"
#include "chord/io/checkpoint_dir.hpp"
#include "chord/io/gpt_checkpoint.hpp"
#include "chord/io/json.hpp"
#include "chord/io/metrics.hpp"
#include "chord/io/progress.hpp"
#include "chord/io/safetensors.hpp"
#include "chord/io/tokenizer.hpp"
#include "chord/nn/gpt.hpp"
#include "chord/ops/token_logprobs.hpp"
#include "chord/optim/adamw.hpp"
#include "chord/optim/clip.hpp"
#include "chord/rl/advantages.hpp"
#include "chord/rl/environment.hpp"
#include "chord/rl/evaluate.hpp"
#include "chord/rl/methods.hpp"
#include "chord/rl/objective.hpp"
#include "chord/rl/rows.hpp"
#include "chord/sample/generate.hpp"

namespace chord::rl {

struct TrainerOptions {
  Method method = Method::GRPO;
  int64_t steps = 100;               // optimizer steps (the budget every method gets)
  int64_t prompts_per_step = 8;      // RL queries per step
  int64_t group_size = 8;            // G: responses per query (LUFFY: G_on + G_off)
  int64_t off_policy_per_group = 1;  // LUFFY's G_off demonstrations in each group
  int64_t expert_rows_per_step = 16; // SFT and CHORD: demonstrations per step
  int64_t sft_steps = 0;             // SFT-then-RL: steps of SFT before GRPO
  int64_t mu_decay_steps = 0;        // CHORD-mu's D; 0 = half the steps
  int64_t micro_batch_rows = 32;     // rows per forward/backward (gradients accumulate)

  double lr = 1e-3;                  // AdamW, constant (both papers)
  double weight_decay = 0.01;
  double max_grad_norm = 1.0;
  double temperature = 1.0;          // rollouts; the trainer's lp uses the same
  int64_t max_new_tokens = 48;       // response budget, EOS included
  double beta = 0.0;                 // KL to the initial policy (k3); > 0 keeps a frozen copy
  // Replaces the method's loss options, except beta: TrainerOptions::beta alone sets the KL term,
  // since it also decides whether a frozen reference is kept (an override's beta must be 0 or equal).
  std::optional<ObjectiveOptions> objective_override = std::nullopt;
  std::optional<MuSchedule> mu_override = std::nullopt;  // replaces the method's mu (ablations: constant mu)

  int64_t eval_every = 0;            // also before step 1 when > 0; 0 = only at the end
  EvalOptions eval = {};
  int64_t checkpoint_every = 0;      // 0 = only at the end (when out_dir is set)
  std::string out_dir = "";          // metrics.jsonl/.csv, checkpoints; "" = nothing written
  bool print_progress = true;
  int64_t progress_every = 10;
  std::string progress_label = "";   // the progress lines' [label]; "" = the method's name
  uint64_t seed = 1;

  void validate() const;
};

using MetricRow = std::vector<std::pair<std::string, double>>;

template <FloatingPoint T>
class Trainer {
 public:
  Trainer(nn::GPT<T>& policy, const io::Tokenizer& tokenizer, const Environment& env, TrainerOptions options)
      : policy_(policy), tokenizer_(tokenizer), env_(env), options_(std::move(options)),
        optimizer_(policy.named_parameters(), {.lr = options_.lr, .weight_decay = options_.weight_decay}) {
    options_.validate();
    check(tokenizer.vocab_size() <= policy.config().vocab_size, "Trainer", "the tokenizer has ",
          tokenizer.vocab_size(), " tokens, the model only ", policy.config().vocab_size);
    if (options_.beta > 0) {  // a frozen copy of the starting policy for the KL term
      reference_ = std::make_unique<nn::GPT<T>>(policy.config());
      reference_->to(policy.device());
      reference_->load_state_dict(policy.state_dict());
      reference_->eval();
    }
  }

  const TrainerOptions& options() const { return options_; }
  int64_t step() const { return step_; }
  const io::MetricsTable* metrics() const { return logger_ ? &logger_->table() : nullptr; }
  const std::vector<MetricRow>& history() const { return history_; }

  // Runs the remaining steps (all of them, or those after a resume), with evaluation,
  // progress lines, metrics and checkpoints as configured. Returns the final evaluation.
  std::vector<SplitScore> train() {
    open_logger();
    io::Progress progress(options_.steps, {}, step_);
    std::vector<SplitScore> scores;
    if (step_ == 0 && options_.eval_every > 0) {  // where the curves start
      scores = evaluate(policy_, tokenizer_, env_, options_.eval);
      record(eval_metrics(scores));
    }
    while (step_ < options_.steps) {
      MetricRow row = train_step();
      const bool last = step_ == options_.steps;
      if (last || (options_.eval_every > 0 && step_ % options_.eval_every == 0)) {
        scores = evaluate(policy_, tokenizer_, env_, options_.eval);
        for (auto& m : eval_metrics(scores)) row.push_back(m);
      }
      record(row);
      if (options_.print_progress && (step_ % options_.progress_every == 0 || last)) {
        std::printf("[%s] %s\n", progress_label().c_str(), progress.line(step_, progress_fields(row), -1).c_str());
        std::fflush(stdout);
      }
      if (!options_.out_dir.empty() &&
          (last || (options_.checkpoint_every > 0 && step_ % options_.checkpoint_every == 0)))
        save_checkpoint(options_.out_dir + "/checkpoint");
    }
    if (logger_) logger_->flush();
    return scores;
  }

  // One optimizer step; returns its metrics (named in docs/algorithms.md section 6).
  // Exactly accumulate_gradients() followed by apply_gradients().
  MetricRow train_step() {
    accumulate_gradients();
    return apply_gradients();
  }

  // The first half of a step, public so that tests can read what a step computes before the
  // optimizer touches it: advances step(), builds the step's rows (rollouts, rewards, group
  // advantages, expert rows; see rows()) and leaves the gradient of the step's whole loss, summed
  // over its micro-batches, in the policy's parameters' grad(): nothing clipped, no weight changed.
  // Returns the metrics known so far (rollout metrics, step, the objective's metrics, mu).
  // apply_gradients() must follow before the next step.
  MetricRow accumulate_gradients() {
    check(!pending_, "Trainer::accumulate_gradients", "step ", step_,
          "'s gradients are accumulated but not applied: call apply_gradients() first");
    ++step_;
    PendingStep pending{.row = {}, .t0 = std::chrono::steady_clock::now(), .t1 = {}};
    const int64_t decay = options_.mu_decay_steps > 0 ? options_.mu_decay_steps : std::max<int64_t>(1, options_.steps / 2);
    const Recipe recipe = method_recipe(options_.method, step_, options_.sft_steps, decay, options_.max_new_tokens);
    const ObjectiveOptions objective = with_beta(options_.objective_override.value_or(recipe.objective));
    const double mu = options_.mu_override.value_or(recipe.mu).mu(step_);
    Generator gen(step_seed(0));

    MetricRow& row = pending.row;
    std::vector<Row>& rows = rows_;
    rows.clear();
    if (recipe.on_policy) add_rollouts(recipe, gen, rows, row);
    pending.t1 = std::chrono::steady_clock::now();
    if (recipe.expert_rows) add_expert_rows(gen, rows);

    // Micro-batches, and the step's normalizers over all of them, before any loss.
    std::vector<PackedRows<T>> micro;
    StepNormalizer normalizer;
    for (std::size_t begin = 0; begin < rows.size(); begin += options_.micro_batch_rows) {
      const std::size_t end = std::min(rows.size(), begin + static_cast<std::size_t>(options_.micro_batch_rows));
      micro.push_back(pack_rows<T>(std::span<const Row>(rows).subspan(begin, end - begin), tokenizer_.pad_id(),
                                   policy_.config().context_length));
      normalizer.add(micro.back().mask, micro.back().kinds);
    }
    ObjectiveMetrics metrics;
    policy_.train();
    optimizer_.zero_grad();
    for (const PackedRows<T>& mb : micro) {
      const Tensor<T> logits = policy_.forward(mb.inputs);  // [n, S, V]
      const Tensor<int64_t> targets = mb.targets.to(logits.device());
      auto [lp, entropy] = token_log_probs_and_entropy(logits, targets, options_.temperature);
      ObjectiveBatch<T> batch{.log_probs = lp, .old_log_probs = mb.old_log_probs, .entropy = entropy,
                              .mask = mb.mask, .advantages = mb.advantages, .kinds = mb.kinds};
      if (reference_) {
        NoGradGuard no_grad;
        batch.ref_log_probs = token_log_probs(reference_->forward(mb.inputs), targets, options_.temperature);
      }
      auto result = mixed_objective(batch, mu, normalizer, objective);
      result.loss.backward();
      metrics += result.metrics;
    }

    row.emplace_back("step", static_cast<double>(step_));
    for (auto& m : metrics.named()) row.push_back(m);
    row.emplace_back("mu", mu);
    pending_ = std::move(pending);
    return pending_->row;
  }

  // The second half of a step: clips the gradient accumulate_gradients() left, takes the AdamW
  // step, zeroes the gradients; returns the step's metrics.
  MetricRow apply_gradients() {
    check(pending_.has_value(), "Trainer::apply_gradients", "no gradients to apply: call accumulate_gradients() first");
    const double grad_norm = optim::clip_grad_norm(policy_.parameters(), options_.max_grad_norm);
    optimizer_.step();
    optimizer_.zero_grad();
    const auto t2 = std::chrono::steady_clock::now();

    MetricRow row = std::move(pending_->row);
    row.emplace_back("grad_norm", grad_norm);
    row.emplace_back("lr", optimizer_.lr());
    row.emplace_back("rows", static_cast<double>(rows_.size()));
    row.emplace_back("timing/rollout_s", std::chrono::duration<double>(pending_->t1 - pending_->t0).count());
    row.emplace_back("timing/train_s", std::chrono::duration<double>(t2 - pending_->t1).count());
    pending_.reset();
    return row;
  }

  // The rows of the latest step, as accumulate_gradients() built them: each prompt's group in
  // turn (its on-policy samples, then LUFFY's off-policy demonstrations) with rewards and
  // advantages, then the expert rows. For tests and inspection; empty before the first step.
  const std::vector<Row>& rows() const { return rows_; }

  // Writes a checkpoint directory, published whole or not at all (io/checkpoint_dir.hpp): the
  // policy (model.safetensors + its tokenizer and config), the optimizer's moments and step count
  // (optimizer.safetensors), the frozen reference when beta > 0 (reference.safetensors), the
  // trainer's state (trainer.json), and a manifest of them all. The previous checkpoint at `dir`
  // stays in place until the new one is complete.
  void save_checkpoint(const std::string& dir) const {
    io::write_checkpoint_directory(
        dir,
        [&](const std::string& tmp) {
          io::save_gpt(tmp + "/model.safetensors", policy_, &tokenizer_);
          io::NamedTensorList<T> state;
          const auto& params = optimizer_.parameters();
          for (std::size_t i = 0; i < params.size(); ++i) {
            state.emplace_back("exp_avg." + params[i].first, optimizer_.exp_avg()[i].to(Device::cpu()));
            state.emplace_back("exp_avg_sq." + params[i].first, optimizer_.exp_avg_sq()[i].to(Device::cpu()));
          }
          io::save_safetensors(tmp + "/optimizer.safetensors", state,
                               {{"step_count", std::to_string(optimizer_.step_count())}});
          if (reference_) io::save_gpt(tmp + "/reference.safetensors", *reference_);
          const io::Json info(io::Json::Object{{"step", io::Json(step_)},
                                               {"method", io::Json(to_string(options_.method))},
                                               {"seed", io::Json(static_cast<int64_t>(options_.seed))}});
          io::write_text_file_atomically(tmp + "/trainer.json", info.dump() + "\n");
        },
        {{"step", io::Json(step_)}});
  }

  // Continues from a checkpoint written by save_checkpoint (same method, seed and model shape):
  // weights, optimizer moments, the reference (beta > 0) and the step; train() then runs the
  // remaining steps. Everything is read and checked before anything changes: a checkpoint whose
  // files disagree with its manifest (a kill during a save), whose metadata is malformed or
  // inconsistent, or whose weights are not finite is refused with an error, and the trainer stays
  // as it was. When `dir` is incomplete, the previous complete checkpoint (`dir.previous`) is used.
  void resume(const std::string& dir) {
    const char* op = "Trainer::resume";
    const io::CompleteCheckpoint found = io::find_complete_checkpoint(dir);
    if (!found.note.empty())
      std::fprintf(stderr, "Trainer::resume: %s; resuming from '%s'\n", found.note.c_str(), found.dir.c_str());
    const std::string& from = found.dir;
    const std::string info_path = from + "/trainer.json";

    // trainer.json: every field present, of its type, in range; errors name the file and the key.
    io::Json info;
    try {
      info = io::Json::parse(io::read_file(info_path, op));
    } catch (const Error& e) {
      fail(op, "'", info_path, "' is not valid JSON: ", e.what());
    }
    const auto field = [&](const char* key) -> const io::Json& {
      const io::Json* v = info.is_object() ? info.find(key) : nullptr;
      check(v != nullptr, op, "'", info_path, "' has no \"", key, "\"");
      return *v;
    };
    const auto integer = [&](const char* key) {
      const io::Json& v = field(key);
      check(v.is_number() && std::floor(v.as_number()) == v.as_number() && std::abs(v.as_number()) < 9.0e15, op,
            "'", info_path, "': \"", key, "\" must be an integer, got ", v.dump());
      return static_cast<int64_t>(v.as_number());
    };
    const int64_t step = integer("step");
    const io::Json& method = field("method");
    check(method.is_string(), op, "'", info_path, "': \"method\" must be a string, got ", method.dump());
    check(method.as_string() == to_string(options_.method), op, "the checkpoint in '", from, "' was written by method ",
          method.as_string(), ", this trainer runs ", to_string(options_.method));
    check(integer("seed") == static_cast<int64_t>(options_.seed), op, "the checkpoint's seed ", integer("seed"),
          " ('", info_path, "') differs from this trainer's ", options_.seed);
    check(step >= 0 && step <= options_.steps, op, "'", info_path, "': the checkpoint is at step ", step,
          ", outside [0, ", options_.steps, "]");
    const io::Json* manifest_step = found.manifest.find("step");
    check(manifest_step && manifest_step->is_number() && manifest_step->as_number() == static_cast<double>(step), op,
          "'", info_path, "' says step ", step, ", but the manifest of '", from, "' says ",
          manifest_step ? manifest_step->dump() : std::string("nothing"));

    // optimizer.safetensors: the moments of every parameter, and a step count that agrees.
    const std::string optimizer_path = from + "/optimizer.safetensors";
    const io::SafetensorsFile state = io::SafetensorsFile::read(optimizer_path);
    const auto& params = optimizer_.parameters();
    std::vector<std::pair<Tensor<T>, Tensor<T>>> moments;  // read all before changing anything
    for (std::size_t i = 0; i < params.size(); ++i) {
      Tensor<T> m = state.tensor<T>("exp_avg." + params[i].first), v = state.tensor<T>("exp_avg_sq." + params[i].first);
      check(m.shape() == params[i].second.shape() && v.shape() == params[i].second.shape(), op, "optimizer state of '",
            params[i].first, "' in '", optimizer_path, "' has shape ", m.shape(), ", the parameter ",
            params[i].second.shape());
      // NaN or inf moments would silently poison the training that follows.
      io::check_finite_values(m, op, optimizer_path, "exp_avg." + params[i].first, "not finite");
      io::check_finite_values(v, op, optimizer_path, "exp_avg_sq." + params[i].first, "not finite");
      moments.emplace_back(m, v);
    }
    const auto count_it = state.metadata().find("step_count");
    check(count_it != state.metadata().end(), op, "'", optimizer_path, "' has no step_count");
    const std::string& count_text = count_it->second;
    check(!count_text.empty() && count_text.size() < 16 && count_text.find_first_not_of("0123456789") == std::string::npos,
          op, "'", optimizer_path, "': step_count must be a non-negative integer, got '", count_text, "'");
    const int64_t step_count = std::stoll(count_text);
    check(step_count == step, op, "'", optimizer_path, "' has step_count ", step_count, ", but '", info_path,
          "' says step ", step, ": the files are from different steps");

    // The weights: read into copies of the models, checked finite, and only then swapped in.
    nn::GPT<T> policy_copy(policy_.config());
    io::load_gpt_weights(from + "/model.safetensors", policy_copy, {.check_finite = true});
    std::unique_ptr<nn::GPT<T>> reference_copy;
    if (reference_) {
      const std::string reference_path = from + "/reference.safetensors";
      check(std::filesystem::exists(reference_path), op, "this trainer has beta = ", options_.beta,
            " but the checkpoint in '", from, "' holds no reference policy (reference.safetensors)");
      reference_copy = std::make_unique<nn::GPT<T>>(policy_.config());
      io::load_gpt_weights(reference_path, *reference_copy, {.check_finite = true});
    }

    NoGradGuard no_grad;
    policy_.load_state_dict(policy_copy.state_dict());
    if (reference_) reference_->load_state_dict(reference_copy->state_dict());
    for (std::size_t i = 0; i < params.size(); ++i) {
      Tensor<T> m = optimizer_.exp_avg()[i], v = optimizer_.exp_avg_sq()[i];
      m.copy_(moments[i].first);
      v.copy_(moments[i].second);
    }
    optimizer_.set_step_count(step_count);
    step_ = step;
    resumed_ = true;
  }

 private:
  ObjectiveOptions with_beta(ObjectiveOptions o) const {
    o.beta = options_.beta;
    return o;
  }
  uint64_t step_seed(uint64_t stream) const {
    return sample::detail::mix64(options_.seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(step_) * 0x632be59bd9b4e019ULL + stream);
  }
  std::vector<int64_t> prompt_ids(const Query& q) const { return tokenizer_.encode(q.prompt, /*add_bos=*/true); }
  std::vector<int64_t> response_ids(const std::string& response) const {
    std::vector<int64_t> ids = tokenizer_.encode(response);
    ids.push_back(tokenizer_.eos_id());
    return ids;
  }

  // prompts_per_step queries x group: sampled rollouts (OnPolicy) and, for LUFFY, demonstrations
  // (OffPolicy) in the same group; rewards, then advantages over each whole group.
  void add_rollouts(const Recipe& recipe, Generator& gen, std::vector<Row>& rows, MetricRow& metrics) {
    const int64_t G = options_.group_size;
    const int64_t g_off = recipe.off_policy_in_group ? options_.off_policy_per_group : 0, g_on = G - g_off;
    const std::vector<Query> queries = env_.sample_queries(options_.prompts_per_step, gen);
    std::vector<std::vector<int64_t>> prompts;
    for (const Query& q : queries) prompts.push_back(prompt_ids(q));
    const sample::SampleOptions sampling{.max_new_tokens = options_.max_new_tokens,
                                         .temperature = options_.temperature,
                                         .eos_id = tokenizer_.eos_id(),
                                         .seed = step_seed(1),
                                         .pad_id = tokenizer_.pad_id()};
    const auto result = sample::generate(policy_, prompts, sampling, g_on);

    std::vector<double> rewards;
    double on_reward = 0, on_correct = 0, length = 0, truncated = 0;
    const std::size_t first = rows.size();
    for (std::size_t p = 0; p < queries.size(); ++p) {
      for (int64_t s = 0; s < g_on; ++s) {
        const auto& c = result.completions[p * g_on + s];
        Row row{.prompt = prompts[p], .response = c.tokens, .kind = RowKind::OnPolicy};
        row.old_log_probs.assign(c.log_probs.begin(), c.log_probs.end());
        row.reward = env_.reward(queries[p], response_text(c, tokenizer_));
        on_reward += row.reward;
        on_correct += row.reward >= 1.0;
        length += static_cast<double>(c.tokens.size());
        truncated += c.finish_reason == sample::FinishReason::Length;
        rewards.push_back(row.reward);
        rows.push_back(std::move(row));
      }
      for (int64_t s = 0; s < g_off; ++s) {
        const std::string demo = env_.demonstrate(queries[p]);
        Row row{.prompt = prompts[p], .response = response_ids(demo), .kind = RowKind::OffPolicy};
        row.reward = env_.reward(queries[p], demo);
        rewards.push_back(row.reward);
        rows.push_back(std::move(row));
      }
    }
    const Advantages adv = group_advantages(rewards, G, recipe.advantage);
    for (std::size_t i = 0; i < rewards.size(); ++i) rows[first + i].advantage = adv.values[i];

    const double n_on = static_cast<double>(queries.size() * g_on);
    double var = 0;
    for (std::size_t i = first; i < rows.size(); ++i)
      if (rows[i].kind == RowKind::OnPolicy) var += (rows[i].reward - on_reward / n_on) * (rows[i].reward - on_reward / n_on);
    metrics.emplace_back("reward/mean", on_reward / n_on);
    metrics.emplace_back("reward/std", n_on > 1 ? std::sqrt(var / (n_on - 1)) : 0.0);
    metrics.emplace_back("reward/accuracy", on_correct / n_on);
    metrics.emplace_back("frac_reward_zero_std", adv.frac_reward_zero_std);
    metrics.emplace_back("response_length/mean", length / n_on);
    metrics.emplace_back("response_length/clip_ratio", truncated / n_on);
  }

  void add_expert_rows(Generator& gen, std::vector<Row>& rows) const {
    for (const Demonstration& d : env_.sample_demonstrations(options_.expert_rows_per_step, gen))
      rows.push_back(Row{.prompt = prompt_ids(d.query), .response = response_ids(d.response), .kind = RowKind::Expert});
  }

  void open_logger() {
    if (options_.out_dir.empty() || logger_) return;
    io::MetricsOptions o;
    if (resumed_) o.resume_step = step_;
    logger_.emplace(options_.out_dir + "/metrics.jsonl", o);
  }
  void record(const MetricRow& row) {
    history_.push_back(row);
    if (logger_) {
      MetricRow values;
      for (const auto& [k, v] : row)
        if (k != "step") values.emplace_back(k, v);
      logger_->log(step_, values);
    }
  }
  // "[CHORD-phi]", or "[SFT-then-RL: SFT phase]" while SFT-then-RL imitates, or the caller's label.
  std::string progress_label() const {
    if (!options_.progress_label.empty()) return options_.progress_label;
    std::string label = to_string(options_.method);
    if (options_.method == Method::SFTThenRL) label += step_ <= options_.sft_steps ? ": SFT phase" : ": RL phase";
    return label;
  }

  // What a progress line shows: the reward only where there are rollouts, mu only where it
  // weighs two terms; every value rounded to 3 decimals for reading (a loss of 1.8e-8 is 0 at
  // the precision that matters; the metrics files keep the exact values).
  MetricRow progress_fields(const MetricRow& row) const {
    const bool mixed = options_.method == Method::CHORDMu || options_.method == Method::CHORDPhi;
    MetricRow out;
    for (const char* name : {"reward/mean", "loss", "entropy", "mu"})
      for (const auto& [k, v] : row)
        if (k == name && (k != std::string("mu") || mixed)) out.emplace_back(k, std::round(v * 1000) / 1000 + 0.0);
    return out;
  }

  nn::GPT<T>& policy_;
  const io::Tokenizer& tokenizer_;
  const Environment& env_;
  TrainerOptions options_;
  optim::AdamW<T> optimizer_;
  std::unique_ptr<nn::GPT<T>> reference_;
  std::optional<io::MetricsLogger> logger_;
  std::vector<MetricRow> history_;
  std::vector<Row> rows_;  // the latest step's (rows())
  struct PendingStep {     // what accumulate_gradients() hands to apply_gradients()
    MetricRow row;
    std::chrono::steady_clock::time_point t0, t1;
  };
  std::optional<PendingStep> pending_;
  int64_t step_ = 0;
  bool resumed_ = false;
};

}  // namespace chord::rl

#if CHORD_DEFINES_NON_TEMPLATES

namespace chord::rl {

CHORD_INLINE void TrainerOptions::validate() const {
  const char* op = "TrainerOptions";
  check(steps >= 1, op, "steps must be >= 1, got ", steps);
  check(prompts_per_step >= 1, op, "prompts_per_step must be >= 1, got ", prompts_per_step);
  check(group_size >= 2, op, "group_size must be >= 2 (group advantages need 2 responses), got ", group_size);
  check(method != Method::LUFFY || (off_policy_per_group >= 1 && off_policy_per_group < group_size), op,
        "LUFFY needs 1 <= off_policy_per_group < group_size, got ", off_policy_per_group, " of ", group_size);
  check(expert_rows_per_step >= 1, op, "expert_rows_per_step must be >= 1, got ", expert_rows_per_step);
  check(sft_steps >= 0 && sft_steps <= steps, op, "SFT-then-RL needs 0 <= sft_steps <= steps, got ", sft_steps,
        " of ", steps);
  check(mu_decay_steps >= 0, op, "mu_decay_steps must be >= 0, got ", mu_decay_steps);
  check(micro_batch_rows >= 1, op, "micro_batch_rows must be >= 1, got ", micro_batch_rows);
  check(lr >= 0 && weight_decay >= 0 && max_grad_norm > 0, op, "need lr >= 0, weight_decay >= 0, max_grad_norm > 0");
  check(temperature > 0, op, "temperature must be > 0 for on-policy sampling, got ", temperature);
  check(max_new_tokens >= 1, op, "max_new_tokens must be >= 1, got ", max_new_tokens);
  check(beta >= 0, op, "beta must be >= 0, got ", beta);
  check(eval_every >= 0 && checkpoint_every >= 0 && progress_every >= 1, op,
        "eval_every and checkpoint_every must be >= 0, progress_every >= 1");
  eval.validate();
  if (objective_override) {
    objective_override->validate();
    check(objective_override->beta == 0.0 || objective_override->beta == beta, op,
          "objective_override.beta = ", objective_override->beta, " but beta = ", beta,
          ": set the KL coefficient in TrainerOptions::beta (it decides whether a reference model is kept)");
  }
  if (mu_override) mu_override->validate();
}

}  // namespace chord::rl
#endif  // CHORD_DEFINES_NON_TEMPLATES
