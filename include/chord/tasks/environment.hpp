#pragma once
// tasks::SuiteEnvironment: a TaskSuite as the rl::Environment the trainers use.
//
//   queries          the suite's training stream (post-training families, ID difficulties)
//   reward           the family's verifier (1 / 0 / -0.1)
//   demonstrate      the family's reference solver in the EXPERT style
//   demonstrations   Expert: fresh queries, demonstrated in the expert style;
//                    BasePretraining: the base policy's corpus (base style, with the
//                    suite's share of near-miss answers and of the held-out skill)
//   eval_splits      "id", "ood", "retention"

#include <string>
#include <string_view>
#include <vector>

#include "chord/core/non_templates.hpp"
#include "chord/rl/environment.hpp"
#include "chord/tasks/suite.hpp"

namespace chord::tasks {

enum class DemonstrationStyle { Expert, BasePretraining };

class SuiteEnvironment : public rl::Environment {
 public:
  explicit SuiteEnvironment(const TaskSuite& suite, DemonstrationStyle style = DemonstrationStyle::Expert,
                            PretrainOptions pretrain = {});

  CHORD_INLINE_VIRTUAL std::vector<rl::Query> sample_queries(int64_t n, Generator& gen) const override;
  CHORD_INLINE_VIRTUAL double reward(const rl::Query& q, std::string_view response) const override;
  CHORD_INLINE_VIRTUAL std::string demonstrate(const rl::Query& q) const override;
  CHORD_INLINE_VIRTUAL std::vector<rl::EvalSplit> eval_splits() const override;

  CHORD_INLINE_VIRTUAL std::vector<rl::Demonstration> sample_demonstrations(int64_t n, Generator& gen) const override;

  const TaskSuite& suite() const { return suite_; }

 private:
  static rl::Query to_query(const Problem& p) { return {p.prompt, p.answer, p.family}; }
  Problem to_problem(const rl::Query& q) const {
    return Problem{.prompt = q.prompt, .answer = q.answer, .difficulty = 0, .family = q.family};
  }

  const TaskSuite& suite_;
  DemonstrationStyle style_;
  PretrainOptions pretrain_;
  std::vector<rl::EvalSplit> splits_;
};

}  // namespace chord::tasks

#if CHORD_DEFINES_NON_TEMPLATES
#include <utility>

namespace chord::tasks {

CHORD_INLINE SuiteEnvironment::SuiteEnvironment(const TaskSuite& suite, DemonstrationStyle style,
                                                PretrainOptions pretrain)
    : suite_(suite), style_(style), pretrain_(pretrain) {
  for (const Split& split : suite_.splits()) {
    rl::EvalSplit s{split.name, {}};
    for (const Problem& p : split.problems) s.queries.push_back(to_query(p));
    splits_.push_back(std::move(s));
  }
}

CHORD_INLINE std::vector<rl::Query> SuiteEnvironment::sample_queries(int64_t n, Generator& gen) const {
  std::vector<rl::Query> out;
  for (const Problem& p : suite_.train_batch(n, gen)) out.push_back(to_query(p));
  return out;
}

CHORD_INLINE double SuiteEnvironment::reward(const rl::Query& q, std::string_view response) const {
  return suite_.reward(to_problem(q), response);
}

CHORD_INLINE std::string SuiteEnvironment::demonstrate(const rl::Query& q) const {
  return suite_.expert_solution(to_problem(q));
}

CHORD_INLINE std::vector<rl::EvalSplit> SuiteEnvironment::eval_splits() const { return splits_; }

CHORD_INLINE std::vector<rl::Demonstration> SuiteEnvironment::sample_demonstrations(int64_t n,
                                                                                 Generator& gen) const {
  if (style_ == DemonstrationStyle::Expert) return rl::Environment::sample_demonstrations(n, gen);
  std::vector<rl::Demonstration> out;
  for (Example& e : suite_.pretrain_corpus(n, gen, pretrain_)) out.push_back({to_query(e.problem), std::move(e.response)});
  return out;
}

}  // namespace chord::tasks
#endif  // CHORD_DEFINES_NON_TEMPLATES
