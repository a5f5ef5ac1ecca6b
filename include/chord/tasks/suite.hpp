#pragma once
// TaskSuite: every problem of one experiment, from one seed.
//
//   auto suite = chord::tasks::TaskSuite::standard({.seed = 1});  // addition + sort, reverse held out
//   chord::Generator gen = suite.train_generator();
//   std::vector<Problem> prompts = suite.train_batch(16, gen);    // ID difficulties, never a test prompt
//   double r = suite.reward(prompts[0], response);                // 1 / 0 / -0.1
//   std::string demo = suite.expert_solution(prompts[0]);         // an expert row for SFT / CHORD / LUFFY
//   for (const Split& split : suite.splits()) ...                 // "id", "ood", "retention"
//   auto tok = chord::io::Tokenizer::char_level(suite.charset());
//
// What it holds:
// - post-training families (train_tasks) and one held-out skill (retention_task), never sampled by
//   the training stream;
// - three fixed test splits, drawn once at construction: "id" (test_size problems per post-training
//   family at its ID difficulties), "ood" (ood_size per family at its harder OOD difficulties) and
//   "retention" (retention_size problems of the held-out skill at its ID difficulties; the OOD split's
//   name is SuiteOptions::ood_split_name). Difficulties
//   cycle through each range, so every difficulty gets its share. No prompt occurs twice in or across
//   the splits;
// - a training stream (train_batch / sample_train): a family uniformly, then a difficulty uniformly
//   in its ID range (in its ID and OOD ranges with SuiteOptions::train_on_ood), then a problem;
//   any prompt of a test split is rejected and redrawn, so the splits never overlap training;
// - a pretraining corpus for the base policy (pretrain_corpus), see PretrainOptions.
//
// Determinism: each use draws from its own generator, seeded from (seed, use) (seed separation), so
// the splits do not depend on how much training data is drawn, and the same seed gives the same
// splits, stream and corpus on every machine; different seeds give different ones.

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "chord/core/generator.hpp"
#include "chord/core/non_templates.hpp"
// The standard suite's tasks, which a program holding a suite may name, in either mode.
#include "chord/tasks/addition.hpp"
#include "chord/tasks/reverse.hpp"
#include "chord/tasks/sort.hpp"
#include "chord/tasks/task.hpp"

namespace chord::tasks {

struct SuiteOptions {
  uint64_t seed = 0;
  int64_t test_size = 100;       // "id" split: problems per post-training family
  int64_t ood_size = 100;        // "ood" split: problems per post-training family
  int64_t retention_size = 100;  // "retention" split: problems of the held-out skill
  // The post-training stream's difficulties: false = each family's ID range (the default); true =
  // its ID and OOD ranges together (uniform over the difficulties of both), so that the OOD split
  // is a hard slice of the training distribution (the base policy's corpus stays on the ID range).
  bool train_on_ood = false;
  // The OOD split's name in splits() (and so in metric names: eval/<name>/pass@1). With
  // train_on_ood the split is no longer out of distribution but a hard slice of it: "hard".
  std::string ood_split_name = "ood";
};

// The base policy's pretraining data. Partial competence comes from near-miss answers: a fraction
// `wrong_fraction` of the post-training families' examples carry a plausible wrong answer
// (Task::wrong_answer: a dropped or spurious carry, a wrong letter), still well-formed. The policy
// so learns the prompt format and the base answer style everywhere (rewards are not all zero: RL
// has a signal), but puts real probability on wrong answers (pass@1 below pass@k: room for RL and
// for the expert's scratchpad). We prefer this to training only on easier difficulties, which leaves
// a character-level model near 0 on the unseen ones (no reward signal at all). OOD difficulties are
// never in the corpus. The held-out skill is always answered correctly: the base is good at it, so a
// drop after post-training is forgetting. No prompt of a test split is in the corpus.
struct PretrainOptions {
  double wrong_fraction = 0.3;    // share of post-training-family examples with a wrong answer
  double retention_share = 0.25;  // share of the corpus from the held-out skill
  // Share of post-training-family examples written in the EXPERT style (always correct), drawn
  // before the near-miss choice: a base policy that has seen the expert's style a little, as a
  // pretrained model has seen some reasoning. 0 (the default) draws nothing extra.
  double expert_fraction = 0.0;
};

// A prompt with a response (no EOS: the model layer appends it).
struct Example {
  Problem problem;
  std::string response;
  std::string text() const { return problem.prompt + response; }
};

// A named evaluation split.
struct Split {
  std::string name;  // "id", "ood" or "retention"
  std::vector<Problem> problems;
};

class TaskSuite {
 public:
  using TaskPtr = std::shared_ptr<const Task>;

  TaskSuite(std::vector<TaskPtr> train_tasks, TaskPtr retention_task, SuiteOptions options = {});

  // Addition and sort for post-training, reverse held out.
  static TaskSuite standard(SuiteOptions options = {});

  const SuiteOptions& options() const { return options_; }
  const std::vector<TaskPtr>& train_tasks() const { return train_tasks_; }
  const Task& retention_task() const { return *retention_task_; }

  // The family named `family` (a post-training one or the held-out one).
  const Task& task(std::string_view family) const;

  // ---- the fixed test splits ----
  const std::vector<Problem>& test_id() const { return test_id_; }
  const std::vector<Problem>& test_ood() const { return test_ood_; }
  const std::vector<Problem>& retention() const { return retention_; }
  std::vector<Split> splits() const;

  // Whether `prompt` belongs to a test split (and so never to training or pretraining data).
  bool is_held_out(std::string_view prompt) const { return held_out_.find(prompt) != held_out_.end(); }

  // ---- the training stream ----
  // The generator the training stream starts from (seeded from the suite's seed).
  Generator train_generator() const { return Generator(stream_seed(kStreamTrain)); }

  // One training problem: a post-training family, an ID difficulty, never a held-out prompt.
  // With SuiteOptions::train_on_ood, the difficulty is uniform over the ID and OOD ranges together.
  Problem sample_train(Generator& gen) const;

  std::vector<Problem> train_batch(int64_t count, Generator& gen) const;

  // ---- the base policy's pretraining data ----
  Generator pretrain_generator() const { return Generator(stream_seed(kStreamPretrain)); }

  // `count` base-style examples (see PretrainOptions).
  std::vector<Example> pretrain_corpus(int64_t count, Generator& gen, const PretrainOptions& options = {}) const;

  // ---- solutions and the verifier, dispatched on problem.family ----
  std::string base_solution(const Problem& problem) const { return task(problem.family).base_solution(problem); }
  std::string expert_solution(const Problem& problem) const { return task(problem.family).expert_solution(problem); }
  double reward(const Problem& problem, std::string_view response) const {
    return task(problem.family).reward(problem, response);
  }

  // Every character any of the suite's tasks can put in a prompt or a response (sorted, distinct):
  // the alphabet of a character-level tokenizer (io::Tokenizer::char_level(suite.charset())).
  std::string charset() const;

  // The longest prompt + response (characters, no BOS/EOS) any split, the training stream or the
  // pretraining corpus can produce: the context a model needs is this plus its special tokens.
  int64_t max_text_length() const;

 private:
  // The uses that draw random problems, each from its own generator.
  static constexpr uint64_t kStreamTestId = 1, kStreamTestOod = 2, kStreamRetention = 3, kStreamTrain = 4,
                            kStreamPretrain = 5;
  // How many draws may in a row hit a prompt already taken before the space counts as exhausted.
  static constexpr int kMaxAttempts = 1000;

  uint64_t stream_seed(uint64_t stream) const;

  // `size` new distinct problems of `task`, difficulties cycling through `range`, appended to `out`
  // and to the held-out set.
  void draw_split(const Task& task, DifficultyRange range, int64_t size, Generator& gen, const char* split,
                  std::vector<Problem>& out);

  // A pretraining problem: a post-training family at an ID difficulty (whatever train_on_ood says).
  Problem sample_pretrain(Generator& gen) const;

  // A problem of `task` at a uniform ID difficulty (with_ood: uniform over the ID and OOD
  // difficulties together) that is not held out.
  Problem draw_fresh(const Task& task, Generator& gen, bool with_ood = false) const;

  std::vector<TaskPtr> train_tasks_;
  TaskPtr retention_task_;
  SuiteOptions options_;
  std::vector<Problem> test_id_, test_ood_, retention_;
  std::set<std::string, std::less<>> held_out_;  // every prompt of every split
};

}  // namespace chord::tasks

#if CHORD_DEFINES_NON_TEMPLATES
#include <algorithm>
#include <utility>

#include "chord/core/error.hpp"

namespace chord::tasks {

CHORD_INLINE TaskSuite::TaskSuite(std::vector<TaskPtr> train_tasks, TaskPtr retention_task, SuiteOptions options)
    : train_tasks_(std::move(train_tasks)), retention_task_(std::move(retention_task)), options_(options) {
  check(!train_tasks_.empty(), "TaskSuite", "needs at least one post-training task family");
  check(retention_task_ != nullptr, "TaskSuite", "needs a held-out (retention) task");
  for (std::size_t i = 0; i < train_tasks_.size(); ++i) {
    check(train_tasks_[i] != nullptr, "TaskSuite", "post-training task ", i, " is null");
    for (std::size_t j = 0; j < i; ++j)
      check(train_tasks_[j]->name() != train_tasks_[i]->name(), "TaskSuite", "task family '",
            train_tasks_[i]->name(), "' is given twice");
    check(train_tasks_[i]->name() != retention_task_->name(), "TaskSuite", "task family '",
          retention_task_->name(), "' cannot be both a post-training task and the held-out one");
  }
  check(options_.test_size >= 1, "TaskSuite", "test_size ", options_.test_size, " must be at least 1");
  check(options_.ood_size >= 1, "TaskSuite", "ood_size ", options_.ood_size, " must be at least 1");
  check(options_.retention_size >= 1, "TaskSuite", "retention_size ", options_.retention_size,
        " must be at least 1");
  check(!options_.ood_split_name.empty() && options_.ood_split_name != "id" &&
            options_.ood_split_name != "retention",
        "TaskSuite", "ood_split_name '", options_.ood_split_name,
        "' must be non-empty and differ from the other splits' names (id, retention)");

  Generator id_gen(stream_seed(kStreamTestId));
  Generator ood_gen(stream_seed(kStreamTestOod));
  Generator retention_gen(stream_seed(kStreamRetention));
  for (const TaskPtr& task : train_tasks_)
    draw_split(*task, task->id_difficulties(), options_.test_size, id_gen, "id", test_id_);
  for (const TaskPtr& task : train_tasks_)
    draw_split(*task, task->ood_difficulties(), options_.ood_size, ood_gen, options_.ood_split_name.c_str(),
               test_ood_);
  draw_split(*retention_task_, retention_task_->id_difficulties(), options_.retention_size, retention_gen,
             "retention", retention_);
}

CHORD_INLINE TaskSuite TaskSuite::standard(SuiteOptions options) {
  return TaskSuite({std::make_shared<Addition>(), std::make_shared<Sort>()}, std::make_shared<Reverse>(),
                   options);
}

CHORD_INLINE const Task& TaskSuite::task(std::string_view family) const {
  for (const TaskPtr& t : train_tasks_)
    if (t->name() == family) return *t;
  if (retention_task_->name() == family) return *retention_task_;
  fail("TaskSuite", "no task family named '", family, "'");
}

CHORD_INLINE std::vector<Split> TaskSuite::splits() const {
  return {{"id", test_id_}, {options_.ood_split_name, test_ood_}, {"retention", retention_}};
}

CHORD_INLINE Problem TaskSuite::sample_train(Generator& gen) const {
  const Task& family = *train_tasks_[static_cast<std::size_t>(
      gen.randint(0, static_cast<int64_t>(train_tasks_.size())))];
  return draw_fresh(family, gen, options_.train_on_ood);
}

CHORD_INLINE std::vector<Problem> TaskSuite::train_batch(int64_t count, Generator& gen) const {
  check(count >= 0, "TaskSuite::train_batch", "count ", count, " is negative");
  std::vector<Problem> batch;
  batch.reserve(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) batch.push_back(sample_train(gen));
  return batch;
}

CHORD_INLINE std::vector<Example> TaskSuite::pretrain_corpus(int64_t count, Generator& gen,
                                                          const PretrainOptions& options) const {
  check(count >= 0, "TaskSuite::pretrain_corpus", "count ", count, " is negative");
  check(options.wrong_fraction >= 0.0 && options.wrong_fraction <= 1.0, "TaskSuite::pretrain_corpus",
        "wrong_fraction ", options.wrong_fraction, " is not in [0, 1]");
  check(options.retention_share >= 0.0 && options.retention_share <= 1.0, "TaskSuite::pretrain_corpus",
        "retention_share ", options.retention_share, " is not in [0, 1]");
  check(options.expert_fraction >= 0.0 && options.expert_fraction <= 1.0, "TaskSuite::pretrain_corpus",
        "expert_fraction ", options.expert_fraction, " is not in [0, 1]");
  std::vector<Example> corpus;
  corpus.reserve(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    if (gen.uniform() < options.retention_share) {
      Problem problem = draw_fresh(*retention_task_, gen);
      std::string response = retention_task_->base_solution(problem);
      corpus.push_back({std::move(problem), std::move(response)});
      continue;
    }
    Problem problem = sample_pretrain(gen);
    const Task& family = task(problem.family);
    if (options.expert_fraction > 0.0 && gen.uniform() < options.expert_fraction) {
      std::string response = family.expert_solution(problem);
      corpus.push_back({std::move(problem), std::move(response)});
      continue;
    }
    std::string response = gen.uniform() < options.wrong_fraction
                               ? Task::base_response(family.wrong_answer(problem, gen))
                               : family.base_solution(problem);
    corpus.push_back({std::move(problem), std::move(response)});
  }
  return corpus;
}

CHORD_INLINE std::string TaskSuite::charset() const {
  std::string chars = retention_task_->alphabet();
  for (const TaskPtr& t : train_tasks_) chars += t->alphabet();
  std::sort(chars.begin(), chars.end());
  chars.erase(std::unique(chars.begin(), chars.end()), chars.end());
  return chars;
}

CHORD_INLINE int64_t TaskSuite::max_text_length() const {
  int64_t longest = 0;
  const auto over = [&longest](const Task& t, DifficultyRange r) {
    for (int d = r.lo; d <= r.hi; ++d) longest = std::max(longest, t.max_text_length(d));
  };
  for (const TaskPtr& t : train_tasks_) {
    over(*t, t->id_difficulties());
    over(*t, t->ood_difficulties());
  }
  over(*retention_task_, retention_task_->id_difficulties());
  return longest;
}

CHORD_INLINE uint64_t TaskSuite::stream_seed(uint64_t stream) const {
  Generator mixer(options_.seed ^ (stream * 0x9e3779b97f4a7c15ULL));
  return mixer.next_u64();
}

CHORD_INLINE void TaskSuite::draw_split(const Task& task, DifficultyRange range, int64_t size, Generator& gen,
                                      const char* split, std::vector<Problem>& out) {
  for (int64_t i = 0; i < size; ++i) {
    const int difficulty = range.lo + static_cast<int>(i % range.count());
    for (int attempt = 1;; ++attempt) {
      Problem problem = task.generate(gen, difficulty);
      if (held_out_.insert(problem.prompt).second) {
        out.push_back(std::move(problem));
        break;
      }
      check(attempt < kMaxAttempts, "TaskSuite", "could not draw ", size, " distinct '", task.name(),
            "' problems for the ", split, " split: difficulty ", difficulty, " has too few distinct prompts ",
            "(", kMaxAttempts, " draws in a row were taken); lower the split size or the share of that difficulty");
    }
  }
}

CHORD_INLINE Problem TaskSuite::sample_pretrain(Generator& gen) const {
  const Task& family = *train_tasks_[static_cast<std::size_t>(
      gen.randint(0, static_cast<int64_t>(train_tasks_.size())))];
  return draw_fresh(family, gen);
}

CHORD_INLINE Problem TaskSuite::draw_fresh(const Task& task, Generator& gen, bool with_ood) const {
  const DifficultyRange id = task.id_difficulties(), ood = task.ood_difficulties();
  for (int attempt = 1;; ++attempt) {
    int difficulty = 0;
    if (!with_ood) {
      difficulty = static_cast<int>(gen.randint(id.lo, static_cast<int64_t>(id.hi) + 1));
    } else {
      const int pick = static_cast<int>(gen.randint(0, id.count() + ood.count()));
      difficulty = pick < id.count() ? id.lo + pick : ood.lo + (pick - id.count());
    }
    Problem problem = task.generate(gen, difficulty);
    if (!is_held_out(problem.prompt)) return problem;
    check(attempt < kMaxAttempts, "TaskSuite", "every one of ", kMaxAttempts, " draws of '", task.name(),
          "' problems was a held-out test prompt: the test splits cover its ID difficulties ", id.str());
  }
}

}  // namespace chord::tasks
#endif  // CHORD_DEFINES_NON_TEMPLATES
