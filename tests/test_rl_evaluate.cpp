// rl::evaluate's arithmetic against hand-computed pass@1, pass@k and malformed rates: the
// verifier here hands out a fixed table of rewards in the order evaluate asks for them, so the
// scores do not depend on what the (random, tiny) policy writes.

#include <doctest/doctest.h>

#include <chord/chord.hpp>

#include <map>
#include <string>
#include <vector>

using namespace chord;

namespace {

// Rewards per split, query-major then sample: reward(q, s) = table[split][q * k + s].
class TableEnvironment final : public rl::Environment {
 public:
  explicit TableEnvironment(std::map<std::string, std::vector<double>> table, int64_t k)
      : table_(std::move(table)), k_(k) {}

  std::vector<rl::Query> sample_queries(int64_t, Generator&) const override { return {}; }
  std::string demonstrate(const rl::Query&) const override { return ""; }

  std::vector<rl::EvalSplit> eval_splits() const override {
    std::vector<rl::EvalSplit> splits;
    for (const auto& [name, rewards] : table_) {
      rl::EvalSplit split{name, {}};
      for (std::size_t q = 0; q < rewards.size() / static_cast<std::size_t>(k_); ++q)
        split.queries.push_back({name + "-" + std::to_string(q), "", name});  // the prompt names it
      splits.push_back(split);
    }
    return splits;
  }

  // evaluate scores query q's k samples one after the other, queries in order.
  double reward(const rl::Query& query, std::string_view) const override {
    int64_t& next = calls_[query.prompt];
    const std::size_t q = std::stoul(query.prompt.substr(query.prompt.find('-') + 1));
    const double r = table_.at(query.family).at(q * static_cast<std::size_t>(k_) + static_cast<std::size_t>(next));
    next = (next + 1) % k_;
    return r;
  }

 private:
  std::map<std::string, std::vector<double>> table_;
  int64_t k_;
  mutable std::map<std::string, int64_t> calls_;
};

}  // namespace

TEST_CASE("evaluate: pass@1, pass@k and the malformed rate equal the hand-computed values") {
  constexpr int64_t k = 4;
  // "a": 4 queries. q0: 2 of 4 right; q1: none; q2: 3 right and one malformed (-0.1); q3: one right.
  //   pass@1 = (2/4 + 0 + 3/4 + 1/4) / 4 = 3/8; pass@k = [2 > 0] + [0 > 0] + [3 > 0] + [1 > 0] = 3 of 4;
  //   malformed = 1 of 16 responses.
  // "b": 2 queries, all right on q0, all malformed on q1: pass@1 = 1/2, pass@k = 1/2, malformed 4/8.
  const TableEnvironment env(
      {{"a", {1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, -0.1, 0, 0, 1, 0}}, {"b", {1, 1, 1, 1, -0.1, -0.1, -0.1, -0.1}}}, k);
  const io::Tokenizer tokenizer = io::Tokenizer::char_level("ab-0123456789");
  nn::GPT<float> model({.vocab_size = tokenizer.vocab_size(), .context_length = 32, .n_layer = 1, .n_head = 1,
                        .n_embd = 8},
                       /*seed=*/3);
  const auto scores = rl::evaluate(model, tokenizer, env, {.k = k, .max_new_tokens = 4, .prompts_per_batch = 2});
  REQUIRE(scores.size() == 2);
  CHECK(scores[0].name == "a");
  CHECK(scores[0].queries == 4);
  CHECK(scores[0].pass_at_1 == doctest::Approx(3.0 / 8.0));
  CHECK(scores[0].pass_at_k == doctest::Approx(3.0 / 4.0));
  CHECK(scores[0].malformed == doctest::Approx(1.0 / 16.0));
  CHECK(scores[1].name == "b");
  CHECK(scores[1].pass_at_1 == doctest::Approx(0.5));
  CHECK(scores[1].pass_at_k == doctest::Approx(0.5));
  CHECK(scores[1].malformed == doctest::Approx(0.5));

  // The metrics carry the same numbers under the documented names.
  const auto metrics = rl::eval_metrics(scores);
  std::map<std::string, double> by_name(metrics.begin(), metrics.end());
  CHECK(by_name.at("eval/a/pass@1") == doctest::Approx(3.0 / 8.0));
  CHECK(by_name.at("eval/a/pass@k") == doctest::Approx(3.0 / 4.0));
  CHECK(by_name.at("eval/b/malformed") == doctest::Approx(0.5));

  // max_queries evaluates the first queries of each split only: "a" q0 alone.
  const TableEnvironment fresh({{"a", {1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, -0.1}}}, k);
  const auto first = rl::evaluate(model, tokenizer, fresh, {.k = k, .max_new_tokens = 4, .max_queries = 1});
  REQUIRE(first.size() == 1);
  CHECK(first[0].queries == 1);
  CHECK(first[0].pass_at_1 == doctest::Approx(0.5));
  CHECK(first[0].pass_at_k == doctest::Approx(1.0));
  CHECK(first[0].malformed == doctest::Approx(0.0));
}
