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

#include <cstdint>
#include <string>
#include <string_view>

#include "chord/core/error.hpp"
#include "chord/core/generator.hpp"
#include "chord/tasks/task.hpp"

namespace chord::tasks {

class Addition final : public Task {
 public:
  explicit Addition(Difficulties ranges = {.id = {2, 3}, .ood = {4, 4}})
      : Task("addition", {1, 9}, ranges) {}

  Problem generate(Generator& gen, int digits) const override {
    check_difficulty(digits, "generate");
    const int64_t hi = pow10(digits);
    const int64_t lo = digits == 1 ? 0 : hi / 10;
    const int64_t a = gen.randint(lo, hi);
    const int64_t b = gen.randint(lo, hi);
    return {std::to_string(a) + "+" + std::to_string(b) + "=", std::to_string(a + b), digits, name()};
  }

  std::string solve(std::string_view prompt) const override {
    const Operands op = parse(prompt);
    return std::to_string(std::stoll(op.a) + std::stoll(op.b));
  }

  std::string expert_solution(const Problem& problem) const override {
    check_problem(problem, "expert_solution");
    const Operands op = parse(problem.prompt);
    const std::size_t d = op.a.size();
    std::string out;
    int carry = 0;
    for (std::size_t i = 0; i < d; ++i) {  // column i from the right
      const int x = op.a[d - 1 - i] - '0';
      const int y = op.b[d - 1 - i] - '0';
      const int s = x + y + carry;
      if (i > 0) out += ',';
      out += std::to_string(x) + "+" + std::to_string(y) + (carry ? "+1" : "") + "=" + std::to_string(s);
      carry = s / 10;
    }
    return out + base_response(problem.answer);
  }

  // A forgotten or spurious carry: the answer plus or minus 10^k for a random column k (kept >= 0).
  std::string wrong_answer(const Problem& problem, Generator& gen) const override {
    check_problem(problem, "wrong_answer");
    const int64_t answer = std::stoll(problem.answer);
    const int64_t delta = pow10(static_cast<int>(gen.randint(0, static_cast<int64_t>(problem.answer.size()))));
    const bool down = gen.randint(0, 2) == 1 && answer >= delta;
    return std::to_string(down ? answer - delta : answer + delta);
  }

  std::string alphabet() const override { return "#+,0123456789="; }
  std::string answer_chars() const override { return "0123456789"; }

  int64_t max_text_length(int digits) const override {
    check_difficulty(digits, "max_text_length");
    return 12 * static_cast<int64_t>(digits) + 1;
  }

 private:
  struct Operands {
    std::string a, b;  // decimal digits, most significant first
  };

  static int64_t pow10(int k) {
    int64_t p = 1;
    for (int i = 0; i < k; ++i) p *= 10;
    return p;
  }

  // "<a>+<b>=" with a and b of the same valid digit count, no leading zeros.
  Operands parse(std::string_view prompt) const {
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
};

}  // namespace chord::tasks
