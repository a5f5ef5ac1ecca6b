// Learning that needs credit over several tokens: each prompt (a letter) has one correct response
// of 3 tokens (2 letters + EOS), and GRPO, CHORD-phi and LUFFY must each raise its pass@1 (exact
// responses, rl::evaluate) from ~0 by at least 0.5 within a test-sized budget.
//
// The reward is per position: the share of the 3 positions (letter 1, letter 2, the EOS right
// after) that the response gets right, so a random policy meets a gradient at once but only a
// response right at all 3 positions scores 1 (pass@1 counts reward >= 1 only). A uniform policy
// over the 10 tokens writes a correct response with probability about 10^-3.
//
// Budget (each method): 300 steps x 8 prompts x 8 responses, AdamW lr 1e-3, a 1-layer, 32-wide
// GPT in float; about 0.5 s on one core at -O2. pass@1 (3 prompts x 16 samples) measured while
// writing the test, model seed 100 + s and trainer seed s, one thread: 0.000 before training for
// every seed and method; after (the float rounding differs between -O2 and -O1, so do the runs):
//
//   seed s          1      2      3      4      5      6      7      8      9      10
//   GRPO       -O2  1.000  0.938  0.854  0.646  0.958  0.979  0.938  0.958  0.958  0.938
//              -O1  0.958  0.979  0.750  0.917  0.979  1.000  0.979  0.938  0.958  0.917
//   CHORD-phi  -O2  1.000  0.979  0.958  0.958  0.958  0.958  0.979  0.958  0.979  0.979
//              -O1  1.000  0.958  0.979  0.979  0.979  0.958  0.979  0.979  0.979  0.979
//   LUFFY      -O2  0.958  0.979  0.938  0.958  0.979  0.917  0.979  0.896  0.979  0.958
//              -O1  0.979  0.979  0.917  0.979  0.979  0.938  0.979  0.917  0.979  0.979
//
// The weak GRPO runs (0.646, 0.750) have one of the three prompts stuck on a wrong answer; with
// half the steps the runs spread from 0.02 to 0.67, so the budget is not generous by accident.
// The tests run seed 1 and require before <= 0.1 and after >= before + 0.5: below the weakest
// run measured (0.646), which a single stuck prompt allows, and far above what a learner that
// gets only the first token right scores (0: pass@1 needs all 3 tokens).

#include <string>
#include <string_view>
#include <vector>

#include "test_util.hpp"

using namespace chord;

namespace {

// Prompts "A", "B", "C" with answers "xy", "yz", "zx"; the expert writes the answer.
class LetterEnv final : public rl::Environment {
 public:
  static rl::Query query(int k) {
    static const char* answers[] = {"xy", "yz", "zx"};
    return {std::string(1, "ABC"[k]), answers[k], "letters"};
  }
  std::vector<rl::Query> sample_queries(int64_t n, Generator& gen) const override {
    std::vector<rl::Query> out;
    for (int64_t i = 0; i < n; ++i) out.push_back(query(static_cast<int>(gen.randint(0, 3))));
    return out;
  }
  // Right positions / 3: letter j right when response[j] == answer[j], the EOS right when the
  // response has exactly the answer's length.
  double reward(const rl::Query& q, std::string_view response) const override {
    const std::string& answer = q.answer;
    double right = response.size() == answer.size() ? 1.0 : 0.0;
    for (std::size_t j = 0; j < answer.size(); ++j) right += j < response.size() && response[j] == answer[j];
    return right / static_cast<double>(answer.size() + 1);
  }
  std::string demonstrate(const rl::Query& q) const override { return q.answer; }
  std::vector<rl::EvalSplit> eval_splits() const override { return {{"letters", {query(0), query(1), query(2)}}}; }
};

struct Gain {
  double before = 0, after = 0;
};

Gain pass_at_1_gain(rl::Method method, uint64_t seed) {
  const auto tok = io::Tokenizer::char_level("ABCxyz");  // 10 tokens with PAD, BOS, EOS
  LetterEnv env;
  nn::GPT<float> model({.vocab_size = tok.vocab_size(), .context_length = 16, .n_layer = 1, .n_head = 2, .n_embd = 32},
                       100 + seed);
  const rl::EvalOptions eval{.k = 16, .max_new_tokens = 4};
  Gain gain;
  gain.before = rl::evaluate(model, tok, env, eval).at(0).pass_at_1;
  rl::Trainer<float> trainer(model, tok, env,
                             {.method = method, .steps = 300, .prompts_per_step = 8, .group_size = 8,
                              .expert_rows_per_step = 8, .lr = 1e-3, .max_new_tokens = 4, .eval = eval,
                              .print_progress = false, .seed = seed});
  trainer.train();
  gain.after = rl::evaluate(model, tok, env, eval).at(0).pass_at_1;
  return gain;
}

void check_learns(rl::Method method) {
  const Gain g = pass_at_1_gain(method, /*seed=*/1);
  MESSAGE(std::string(rl::to_string(method)) << ": pass@1 " << g.before << " -> " << g.after);
  CHECK(g.before <= 0.1);
  CHECK(g.after >= g.before + 0.5);
}

}  // namespace

TEST_CASE("learning: the letter task's reward checks every position of a 3-token answer") {
  const LetterEnv env;
  const rl::Query a = LetterEnv::query(0);  // answer "xy"
  CHECK(env.reward(a, "xy") == 1.0);
  CHECK(env.reward(a, "xz") == doctest::Approx(2.0 / 3.0));  // x and the EOS right
  CHECK(env.reward(a, "xyy") == doctest::Approx(2.0 / 3.0));  // both letters, EOS too late
  CHECK(env.reward(a, "zy") == doctest::Approx(2.0 / 3.0));
  CHECK(env.reward(a, "") == 0.0);
  CHECK(env.reward(a, "yyyy") == doctest::Approx(1.0 / 3.0));
}

TEST_CASE("learning: GRPO raises pass@1 on a 3-token answer from ~0 by at least 0.5 in 300 steps") {
  check_learns(rl::Method::GRPO);
}

TEST_CASE("learning: CHORD-phi raises pass@1 on a 3-token answer from ~0 by at least 0.5 in 300 steps") {
  check_learns(rl::Method::CHORDPhi);
}

TEST_CASE("learning: LUFFY raises pass@1 on a 3-token answer from ~0 by at least 0.5 in 300 steps") {
  check_learns(rl::Method::LUFFY);
}
