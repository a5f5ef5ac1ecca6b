// Addition's expert styles (AdditionStyle) and carry chains: hand-worked examples in each style,
// the default unchanged, the verifier accepting every style, the length bound reached exactly, and
// the carry-chain length. The suite's train_on_ood and the pretraining corpus's expert_fraction.

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "test_util.hpp"

using namespace chord;
using namespace chord::tasks;
using chord::testing::make_problem;

TEST_CASE("tasks: addition's expert styles, worked by hand") {
  const Difficulties ranges{.id = {2, 3}, .ood = {4, 4}};
  const Addition scratch(ranges, AdditionStyle::Scratchpad), sums(ranges, AdditionStyle::ColumnSums),
      reversed(ranges, AdditionStyle::Reversed), terse(ranges, AdditionStyle::Terse);
  const Problem p = make_problem(scratch, "347+285=", 3);
  CHECK(Addition().style() == AdditionStyle::Scratchpad);
  CHECK(Addition().expert_solution(p) == "7+5=12,4+8+1=13,3+2+1=6#632");
  CHECK(scratch.expert_solution(p) == "7+5=12,4+8+1=13,3+2+1=6#632");
  CHECK(sums.expert_solution(p) == "12,13,6#632");
  CHECK(reversed.expert_solution(p) == "236#632");
  CHECK(terse.expert_solution(p) == "#632");
  const Problem carry_out = make_problem(scratch, "999+999=", 3);
  CHECK(sums.expert_solution(carry_out) == "18,19,19#1998");
  CHECK(reversed.expert_solution(carry_out) == "8991#1998");
  const Problem one_digit = make_problem(scratch, "0+0=", 1);
  CHECK(sums.expert_solution(one_digit) == "0#0");
  CHECK(reversed.expert_solution(one_digit) == "0#0");
  CHECK(std::string(to_string(AdditionStyle::Reversed)) == "reversed");
}

TEST_CASE("tasks: every addition style is verified alike and fits max_text_length exactly") {
  const Difficulties ranges{.id = {1, 9}, .ood = {1, 9}};
  for (AdditionStyle style :
       {AdditionStyle::Scratchpad, AdditionStyle::ColumnSums, AdditionStyle::Reversed, AdditionStyle::Terse}) {
    CAPTURE(to_string(style));
    const Addition add(ranges, style);
    Generator gen(7);
    for (int d = 1; d <= 9; ++d) {
      for (int i = 0; i < 20; ++i) {
        const Problem p = add.generate(gen, d);
        const std::string e = add.expert_solution(p);
        CHECK(add.reward(p, e) == kRewardCorrect);
        CHECK(add.extract_answer(e) == p.answer);
        CHECK(static_cast<int64_t>((p.prompt + e).size()) <= add.max_text_length(d));
      }
      const std::string nines(static_cast<std::size_t>(d), '9');
      const Problem worst = make_problem(add, nines + "+" + nines + "=", d);
      CHECK(static_cast<int64_t>((worst.prompt + add.expert_solution(worst)).size()) == add.max_text_length(d));
    }
  }
  // The default keeps today's bound.
  CHECK(Addition().max_text_length(4) == 49);
}

TEST_CASE("tasks: carry chains") {
  CHECK(carry_chain_length("347", "285") == 2);
  CHECK(carry_chain_length("999", "001") == 3);
  CHECK(carry_chain_length("123", "456") == 0);
  CHECK(carry_chain_length("5050", "5050") == 1);  // two carries, not consecutive
  CHECK(carry_chain_length("1955", "1045") == 3);  // 5+5 -> 5+4+1 -> 9+0+1
  CHECK(carry_chain_length("9", "1") == 1);
  const Addition add;
  CHECK(add.carry_chain("347+285=") == 2);
  CHORD_CHECK_ERROR(add.carry_chain("34+285="), "is not of the form");
  CHORD_CHECK_ERROR(carry_chain_length("12", "3"), "differ in length");
}

TEST_CASE("tasks: train_on_ood puts the OOD difficulties in the training stream, not in the corpus") {
  const auto make = [](bool on_ood) {
    return TaskSuite({std::make_shared<Sort>()}, std::make_shared<Reverse>(),
                     {.seed = 3, .test_size = 20, .ood_size = 20, .retention_size = 20, .train_on_ood = on_ood});
  };
  const TaskSuite plain = make(false), wide = make(true);
  CHECK(plain.test_ood() == wide.test_ood());  // the splits do not depend on the option
  Generator g = wide.train_generator();
  std::set<int> seen;
  for (const Problem& p : wide.train_batch(400, g)) {
    seen.insert(p.difficulty);
    CHECK_FALSE(wide.is_held_out(p.prompt));
  }
  CHECK(seen == std::set<int>{3, 4, 5, 6, 7, 8});
  Generator g_plain = plain.train_generator();
  for (const Problem& p : plain.train_batch(200, g_plain)) CHECK(Sort().id_difficulties().contains(p.difficulty));
  // The pretraining corpus stays on the ID difficulties, and is the same as without the option.
  Generator c1 = plain.pretrain_generator(), c2 = wide.pretrain_generator();
  const auto a = plain.pretrain_corpus(300, c1), b = wide.pretrain_corpus(300, c2);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].text() == b[i].text());
    if (a[i].problem.family == "sort") CHECK(Sort().id_difficulties().contains(a[i].problem.difficulty));
  }
}

TEST_CASE("tasks: the OOD split's name, and names that would clash are refused") {
  const TaskSuite hard({std::make_shared<Sort>()}, std::make_shared<Reverse>(),
                       {.seed = 3, .test_size = 10, .ood_size = 10, .retention_size = 10, .ood_split_name = "hard"});
  const auto splits = hard.splits();
  REQUIRE(splits.size() == 3);
  CHECK(splits[0].name == "id");
  CHECK(splits[1].name == "hard");
  CHECK(splits[2].name == "retention");
  CHECK(splits[1].problems == hard.test_ood());
  const SuiteEnvironment env(hard);
  CHECK(env.eval_splits()[1].name == "hard");
  for (const char* bad : {"", "id", "retention"})
    CHORD_CHECK_ERROR(TaskSuite({std::make_shared<Sort>()}, std::make_shared<Reverse>(), {.ood_split_name = bad}),
                      "ood_split_name");
}

TEST_CASE("tasks: the pretraining corpus's expert_fraction") {
  const TaskSuite suite = TaskSuite::standard({.seed = 5, .test_size = 20, .ood_size = 20, .retention_size = 20});
  // 0 (the default) draws nothing extra: the corpus is today's.
  Generator g1 = suite.pretrain_generator(), g2 = suite.pretrain_generator();
  const auto a = suite.pretrain_corpus(200, g1), b = suite.pretrain_corpus(200, g2, {.expert_fraction = 0.0});
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].text() == b[i].text());
  // 0.5: about half the post-training-family examples are in the expert style, and all of those correct.
  Generator g3 = suite.pretrain_generator();
  int expert = 0, family = 0;
  for (const Example& e : suite.pretrain_corpus(2000, g3, {.expert_fraction = 0.5})) {
    if (e.problem.family == "reverse") {
      CHECK(e.response == suite.base_solution(e.problem));
      continue;
    }
    ++family;
    if (e.response == suite.expert_solution(e.problem)) ++expert;
    else CHECK(e.response[0] == kAnswerMarker);  // otherwise the base style
  }
  CHECK(expert > family * 2 / 5);
  CHECK(expert < family * 3 / 5);
  Generator g4 = suite.pretrain_generator();
  CHORD_CHECK_ERROR(suite.pretrain_corpus(1, g4, {.expert_fraction = 1.5}), "expert_fraction 1.5 is not in [0, 1]");
}
