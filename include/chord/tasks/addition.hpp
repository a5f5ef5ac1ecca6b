#pragma once
// Family 1, "addition": multi-digit addition of two numbers with the same digit count.
//
//   difficulty d = the digit count of each operand (valid 1..9; ID 2..3, OOD 4). Both operands
//   have exactly d digits (no leading zero; 0..9 when d = 1), so the answer has d or d + 1 digits.
//
//   prompt   "347+285="
//   base     "#632"
//   expert   "7+5=12,4+8+1=13,3+2+1=6#632"
//            one step per column from the right, "x+y=s", or "x+y+1=s" when a carry comes in;
//            the carry out is the tens digit of s; the answer is the last step's sum followed by
//            the units digits of the earlier steps, right to left.
//
// Lengths: prompt 2d + 2, expert at most 10d - 1 (6 for the first step, 9 for each later one with
// its comma, 1 for '#', d + 1 for the answer), so prompt + expert <= 12d + 1 (reached by 99..9+99..9):
// 37 at d = 3, 49 at d = 4.
//
// Other expert styles (AdditionStyle, a constructor option; the default, Scratchpad, is the one above):
//   ColumnSums  "12,13,6#632"   the column sums only, from the right (carry out = the tens digit,
//                               carry in included): at most 4d + 1 characters
//   Reversed    "236#632"       the answer's digits least significant first (Lee et al. 2023,
//                               "Teaching Arithmetic to Small Transformers"), then the answer:
//                               at most 2d + 3 characters
//   Terse       "#632"          the base style (an expert that shows no work)
// Every style ends with the same "#<answer>", so the verifier scores them alike.

#include <cstdint>
#include <string>
#include <string_view>

#include "chord/core/generator.hpp"
#include "chord/core/non_templates.hpp"
#include "chord/tasks/task.hpp"

namespace chord::tasks {

// The expert's style of working (see the top of this file); Scratchpad is the default.
enum class AdditionStyle { Scratchpad, ColumnSums, Reversed, Terse };

const char* to_string(AdditionStyle s);

// The longest run of consecutive columns that each send a carry out (0: no carry at all), for two
// decimal operands of the same digit count: 347+285 has carries out of the units and the tens, a
// chain of 2; 999+001 a chain of 3. A most-significant-digit-first answer must resolve the whole
// chain before its first digit, which is where a small model answering tersely fails.
int carry_chain_length(std::string_view a, std::string_view b);

class Addition final : public Task {
 public:
  explicit Addition(Difficulties ranges = {.id = {2, 3}, .ood = {4, 4}},
                    AdditionStyle style = AdditionStyle::Scratchpad)
      : Task("addition", {1, 9}, ranges), style_(style) {}

  AdditionStyle style() const { return style_; }

  // The longest carry chain of an addition prompt (see carry_chain_length).
  int carry_chain(std::string_view prompt) const;

  CHORD_INLINE_VIRTUAL Problem generate(Generator& gen, int digits) const override;

  CHORD_INLINE_VIRTUAL std::string solve(std::string_view prompt) const override;

  CHORD_INLINE_VIRTUAL std::string expert_solution(const Problem& problem) const override;

  // A forgotten or spurious carry: the answer plus or minus 10^k for a random column k (kept >= 0).
  CHORD_INLINE_VIRTUAL std::string wrong_answer(const Problem& problem, Generator& gen) const override;

  CHORD_INLINE_VIRTUAL std::string alphabet() const override;
  CHORD_INLINE_VIRTUAL std::string answer_chars() const override;

  // Reached by 99..9+99..9 in every style.
  CHORD_INLINE_VIRTUAL int64_t max_text_length(int digits) const override;

 private:
  struct Operands {
    std::string a, b;  // decimal digits, most significant first
  };

  AdditionStyle style_ = AdditionStyle::Scratchpad;

  static int64_t pow10(int k);

  // "<a>+<b>=" with a and b of the same valid digit count, no leading zeros.
  Operands parse(std::string_view prompt) const;
};

}  // namespace chord::tasks

#if CHORD_DEFINES_NON_TEMPLATES
#include "chord/core/error.hpp"

namespace chord::tasks {

CHORD_INLINE const char* to_string(AdditionStyle s) {
  switch (s) {
    case AdditionStyle::Scratchpad: return "scratchpad";
    case AdditionStyle::ColumnSums: return "column-sums";
    case AdditionStyle::Reversed: return "reversed";
    case AdditionStyle::Terse: return "terse";
  }
  return "?";
}

CHORD_INLINE int carry_chain_length(std::string_view a, std::string_view b) {
  check(a.size() == b.size(), "carry_chain_length", "operands '", a, "' and '", b, "' differ in length");
  int carry = 0, run = 0, longest = 0;
  for (std::size_t i = a.size(); i-- > 0;) {
    carry = (a[i] - '0') + (b[i] - '0') + carry >= 10 ? 1 : 0;
    run = carry ? run + 1 : 0;
    longest = run > longest ? run : longest;
  }
  return longest;
}

CHORD_INLINE int Addition::carry_chain(std::string_view prompt) const {
  const Operands op = parse(prompt);
  return carry_chain_length(op.a, op.b);
}

CHORD_INLINE Problem Addition::generate(Generator& gen, int digits) const {
  check_difficulty(digits, "generate");
  const int64_t hi = pow10(digits);
  const int64_t lo = digits == 1 ? 0 : hi / 10;
  const int64_t a = gen.randint(lo, hi);
  const int64_t b = gen.randint(lo, hi);
  return {std::to_string(a) + "+" + std::to_string(b) + "=", std::to_string(a + b), digits, name()};
}

CHORD_INLINE std::string Addition::solve(std::string_view prompt) const {
  const Operands op = parse(prompt);
  return std::to_string(std::stoll(op.a) + std::stoll(op.b));
}

CHORD_INLINE std::string Addition::expert_solution(const Problem& problem) const {
  check_problem(problem, "expert_solution");
  const Operands op = parse(problem.prompt);
  const std::size_t d = op.a.size();
  std::string out;
  if (style_ == AdditionStyle::Reversed) out.assign(problem.answer.rbegin(), problem.answer.rend());
  int carry = 0;
  for (std::size_t i = 0; i < d && (style_ == AdditionStyle::Scratchpad || style_ == AdditionStyle::ColumnSums);
       ++i) {  // column i from the right
    const int x = op.a[d - 1 - i] - '0';
    const int y = op.b[d - 1 - i] - '0';
    const int s = x + y + carry;
    if (i > 0) out += ',';
    if (style_ == AdditionStyle::Scratchpad)
      out += std::to_string(x) + "+" + std::to_string(y) + (carry ? "+1" : "") + "=";
    out += std::to_string(s);
    carry = s / 10;
  }
  return out + base_response(problem.answer);
}

CHORD_INLINE std::string Addition::wrong_answer(const Problem& problem, Generator& gen) const {
  check_problem(problem, "wrong_answer");
  const int64_t answer = std::stoll(problem.answer);
  const int64_t delta = pow10(static_cast<int>(gen.randint(0, static_cast<int64_t>(problem.answer.size()))));
  const bool down = gen.randint(0, 2) == 1 && answer >= delta;
  return std::to_string(down ? answer - delta : answer + delta);
}

CHORD_INLINE std::string Addition::alphabet() const { return "#+,0123456789="; }

CHORD_INLINE std::string Addition::answer_chars() const { return "0123456789"; }

CHORD_INLINE int64_t Addition::max_text_length(int digits) const {
  check_difficulty(digits, "max_text_length");
  const int64_t d = digits;
  switch (style_) {
    case AdditionStyle::ColumnSums: return 2 * d + 2 + 4 * d + 1;  // 3d - 1 sums + '#' + d + 1
    case AdditionStyle::Reversed: return 2 * d + 2 + 2 * d + 3;
    case AdditionStyle::Terse: return 2 * d + 2 + d + 2;
    case AdditionStyle::Scratchpad: break;
  }
  return 12 * d + 1;
}

CHORD_INLINE int64_t Addition::pow10(int k) {
  int64_t p = 1;
  for (int i = 0; i < k; ++i) p *= 10;
  return p;
}

CHORD_INLINE Addition::Operands Addition::parse(std::string_view prompt) const {
  const std::size_t plus = prompt.find('+');
  const bool shape_ok = plus != std::string_view::npos && !prompt.empty() && prompt.back() == '=';
  Operands op;
  if (shape_ok) {
    op.a = std::string(prompt.substr(0, plus));
    op.b = std::string(prompt.substr(plus + 1, prompt.size() - plus - 2));
  }
  const auto number_ok = [](const std::string& s) {
    if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
    for (char c : s)
      if (c < '0' || c > '9') return false;
    return true;
  };
  check(shape_ok && number_ok(op.a) && number_ok(op.b) && op.a.size() == op.b.size() &&
            valid_difficulties().contains(static_cast<int>(op.a.size())),
        name().c_str(), "prompt '", prompt, "' is not of the form <a>+<b>= with two numbers of the same ",
        "digit count in ", valid_difficulties().str(), " and no leading zeros");
  return op;
}

}  // namespace chord::tasks
#endif  // CHORD_DEFINES_NON_TEMPLATES
