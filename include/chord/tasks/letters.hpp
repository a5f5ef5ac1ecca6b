#pragma once
// Prompts of the form "<prefix><letters>=", shared by the letter-string families (sort, reverse).

#include <string>
#include <string_view>

#include "chord/core/generator.hpp"
#include "chord/core/non_templates.hpp"
#include "chord/tasks/task.hpp"

namespace chord::tasks::detail {

// `length` letters drawn uniformly, with repeats, from `letters`.
std::string random_letters(Generator& gen, int length, std::string_view letters);

// The letters of `prompt` = "<prefix><letters>=", checked: a number of letters in `valid`, each
// one of `letters`. Errors name the task `op`.
std::string_view parse_letter_prompt(std::string_view prompt, std::string_view prefix, std::string_view letters,
                                     DifficultyRange valid, const char* op);

}  // namespace chord::tasks::detail

#if CHORD_DEFINES_NON_TEMPLATES
#include <cstdint>

#include "chord/core/error.hpp"

namespace chord::tasks::detail {

CHORD_INLINE std::string random_letters(Generator& gen, int length, std::string_view letters) {
  std::string out;
  for (int i = 0; i < length; ++i)
    out += letters[static_cast<std::size_t>(gen.randint(0, static_cast<int64_t>(letters.size())))];
  return out;
}

CHORD_INLINE std::string_view parse_letter_prompt(std::string_view prompt, std::string_view prefix,
                                                  std::string_view letters, DifficultyRange valid, const char* op) {
  const bool shape_ok =
      prompt.size() > prefix.size() && prompt.substr(0, prefix.size()) == prefix && prompt.back() == '=';
  const std::string_view body =
      shape_ok ? prompt.substr(prefix.size(), prompt.size() - prefix.size() - 1) : std::string_view{};
  bool body_ok = shape_ok && static_cast<int64_t>(body.size()) >= valid.lo &&
                 static_cast<int64_t>(body.size()) <= valid.hi;
  for (char c : body) body_ok = body_ok && letters.find(c) != std::string_view::npos;
  check(body_ok, op, "prompt '", prompt, "' is not of the form '", prefix, "<letters>=' with ", valid.str(),
        " letters from ", letters);
  return body;
}

}  // namespace chord::tasks::detail
#endif  // CHORD_DEFINES_NON_TEMPLATES
