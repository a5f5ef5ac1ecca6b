#pragma once
// The common interface of the toy verifiable tasks (the `tasks` layer).
//
// A task family writes problems (a prompt and its reference answer) at a difficulty, answers them in
// two styles, and scores any response. Every family uses the same text format, so that one verifier
// scores every response and one character-level tokenizer covers every text:
//
//   prompt     family-specific, ends with '='            "347+285="      "sort dbcab="
//   response   base style: the final answer only         "#632"          "#abbcd"
//              expert style: a short scratchpad, then    "7+5=12,4+8+1=13,3+2+1=6#632"
//              the same final answer                                     "a1b2c1d1#abbcd"
//
// The final answer is everything after the LAST answer marker '#', up to the end of the response.
// A response holds no end-of-sequence token: the model layer appends EOS (and stops sampling there).
//
// Reward (the verifier; a pure function of the problem and the response, as in the CHORD code):
//    1    the final answer equals the reference answer exactly;
//   -0.1  malformed: no '#', or nothing after the last '#', or a character after it that the family's
//         answers never contain (so "#63 2", "#632 ", "#6x" are malformed);
//    0    otherwise (a well-formed wrong answer, "#0632" included).
// Only the final answer is verified; the scratchpad before it is free-form.
//
// Difficulty is an integer knob whose meaning each family documents (a digit count, a string
// length). Each family has a valid range, an in-distribution (ID) range used for training and the ID
// test split, and a harder out-of-distribution (OOD) range used only for the OOD test split.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "chord/core/generator.hpp"
#include "chord/core/non_templates.hpp"

namespace chord::tasks {

// The marker that opens the final answer of every response.
inline constexpr char kAnswerMarker = '#';

// The verifier's three outcomes.
inline constexpr double kRewardCorrect = 1.0;
inline constexpr double kRewardWrong = 0.0;
inline constexpr double kRewardMalformed = -0.1;

// Character budgets of prompt + longest response (no BOS/EOS) for a character-level model: every
// problem of the standard families fits the first at their ID difficulties and the second at their
// OOD ones (Task::max_text_length gives the exact bound per difficulty).
inline constexpr int64_t kIdLengthBudget = 96;
inline constexpr int64_t kOodLengthBudget = 128;

// One problem: the prompt the policy sees and the answer the verifier expects.
struct Problem {
  std::string prompt;  // e.g. "347+285="
  std::string answer;  // e.g. "632" (without the marker)
  int difficulty = 0;  // the family's knob, e.g. the digit count
  std::string family;  // the task's name(), e.g. "addition"

  bool operator==(const Problem&) const = default;
};

// An inclusive range of difficulties.
struct DifficultyRange {
  int lo = 1;
  int hi = 1;

  bool contains(int difficulty) const { return difficulty >= lo && difficulty <= hi; }
  bool contains(const DifficultyRange& other) const { return other.lo >= lo && other.hi <= hi && other.lo <= other.hi; }
  int count() const { return hi - lo + 1; }
  std::string str() const { return "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]"; }
  bool operator==(const DifficultyRange&) const = default;
};

// The ID and OOD ranges a family is used at.
struct Difficulties {
  DifficultyRange id;
  DifficultyRange ood;
};

// The final answer of `response`: what follows the last '#', if it is non-empty and made only of
// `answer_chars`; nullopt for a malformed response.
std::optional<std::string> extract_answer(std::string_view response, std::string_view answer_chars);

// A task family. Implementations are immutable: every method is const and thread-safe.
class Task {
 public:
  virtual ~Task() = default;

  const std::string& name() const { return name_; }
  DifficultyRange valid_difficulties() const { return valid_; }
  DifficultyRange id_difficulties() const { return ranges_.id; }
  DifficultyRange ood_difficulties() const { return ranges_.ood; }

  // A random problem at `difficulty` (chord::Error outside valid_difficulties()).
  virtual Problem generate(Generator& gen, int difficulty) const = 0;

  // The reference solver: the answer to `prompt` (chord::Error if it is not a prompt of this family).
  virtual std::string solve(std::string_view prompt) const = 0;

  // The response in the EXPERT style: a scratchpad that works the problem out, then "#<answer>".
  virtual std::string expert_solution(const Problem& problem) const = 0;

  // The response in the BASE style, the same for every family: "#<answer>".
  std::string base_solution(const Problem& problem) const;

  // A base-style response with `answer` as its final answer (for corrupted pretraining data).
  static std::string base_response(std::string_view answer) {
    return std::string(1, kAnswerMarker) + std::string(answer);
  }

  // A plausible wrong answer to `problem`: well-formed (scores 0), never equal to the reference.
  // The default changes one character to another of answer_chars(); families may do better.
  CHORD_INLINE_VIRTUAL virtual std::string wrong_answer(const Problem& problem, Generator& gen) const;

  // The final answer of `response`, or nullopt when it is malformed (see the top of this file).
  std::optional<std::string> extract_answer(std::string_view response) const {
    return tasks::extract_answer(response, answer_chars());
  }

  // 1 for the correct final answer, -0.1 for a malformed response, 0 otherwise.
  double reward(const Problem& problem, std::string_view response) const;

  // Every character this family can put in a prompt or a response (sorted, distinct).
  virtual std::string alphabet() const = 0;
  // Every character a final answer of this family can contain.
  virtual std::string answer_chars() const = 0;
  // An upper bound on the length (characters) of prompt + longest response at `difficulty`; the
  // standard families reach it at every ID and OOD difficulty (so it is the context a model needs).
  virtual int64_t max_text_length(int difficulty) const = 0;

 protected:
  Task(std::string name, DifficultyRange valid, Difficulties ranges);

  void check_difficulty(int difficulty, const char* what) const;

  // The problem belongs to this family and its answer is the reference solver's.
  void check_problem(const Problem& problem, const char* what) const;

 private:
  std::string name_;
  DifficultyRange valid_;
  Difficulties ranges_;
};

}  // namespace chord::tasks

#if CHORD_DEFINES_NON_TEMPLATES
#include <utility>

#include "chord/core/error.hpp"

namespace chord::tasks {

CHORD_INLINE std::optional<std::string> extract_answer(std::string_view response, std::string_view answer_chars) {
  const std::size_t at = response.rfind(kAnswerMarker);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view answer = response.substr(at + 1);
  if (answer.empty()) return std::nullopt;
  for (char c : answer)
    if (answer_chars.find(c) == std::string_view::npos) return std::nullopt;
  return std::string(answer);
}

CHORD_INLINE std::string Task::base_solution(const Problem& problem) const {
  check_problem(problem, "base_solution");
  return base_response(problem.answer);
}

CHORD_INLINE std::string Task::wrong_answer(const Problem& problem, Generator& gen) const {
  check_problem(problem, "wrong_answer");
  const std::string chars = answer_chars();
  check(chars.size() >= 2 && !problem.answer.empty(), name_.c_str(),
        "wrong_answer: needs a non-empty answer and at least two answer characters");
  std::string wrong = problem.answer;
  const auto pos = static_cast<std::size_t>(gen.randint(0, static_cast<int64_t>(wrong.size())));
  const std::size_t old = chars.find(wrong[pos]);
  const auto shift = static_cast<std::size_t>(gen.randint(1, static_cast<int64_t>(chars.size())));
  wrong[pos] = chars[(old + shift) % chars.size()];  // any other character of the answer alphabet
  return wrong;
}

CHORD_INLINE double Task::reward(const Problem& problem, std::string_view response) const {
  check(problem.family == name_, name_.c_str(), "reward: the problem belongs to family '", problem.family,
        "', not '", name_, "'");
  const std::optional<std::string> answer = extract_answer(response);
  if (!answer) return kRewardMalformed;
  return *answer == problem.answer ? kRewardCorrect : kRewardWrong;
}

CHORD_INLINE Task::Task(std::string name, DifficultyRange valid, Difficulties ranges)
    : name_(std::move(name)), valid_(valid), ranges_(ranges) {
  check(valid_.lo <= valid_.hi, name_.c_str(), "valid difficulty range ", valid_.str(), " is empty");
  check(valid_.contains(ranges_.id), name_.c_str(), "in-distribution difficulties ", ranges_.id.str(),
        " must be a non-empty range inside the valid range ", valid_.str());
  check(valid_.contains(ranges_.ood), name_.c_str(), "out-of-distribution difficulties ", ranges_.ood.str(),
        " must be a non-empty range inside the valid range ", valid_.str());
}

CHORD_INLINE void Task::check_difficulty(int difficulty, const char* what) const {
  check(valid_.contains(difficulty), name_.c_str(), what, ": difficulty ", difficulty,
        " is outside the valid range ", valid_.str());
}

CHORD_INLINE void Task::check_problem(const Problem& problem, const char* what) const {
  check(problem.family == name_, name_.c_str(), what, ": the problem belongs to family '", problem.family,
        "', not '", name_, "'");
  const std::string expected = solve(problem.prompt);
  check(problem.answer == expected, name_.c_str(), what, ": the problem's answer '", problem.answer,
        "' is not the answer '", expected, "' to prompt '", problem.prompt, "'");
}

}  // namespace chord::tasks
#endif  // CHORD_DEFINES_NON_TEMPLATES
