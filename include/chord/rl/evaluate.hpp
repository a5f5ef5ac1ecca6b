#pragma once
// Evaluation: pass@1 and pass@k of a policy on an environment's test splits.
//
// For each query, k responses are sampled (temperature T); with c of them correct
// (reward 1), pass@1 is estimated as c / k and pass@k as [c > 0], each averaged over
// the split's queries (the unbiased estimators of Chen et al. 2021 with n = k).
// k = 1 with T = 0 is greedy accuracy. Metric names: eval/<split>/pass@1,
// eval/<split>/pass@k, eval/<split>/malformed (share of responses the verifier
// could not read).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "chord/core/non_templates.hpp"
#include "chord/io/tokenizer.hpp"
#include "chord/nn/gpt.hpp"
#include "chord/rl/environment.hpp"
#include "chord/sample/generate.hpp"

namespace chord::rl {

struct EvalOptions {
  int64_t k = 4;                // samples per query
  double temperature = 1.0;     // 0: greedy (then use k = 1)
  int64_t max_new_tokens = 48;  // response budget, EOS included
  int64_t max_queries = 0;      // per split; 0 = all
  int64_t prompts_per_batch = 64;
  uint64_t seed = 20250811;

  void validate() const;
};

struct SplitScore {
  std::string name;
  double pass_at_1 = 0, pass_at_k = 0, malformed = 0;
  int64_t queries = 0;
};

// The response text of a sampled row: its tokens up to (not including) EOS, decoded.
template <FloatingPoint T>
std::string response_text(const sample::Completion<T>& c, const io::Tokenizer& tokenizer) {
  std::vector<int64_t> ids = c.tokens;
  if (!ids.empty() && c.finish_reason != sample::FinishReason::Length) ids.pop_back();
  return tokenizer.decode(ids);
}

template <FloatingPoint T>
std::vector<SplitScore> evaluate(nn::GPT<T>& model, const io::Tokenizer& tokenizer, const Environment& env,
                                 const EvalOptions& options = {}) {
  options.validate();
  std::vector<SplitScore> scores;
  for (const EvalSplit& split : env.eval_splits()) {
    const int64_t count = options.max_queries > 0
                              ? std::min<int64_t>(options.max_queries, static_cast<int64_t>(split.queries.size()))
                              : static_cast<int64_t>(split.queries.size());
    SplitScore score{.name = split.name, .queries = count};
    for (int64_t begin = 0; begin < count; begin += options.prompts_per_batch) {
      const int64_t end = std::min(count, begin + options.prompts_per_batch);
      std::vector<std::vector<int64_t>> prompts;
      for (int64_t q = begin; q < end; ++q) prompts.push_back(tokenizer.encode(split.queries[q].prompt, /*add_bos=*/true));
      const sample::SampleOptions sampling{.max_new_tokens = options.max_new_tokens,
                                           .temperature = options.temperature,
                                           .eos_id = tokenizer.eos_id(),
                                           .seed = options.seed + static_cast<uint64_t>(begin),
                                           .pad_id = tokenizer.pad_id()};
      const auto result = sample::generate(model, prompts, sampling, options.k);
      for (int64_t q = begin; q < end; ++q) {
        int64_t correct = 0;
        for (int64_t s = 0; s < options.k; ++s) {
          const auto& c = result.completions[(q - begin) * options.k + s];
          const double r = env.reward(split.queries[q], response_text(c, tokenizer));
          correct += r >= 1.0;
          score.malformed += r < 0 ? 1.0 : 0.0;
        }
        score.pass_at_1 += static_cast<double>(correct) / static_cast<double>(options.k);
        score.pass_at_k += correct > 0 ? 1.0 : 0.0;
      }
    }
    if (count > 0) {
      score.pass_at_1 /= count;
      score.pass_at_k /= count;
      score.malformed /= static_cast<double>(count * options.k);
    }
    scores.push_back(score);
  }
  return scores;
}

// The scores as metrics: eval/<split>/pass@1, eval/<split>/pass@k, eval/<split>/malformed.
std::vector<std::pair<std::string, double>> eval_metrics(const std::vector<SplitScore>& scores);

}  // namespace chord::rl

#if CHORD_DEFINES_NON_TEMPLATES

namespace chord::rl {

CHORD_INLINE void EvalOptions::validate() const {
  check(k >= 1, "EvalOptions", "k must be >= 1, got ", k);
  check(temperature >= 0, "EvalOptions", "temperature must be >= 0, got ", temperature);
  check(temperature > 0 || k == 1, "EvalOptions", "greedy decoding (temperature 0) gives the same response k times: use k = 1");
  check(max_new_tokens >= 1, "EvalOptions", "max_new_tokens must be >= 1, got ", max_new_tokens);
  check(max_queries >= 0 && prompts_per_batch >= 1, "EvalOptions", "max_queries must be >= 0 and prompts_per_batch >= 1");
}

CHORD_INLINE std::vector<std::pair<std::string, double>> eval_metrics(const std::vector<SplitScore>& scores) {
  std::vector<std::pair<std::string, double>> out;
  for (const SplitScore& s : scores) {
    out.emplace_back("eval/" + s.name + "/pass@1", s.pass_at_1);
    out.emplace_back("eval/" + s.name + "/pass@k", s.pass_at_k);
    out.emplace_back("eval/" + s.name + "/malformed", s.malformed);
  }
  return out;
}

}  // namespace chord::rl
#endif  // CHORD_DEFINES_NON_TEMPLATES
