#pragma once
// The held-out skill, "reverse": write a string of letters a..h backwards.
//
// The base policy is pretrained on it (base style) and post-training never sees it, so its accuracy
// after post-training measures forgetting (the role MMLU-Pro plays in the CHORD paper). It shares
// the letters of "sort", so post-training on sorting can interfere with it.
//
//   difficulty n = the string length (valid 1..16; ID 3..6, the range its pretraining data and its
//   retention split use; OOD 7..10, not used by the standard suite).
//
//   prompt   "rev abcd="
//   base     "#dcba"
//   expert   "d,c,b,a#dcba"   the letters from the last to the first, then the answer (written for
//                             completeness: the standard suite never trains on it)
//
// Lengths: prompt n + 5, expert 3n, so prompt + expert = 4n + 5: 29 at n = 6.

#include <cstdint>
#include <string>
#include <string_view>

#include "chord/core/generator.hpp"
#include "chord/core/non_templates.hpp"
#include "chord/tasks/task.hpp"

namespace chord::tasks {

class Reverse final : public Task {
 public:
  static constexpr std::string_view kLetters = "abcdefgh";
  static constexpr std::string_view kPrefix = "rev ";

  explicit Reverse(Difficulties ranges = {.id = {3, 6}, .ood = {7, 10}}) : Task("reverse", {1, 16}, ranges) {}

  CHORD_INLINE_VIRTUAL Problem generate(Generator& gen, int length) const override;

  CHORD_INLINE_VIRTUAL std::string solve(std::string_view prompt) const override;

  CHORD_INLINE_VIRTUAL std::string expert_solution(const Problem& problem) const override;

  CHORD_INLINE_VIRTUAL std::string alphabet() const override;
  CHORD_INLINE_VIRTUAL std::string answer_chars() const override;

  CHORD_INLINE_VIRTUAL int64_t max_text_length(int length) const override;

 private:
  std::string_view parse(std::string_view prompt) const;
};

}  // namespace chord::tasks

#if CHORD_DEFINES_NON_TEMPLATES
#include "chord/tasks/letters.hpp"

namespace chord::tasks {

CHORD_INLINE Problem Reverse::generate(Generator& gen, int length) const {
  check_difficulty(length, "generate");
  const std::string prompt = std::string(kPrefix) + detail::random_letters(gen, length, kLetters) + "=";
  return {prompt, solve(prompt), length, name()};
}

CHORD_INLINE std::string Reverse::solve(std::string_view prompt) const {
  const std::string_view letters = parse(prompt);
  return std::string(letters.rbegin(), letters.rend());
}

CHORD_INLINE std::string Reverse::expert_solution(const Problem& problem) const {
  check_problem(problem, "expert_solution");
  std::string out;
  for (char c : problem.answer) {
    if (!out.empty()) out += ',';
    out += c;
  }
  return out + base_response(problem.answer);
}

CHORD_INLINE std::string Reverse::alphabet() const { return " #,=abcdefghrv"; }

CHORD_INLINE std::string Reverse::answer_chars() const { return std::string(kLetters); }

CHORD_INLINE int64_t Reverse::max_text_length(int length) const {
  check_difficulty(length, "max_text_length");
  return 4 * static_cast<int64_t>(length) + 5;
}

CHORD_INLINE std::string_view Reverse::parse(std::string_view prompt) const {
  return detail::parse_letter_prompt(prompt, kPrefix, kLetters, valid_difficulties(), name().c_str());
}

}  // namespace chord::tasks
#endif  // CHORD_DEFINES_NON_TEMPLATES
