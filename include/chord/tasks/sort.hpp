#pragma once
// Family 2, "sort": sort a string of letters a..h (repeats allowed) alphabetically.
//
//   difficulty n = the string length (valid 1..16; ID 3..5, OOD 6..8).
//
//   prompt   "sort dbcab="
//   base     "#abbcd"
//   expert   "a1b2c1d1#abbcd"
//            a counting pass: each letter that occurs, in alphabetical order, with its count
//            (decimal); the answer writes each letter that many times.
//
// Lengths: prompt n + 6; expert at most min(n, 8) * (1 + digits(n)) + 1 + n, so
// prompt + expert <= 2n + 7 + min(n, 8) * (1 + digits(n)) (reached by n distinct letters when n <= 8):
// 27 at n = 5, 39 at n = 8.

#include <cstdint>
#include <string>
#include <string_view>

#include "chord/core/generator.hpp"
#include "chord/core/non_templates.hpp"
#include "chord/tasks/task.hpp"

namespace chord::tasks {

class Sort final : public Task {
 public:
  static constexpr std::string_view kLetters = "abcdefgh";
  static constexpr std::string_view kPrefix = "sort ";

  explicit Sort(Difficulties ranges = {.id = {3, 5}, .ood = {6, 8}}) : Task("sort", {1, 16}, ranges) {}

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
#include <algorithm>
#include <array>

#include "chord/tasks/letters.hpp"

namespace chord::tasks {

CHORD_INLINE Problem Sort::generate(Generator& gen, int length) const {
  check_difficulty(length, "generate");
  const std::string prompt = std::string(kPrefix) + detail::random_letters(gen, length, kLetters) + "=";
  return {prompt, solve(prompt), length, name()};
}

CHORD_INLINE std::string Sort::solve(std::string_view prompt) const {
  std::string letters(parse(prompt));
  std::sort(letters.begin(), letters.end());
  return letters;
}

CHORD_INLINE std::string Sort::expert_solution(const Problem& problem) const {
  check_problem(problem, "expert_solution");
  std::array<int, kLetters.size()> counts{};
  for (char c : parse(problem.prompt)) ++counts[kLetters.find(c)];
  std::string out;
  for (std::size_t i = 0; i < kLetters.size(); ++i)
    if (counts[i] > 0) out += kLetters[i] + std::to_string(counts[i]);
  return out + base_response(problem.answer);
}

CHORD_INLINE std::string Sort::alphabet() const { return " #0123456789=abcdefghorst"; }

CHORD_INLINE std::string Sort::answer_chars() const { return std::string(kLetters); }

CHORD_INLINE int64_t Sort::max_text_length(int length) const {
  check_difficulty(length, "max_text_length");
  const int64_t n = length;
  const int64_t count_digits = static_cast<int64_t>(std::to_string(n).size());
  return 2 * n + 7 + std::min<int64_t>(n, static_cast<int64_t>(kLetters.size())) * (1 + count_digits);
}

CHORD_INLINE std::string_view Sort::parse(std::string_view prompt) const {
  return detail::parse_letter_prompt(prompt, kPrefix, kLetters, valid_difficulties(), name().c_str());
}

}  // namespace chord::tasks
#endif  // CHORD_DEFINES_NON_TEMPLATES
