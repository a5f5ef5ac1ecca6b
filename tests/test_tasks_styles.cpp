// Addition's expert styles (AdditionStyle) and carry chains: hand-worked examples in each style,
// the default unchanged, the verifier accepting every style, the length bound reached exactly, and
// the carry-chain length.

#include <cstdint>
#include <string>

#include "test_util.hpp"

using namespace chord;
using namespace chord::tasks;

namespace {

Problem make_problem(const Task& task, const std::string& prompt, int difficulty) {
  return {prompt, task.solve(prompt), difficulty, task.name()};
}

}  // namespace

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
