#pragma once
// rl::Environment: what a trainer needs from a verifiable task, and nothing more
// (the rl layer does not know the tasks' internals; chord/tasks/environment.hpp
// adapts a tasks::TaskSuite to this interface).
//
//   sample_queries(n, gen)       training prompts, drawn from the training distribution
//   reward(query, response)      the verifier: a pure function of the query and the response
//   demonstrate(query)           the expert's response to a query (SFT, CHORD, LUFFY)
//   sample_demonstrations(n, g)  expert rows for a step (by default: fresh queries, demonstrated)
//   eval_splits()                named fixed test sets

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chord/core/generator.hpp"
#include "chord/core/non_templates.hpp"

namespace chord::rl {

struct Query {
  std::string prompt;  // the text the policy continues
  std::string answer;  // the reference answer, handed back to the verifier
  std::string family;  // which task it comes from
};

struct Demonstration {
  Query query;
  std::string response;  // without the end-of-sequence token (the trainer appends it)
};

struct EvalSplit {
  std::string name;  // e.g. "id", "ood", "retention"
  std::vector<Query> queries;
};

class Environment {
 public:
  virtual ~Environment() = default;
  virtual std::vector<Query> sample_queries(int64_t n, Generator& gen) const = 0;
  virtual double reward(const Query& query, std::string_view response) const = 0;
  virtual std::string demonstrate(const Query& query) const = 0;
  virtual std::vector<EvalSplit> eval_splits() const = 0;

  CHORD_INLINE_VIRTUAL virtual std::vector<Demonstration> sample_demonstrations(int64_t n, Generator& gen) const;
};

}  // namespace chord::rl

#if CHORD_DEFINES_NON_TEMPLATES
#include <utility>

namespace chord::rl {

CHORD_INLINE std::vector<Demonstration> Environment::sample_demonstrations(int64_t n, Generator& gen) const {
  std::vector<Demonstration> out;
  for (Query& q : sample_queries(n, gen)) {
    std::string response = demonstrate(q);
    out.push_back({std::move(q), std::move(response)});
  }
  return out;
}

}  // namespace chord::rl
#endif  // CHORD_DEFINES_NON_TEMPLATES
