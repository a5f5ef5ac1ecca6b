// Toy verifiable tasks: hand-worked problems in both styles, the verifier's three outcomes, the
// difficulty knob, length budgets, seeding, the suite's disjoint splits, training stream and
// pretraining corpus, the character set, and the errors.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace chord;
using namespace chord::tasks;
using chord::testing::make_problem;

namespace {

std::vector<std::shared_ptr<const Task>> all_tasks() {
  return {std::make_shared<Addition>(), std::make_shared<Sort>(), std::make_shared<Reverse>()};
}

// Independent answers, from the prompt text.
std::string naive_answer(const Problem& p) {
  if (p.family == "addition") {
    const auto plus = p.prompt.find('+');
    return std::to_string(std::stoll(p.prompt.substr(0, plus)) + std::stoll(p.prompt.substr(plus + 1)));
  }
  const auto space = p.prompt.find(' ');
  std::string letters = p.prompt.substr(space + 1, p.prompt.size() - space - 2);
  if (p.family == "sort") std::sort(letters.begin(), letters.end());
  else std::reverse(letters.begin(), letters.end());
  return letters;
}

}  // namespace

TEST_CASE("addition: hand-worked prompts, answers and both response styles") {
  const Addition add;
  const Problem p = make_problem(add, "347+285=", 3);
  CHECK(p.answer == "632");
  CHECK(add.base_solution(p) == "#632");
  CHECK(add.expert_solution(p) == "7+5=12,4+8+1=13,3+2+1=6#632");

  const Problem carry_out = make_problem(add, "999+999=", 3);
  CHECK(carry_out.answer == "1998");
  CHECK(add.expert_solution(carry_out) == "9+9=18,9+9+1=19,9+9+1=19#1998");

  const Problem no_carry = make_problem(add, "12+34=", 2);
  CHECK(add.expert_solution(no_carry) == "2+4=6,1+3=4#46");

  const Problem one_digit = make_problem(add, "0+0=", 1);
  CHECK(one_digit.answer == "0");
  CHECK(add.expert_solution(one_digit) == "0+0=0#0");
  CHECK(add.base_solution(one_digit) == "#0");
}

TEST_CASE("sort and reverse: hand-worked prompts, answers and both response styles") {
  const Sort sort;
  const Problem s = make_problem(sort, "sort dbcab=", 5);
  CHECK(s.answer == "abbcd");
  CHECK(sort.base_solution(s) == "#abbcd");
  CHECK(sort.expert_solution(s) == "a1b2c1d1#abbcd");
  const Problem repeats = make_problem(sort, "sort hhhhhhhhhhhh=", 12);
  CHECK(sort.expert_solution(repeats) == "h12#hhhhhhhhhhhh");

  const Reverse rev;
  const Problem r = make_problem(rev, "rev abcd=", 4);
  CHECK(r.answer == "dcba");
  CHECK(rev.base_solution(r) == "#dcba");
  CHECK(rev.expert_solution(r) == "d,c,b,a#dcba");
  CHECK(rev.expert_solution(make_problem(rev, "rev g=", 1)) == "g#g");
}

TEST_CASE("every base and expert solution scores 1, at every valid difficulty of every family") {
  Generator gen(11);
  for (const auto& task : all_tasks()) {
    const DifficultyRange valid = task->valid_difficulties();
    for (int d = valid.lo; d <= valid.hi; ++d) {
      for (int i = 0; i < 30; ++i) {
        const Problem p = task->generate(gen, d);
        INFO(task->name() << " d=" << d << " prompt " << p.prompt);
        REQUIRE(p.family == task->name());
        CHECK(p.difficulty == d);
        CHECK(p.answer == naive_answer(p));
        CHECK(task->solve(p.prompt) == p.answer);
        const std::string base = task->base_solution(p);
        const std::string expert = task->expert_solution(p);
        CHECK(base == "#" + p.answer);
        // The expert style differs: a non-empty scratchpad before the same final answer.
        CHECK(expert.size() > base.size());
        CHECK(expert.substr(expert.size() - base.size()) == base);
        CHECK(task->extract_answer(expert) == p.answer);
        CHECK(task->reward(p, base) == kRewardCorrect);
        CHECK(task->reward(p, expert) == kRewardCorrect);
      }
    }
  }
}

TEST_CASE("expert scratchpads are right step by step: addition columns with carries, sort counts") {
  Generator gen(12);
  const Addition add;
  for (int d = 1; d <= 9; ++d) {
    for (int i = 0; i < 20; ++i) {
      const Problem p = add.generate(gen, d);
      const std::string a = p.prompt.substr(0, p.prompt.find('+'));
      const std::string b = p.prompt.substr(a.size() + 1, a.size());
      const std::string expert = add.expert_solution(p);
      std::string pad = expert.substr(0, expert.find('#'));
      INFO(p.prompt << " -> " << expert);
      std::vector<std::string> steps;
      for (std::size_t start = 0;;) {
        const std::size_t comma = pad.find(',', start);
        steps.push_back(pad.substr(start, comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      REQUIRE(static_cast<int>(steps.size()) == d);
      int carry = 0;
      for (int k = 0; k < d; ++k) {  // column k from the right
        const std::string& step = steps[static_cast<std::size_t>(k)];
        const std::string expected_lhs = std::string(1, a[static_cast<std::size_t>(d - 1 - k)]) + "+" +
                                         b[static_cast<std::size_t>(d - 1 - k)] + (carry ? "+1" : "");
        CHECK(step.substr(0, step.find('=')) == expected_lhs);
        const int sum = (a[static_cast<std::size_t>(d - 1 - k)] - '0') + (b[static_cast<std::size_t>(d - 1 - k)] - '0') + carry;
        CHECK(step.substr(step.find('=') + 1) == std::to_string(sum));
        carry = sum / 10;
      }
    }
  }
  const Sort sort;
  for (int n = 1; n <= 16; ++n) {
    const Problem p = sort.generate(gen, n);
    const std::string letters = p.prompt.substr(5, static_cast<std::size_t>(n));
    const std::string expert = sort.expert_solution(p);
    const std::string pad = expert.substr(0, expert.find('#'));
    INFO(p.prompt << " -> " << expert);
    std::string expected;
    for (char c = 'a'; c <= 'h'; ++c) {
      const auto count = std::count(letters.begin(), letters.end(), c);
      if (count > 0) expected += c + std::to_string(count);
    }
    CHECK(pad == expected);
  }
}

TEST_CASE("wrong answers score 0: perturbed final answers and each family's wrong_answer") {
  Generator gen(13);
  for (const auto& task : all_tasks()) {
    const DifficultyRange id = task->id_difficulties();
    for (int i = 0; i < 200; ++i) {
      const Problem p = task->generate(gen, id.lo + i % id.count());
      INFO(task->name() << " " << p.prompt);
      const std::string wrong = task->wrong_answer(p, gen);
      CHECK(wrong != p.answer);
      CHECK(task->extract_answer("#" + wrong) == wrong);  // well-formed
      CHECK(task->reward(p, "#" + wrong) == kRewardWrong);
      // The expert scratchpad does not rescue a wrong final answer.
      const std::string expert = task->expert_solution(p);
      CHECK(task->reward(p, expert.substr(0, expert.find('#')) + "#" + wrong) == kRewardWrong);
      // A dropped or an extra character, a leading zero.
      CHECK(task->reward(p, "#" + p.answer.substr(1)) == (p.answer.size() > 1 ? kRewardWrong : kRewardMalformed));
      CHECK(task->reward(p, "#" + p.answer + p.answer.substr(0, 1)) == kRewardWrong);
    }
  }
  const Addition add;
  const Problem p = make_problem(add, "347+285=", 3);
  CHECK(add.reward(p, "#633") == kRewardWrong);
  CHECK(add.reward(p, "#0632") == kRewardWrong);
  CHECK(add.reward(p, "#632#631") == kRewardWrong);  // the last marker counts
  CHECK(add.reward(p, "#631#632") == kRewardCorrect);
  // Addition's near misses are a carry off: the answer differs by a power of ten.
  for (int i = 0; i < 100; ++i) {
    const int64_t delta = std::stoll(add.wrong_answer(p, gen)) - 632;
    CHECK((delta == 1 || delta == -1 || delta == 10 || delta == -10 || delta == 100 || delta == -100));
  }
}

TEST_CASE("malformed responses score -0.1: no marker, nothing after it, or foreign characters") {
  const Addition add;
  const Problem p = make_problem(add, "347+285=", 3);
  for (const std::string bad : {"", "632", "#", "632#", "#632#", "garbage", "#63 2", "#632 ", " #6a3", "#+632",
                                "7+5=12,4+8+1=13,3+2+1=6", "7+5=12,4+8+1=13,3+2+1=6#"}) {
    INFO("response '" << bad << "'");
    CHECK_FALSE(add.extract_answer(bad).has_value());
    CHECK(add.reward(p, bad) == kRewardMalformed);
  }
  const Sort sort;
  const Problem s = make_problem(sort, "sort dbcab=", 5);
  for (const std::string bad : {"", "abbcd", "#", "#abbcz", "#ABBCD", "#abb1d", "a1b2c1d1"}) {
    INFO("response '" << bad << "'");
    CHECK(sort.reward(s, bad) == kRewardMalformed);
  }
  CHECK(sort.reward(s, "#abbcd") == kRewardCorrect);
  CHECK(sort.reward(s, "#abbdc") == kRewardWrong);
}

TEST_CASE("the difficulty knob sets digit counts and string lengths; texts grow with it") {
  Generator gen(14);
  const Addition add;
  double previous_mean = 0;
  for (int d = 1; d <= 9; ++d) {
    double total = 0;
    for (int i = 0; i < 50; ++i) {
      const Problem p = add.generate(gen, d);
      const std::string a = p.prompt.substr(0, p.prompt.find('+'));
      const std::string b = p.prompt.substr(a.size() + 1, p.prompt.size() - a.size() - 2);
      INFO(p.prompt);
      CHECK(static_cast<int>(a.size()) == d);
      CHECK(static_cast<int>(b.size()) == d);
      CHECK((d == 1 || (a[0] != '0' && b[0] != '0')));
      CHECK((static_cast<int>(p.answer.size()) == d || static_cast<int>(p.answer.size()) == d + 1));
      total += static_cast<double>(p.prompt.size() + add.expert_solution(p).size());
    }
    CHECK(total / 50 > previous_mean);
    previous_mean = total / 50;
  }
  for (const auto& task : std::vector<std::shared_ptr<const Task>>{std::make_shared<Sort>(), std::make_shared<Reverse>()}) {
    for (int n = 1; n <= 16; ++n) {
      const Problem p = task->generate(gen, n);
      INFO(p.prompt);
      CHECK(static_cast<int>(p.answer.size()) == n);
      CHECK(p.prompt.size() == p.prompt.find(' ') + 2 + static_cast<std::size_t>(n));
    }
  }
  // The standard ranges: OOD is harder than ID.
  for (const auto& task : all_tasks()) CHECK(task->ood_difficulties().lo > task->id_difficulties().hi);
  CHECK(Addition().id_difficulties() == DifficultyRange{2, 3});
  CHECK(Addition().ood_difficulties() == DifficultyRange{4, 4});
}

TEST_CASE("prompt + response fits 96 chars at ID difficulties and 128 at OOD, and the bound is reached") {
  Generator gen(15);
  for (const auto& task : all_tasks()) {
    const auto within = [&](DifficultyRange range, int64_t budget) {
      for (int d = range.lo; d <= range.hi; ++d) {
        INFO(task->name() << " d=" << d);
        CHECK(task->max_text_length(d) <= budget);
        for (int i = 0; i < 100; ++i) {
          const Problem p = task->generate(gen, d);
          CHECK(static_cast<int64_t>((p.prompt + task->expert_solution(p)).size()) <= task->max_text_length(d));
          CHECK(task->base_solution(p).size() < task->expert_solution(p).size());
        }
      }
    };
    within(task->id_difficulties(), kIdLengthBudget);
    within(task->ood_difficulties(), kOodLengthBudget);
  }
  // Worst cases reach the bound exactly.
  const Addition add;
  for (int d = 1; d <= 9; ++d) {
    const std::string nines(static_cast<std::size_t>(d), '9');
    const Problem p = make_problem(add, nines + "+" + nines + "=", d);
    CHECK(static_cast<int64_t>((p.prompt + add.expert_solution(p)).size()) == add.max_text_length(d));
  }
  const Sort sort;
  for (int n = 1; n <= 8; ++n) {
    const Problem p = make_problem(sort, "sort " + std::string("hgfedcba").substr(0, static_cast<std::size_t>(n)) + "=", n);
    CHECK(static_cast<int64_t>((p.prompt + sort.expert_solution(p)).size()) == sort.max_text_length(n));
  }
  const Reverse rev;
  const Problem r = make_problem(rev, "rev abcabc=", 6);
  CHECK(static_cast<int64_t>((r.prompt + rev.expert_solution(r)).size()) == rev.max_text_length(6));

  const TaskSuite suite = TaskSuite::standard({.test_size = 10, .ood_size = 10, .retention_size = 10});
  CHECK(suite.max_text_length() == add.max_text_length(4));  // 49: the longest is OOD addition
  CHECK(suite.max_text_length() <= kOodLengthBudget);
}

TEST_CASE("the same seed gives the same problems; different seeds give different ones") {
  for (const auto& task : all_tasks()) {
    Generator g1(42), g2(42), g3(43);
    int differ = 0;
    for (int i = 0; i < 20; ++i) {
      const int d = task->id_difficulties().hi;
      const Problem a = task->generate(g1, d);
      CHECK(a == task->generate(g2, d));
      differ += a.prompt != task->generate(g3, d).prompt;
    }
    CHECK(differ >= 15);
  }
  const SuiteOptions options{.seed = 7, .test_size = 30, .ood_size = 20, .retention_size = 25};
  const TaskSuite s1 = TaskSuite::standard(options), s2 = TaskSuite::standard(options);
  CHECK(s1.test_id() == s2.test_id());
  CHECK(s1.test_ood() == s2.test_ood());
  CHECK(s1.retention() == s2.retention());
  Generator t1 = s1.train_generator(), t2 = s2.train_generator();
  CHECK(s1.train_batch(50, t1) == s2.train_batch(50, t2));
  Generator p1 = s1.pretrain_generator(), p2 = s2.pretrain_generator();
  const auto c1 = s1.pretrain_corpus(50, p1), c2 = s2.pretrain_corpus(50, p2);
  for (std::size_t i = 0; i < c1.size(); ++i) CHECK(c1[i].text() == c2[i].text());

  const TaskSuite other = TaskSuite::standard({.seed = 8, .test_size = 30, .ood_size = 20, .retention_size = 25});
  CHECK(other.test_id() != s1.test_id());
  CHECK(other.test_ood() != s1.test_ood());
  CHECK(other.retention() != s1.retention());
  Generator t3 = other.train_generator();
  t1 = s1.train_generator();
  CHECK(other.train_batch(50, t3) != s1.train_batch(50, t1));
}

TEST_CASE("TaskSuite: splits have the configured sizes and difficulties, no duplicates, and are disjoint") {
  const TaskSuite suite = TaskSuite::standard({.seed = 3, .test_size = 60, .ood_size = 40, .retention_size = 50});
  REQUIRE(suite.test_id().size() == 120);
  REQUIRE(suite.test_ood().size() == 80);
  REQUIRE(suite.retention().size() == 50);
  std::map<std::string, std::map<int, int>> per_difficulty;  // family -> difficulty -> count (id split)
  for (const Problem& p : suite.test_id()) {
    CHECK(suite.task(p.family).id_difficulties().contains(p.difficulty));
    CHECK(p.family != "reverse");
    ++per_difficulty[p.family][p.difficulty];
  }
  CHECK(per_difficulty["addition"] == std::map<int, int>{{2, 30}, {3, 30}});
  CHECK(per_difficulty["sort"] == std::map<int, int>{{3, 20}, {4, 20}, {5, 20}});
  for (const Problem& p : suite.test_ood()) {
    CHECK(suite.task(p.family).ood_difficulties().contains(p.difficulty));
    CHECK(p.family != "reverse");
  }
  for (const Problem& p : suite.retention()) {
    CHECK(p.family == "reverse");
    CHECK(suite.retention_task().id_difficulties().contains(p.difficulty));
  }
  std::set<std::string> seen;
  std::size_t total = 0;
  for (const Split& split : suite.splits()) {
    for (const Problem& p : split.problems) {
      CHECK(suite.is_held_out(p.prompt));
      seen.insert(p.prompt);
      ++total;
    }
  }
  CHECK(seen.size() == total);  // no prompt twice, within or across splits
  CHECK(suite.splits()[0].name == "id");
  CHECK(suite.splits()[1].name == "ood");
  CHECK(suite.splits()[2].name == "retention");
  CHECK_FALSE(suite.is_held_out("1+1="));
}

TEST_CASE("TaskSuite: the training stream covers every non-held-out prompt and never a held-out one") {
  // Small spaces (100 one-digit additions, 64 two-letter sorts) so that held-out prompts would be
  // drawn often if they were not excluded.
  const TaskSuite suite({std::make_shared<Addition>(Difficulties{.id = {1, 1}, .ood = {2, 2}}),
                         std::make_shared<Sort>(Difficulties{.id = {2, 2}, .ood = {3, 3}})},
                        std::make_shared<Reverse>(Difficulties{.id = {2, 2}, .ood = {3, 3}}),
                        {.seed = 5, .test_size = 30, .ood_size = 10, .retention_size = 20});
  Generator gen = suite.train_generator();
  std::map<std::string, std::set<std::string>> drawn;
  for (const Problem& p : suite.train_batch(3000, gen)) {
    CHECK_FALSE(suite.is_held_out(p.prompt));
    CHECK(p.family != "reverse");
    CHECK(suite.task(p.family).id_difficulties().contains(p.difficulty));
    drawn[p.family].insert(p.prompt);
  }
  CHECK(drawn["addition"].size() == 100 - 30);
  CHECK(drawn["sort"].size() == 64 - 30);
  CHECK(drawn.count("reverse") == 0);

  // The pretraining corpus also keeps out every held-out prompt, the retention ones included.
  Generator pre = suite.pretrain_generator();
  std::set<std::string> reverse_prompts;
  for (const Example& e : suite.pretrain_corpus(2000, pre)) {
    CHECK_FALSE(suite.is_held_out(e.problem.prompt));
    if (e.problem.family == "reverse") reverse_prompts.insert(e.problem.prompt);
  }
  CHECK(reverse_prompts.size() == 64 - 20);
}

TEST_CASE("TaskSuite: the pretraining corpus is base style with the configured share of wrong answers") {
  const TaskSuite suite = TaskSuite::standard({.seed = 9, .test_size = 20, .ood_size = 20, .retention_size = 20});
  Generator gen = suite.pretrain_generator();
  const auto corpus = suite.pretrain_corpus(4000, gen, {.wrong_fraction = 0.3, .retention_share = 0.25});
  REQUIRE(corpus.size() == 4000);
  int retention = 0, train = 0, wrong = 0;
  for (const Example& e : corpus) {
    const Problem& p = e.problem;
    INFO(e.text());
    CHECK(e.text() == p.prompt + e.response);
    CHECK(e.response[0] == '#');  // base style: the answer only
    CHECK(suite.task(p.family).id_difficulties().contains(p.difficulty));  // never OOD
    const double r = suite.reward(p, e.response);
    CHECK(r != kRewardMalformed);
    if (p.family == "reverse") {
      ++retention;
      CHECK(r == kRewardCorrect);
    } else {
      ++train;
      wrong += r == kRewardWrong;
    }
  }
  CHECK(std::abs(retention / 4000.0 - 0.25) < 0.04);
  CHECK(std::abs(static_cast<double>(wrong) / train - 0.3) < 0.04);

  Generator g0 = suite.pretrain_generator();
  for (const Example& e : suite.pretrain_corpus(300, g0, {.wrong_fraction = 0.0, .retention_share = 0.0})) {
    CHECK(e.problem.family != "reverse");
    CHECK(suite.reward(e.problem, e.response) == kRewardCorrect);
  }
  Generator g1 = suite.pretrain_generator();
  for (const Example& e : suite.pretrain_corpus(300, g1, {.wrong_fraction = 1.0, .retention_share = 0.0}))
    CHECK(suite.reward(e.problem, e.response) == kRewardWrong);
  Generator g2 = suite.pretrain_generator();
  for (const Example& e : suite.pretrain_corpus(100, g2, {.wrong_fraction = 1.0, .retention_share = 1.0})) {
    CHECK(e.problem.family == "reverse");
    CHECK(suite.reward(e.problem, e.response) == kRewardCorrect);
  }
}

TEST_CASE("the retention skill is a distinct family with its own prompts, answers and verifier") {
  const TaskSuite suite = TaskSuite::standard({.test_size = 10, .ood_size = 10, .retention_size = 10});
  const Task& rev = suite.retention_task();
  CHECK(rev.name() == "reverse");
  for (const auto& t : suite.train_tasks()) CHECK(t->name() != rev.name());
  const Problem p = suite.retention()[0];
  CHECK(p.prompt.rfind("rev ", 0) == 0);
  CHECK(suite.reward(p, suite.base_solution(p)) == kRewardCorrect);
  CHECK(suite.expert_solution(p) == rev.expert_solution(p));
  // Its prompts are not prompts of the post-training families, and their verifiers refuse its problems.
  for (const auto& t : suite.train_tasks()) {
    CHECK_THROWS_AS(t->solve(p.prompt), chord::Error);
    CHECK_THROWS_AS(t->reward(p, "#abc"), chord::Error);
  }
  // Reversing is not sorting: on most prompts the answers differ.
  Generator gen(16);
  int differ = 0;
  for (int i = 0; i < 50; ++i) {
    const Problem r = rev.generate(gen, 5);
    differ += r.answer != suite.task("sort").solve("sort " + r.prompt.substr(4));
  }
  CHECK(differ >= 45);
}

TEST_CASE("the char set covers every text the tasks produce, and nothing more") {
  const TaskSuite suite = TaskSuite::standard({.test_size = 10, .ood_size = 10, .retention_size = 10});
  const std::string charset = suite.charset();
  CHECK(std::is_sorted(charset.begin(), charset.end()));
  CHECK(std::adjacent_find(charset.begin(), charset.end()) == charset.end());
  const io::Tokenizer tok = io::Tokenizer::char_level(charset);
  CHECK(tok.vocab_size() == static_cast<int64_t>(charset.size()) + 3);

  Generator gen(17);
  std::set<char> used;
  for (const auto& task : all_tasks()) {
    const std::string alphabet = task->alphabet();
    const DifficultyRange valid = task->valid_difficulties();
    for (int d = valid.lo; d <= valid.hi; ++d) {
      for (int i = 0; i < 20; ++i) {
        const Problem p = task->generate(gen, d);
        for (const std::string& text : {p.prompt, task->base_solution(p), task->expert_solution(p),
                                        Task::base_response(task->wrong_answer(p, gen))}) {
          INFO(task->name() << ": '" << text << "'");
          for (char c : text) {
            CHECK(alphabet.find(c) != std::string::npos);
            CHECK(charset.find(c) != std::string::npos);
            used.insert(c);
          }
          CHECK(tok.decode(tok.encode(text)) == text);
        }
      }
    }
  }
  CHECK(std::string(used.begin(), used.end()) == charset);
}

TEST_CASE("bad difficulties, prompts, problems and suite options raise chord::Error naming the value") {
  const Addition add;
  const Sort sort;
  Generator gen(18);
  CHORD_CHECK_ERROR(add.generate(gen, 0), "addition: generate: difficulty 0 is outside the valid range [1, 9]");
  CHORD_CHECK_ERROR(add.generate(gen, 10), "difficulty 10");
  CHORD_CHECK_ERROR(sort.generate(gen, -1), "sort: generate: difficulty -1");
  CHORD_CHECK_ERROR(sort.max_text_length(17), "sort: max_text_length: difficulty 17");
  CHORD_CHECK_ERROR(Addition(Difficulties{.id = {0, 3}, .ood = {4, 4}}), "addition: in-distribution difficulties [0, 3]");
  CHORD_CHECK_ERROR(Sort(Difficulties{.id = {3, 5}, .ood = {8, 6}}), "sort: out-of-distribution difficulties [8, 6]");

  CHORD_CHECK_ERROR(add.solve("12+345="), "addition: prompt '12+345='");
  CHORD_CHECK_ERROR(add.solve("012+345="), "prompt '012+345='");
  CHORD_CHECK_ERROR(add.solve("12+34"), "prompt '12+34'");
  CHORD_CHECK_ERROR(add.solve("1a+34="), "prompt '1a+34='");
  CHORD_CHECK_ERROR(sort.solve("sort abz="), "sort: prompt 'sort abz='");
  CHORD_CHECK_ERROR(sort.solve("sort ="), "prompt 'sort ='");
  CHORD_CHECK_ERROR(Reverse().solve("sort abc="), "reverse: prompt 'sort abc='");

  const Problem good = make_problem(add, "12+34=", 2);
  Problem bad_answer = good;
  bad_answer.answer = "47";
  CHORD_CHECK_ERROR(add.expert_solution(bad_answer), "addition: expert_solution: the problem's answer '47'");
  CHORD_CHECK_ERROR(add.base_solution(bad_answer), "base_solution: the problem's answer '47'");
  const Problem sorted = make_problem(sort, "sort ba=", 2);
  CHORD_CHECK_ERROR(add.expert_solution(sorted), "addition: expert_solution: the problem belongs to family 'sort'");
  CHORD_CHECK_ERROR(add.reward(sorted, "#ab"), "addition: reward: the problem belongs to family 'sort'");

  CHORD_CHECK_ERROR(TaskSuite::standard({.test_size = 0}), "TaskSuite: test_size 0 must be at least 1");
  CHORD_CHECK_ERROR(TaskSuite::standard({.ood_size = -2}), "TaskSuite: ood_size -2");
  CHORD_CHECK_ERROR(TaskSuite::standard({.retention_size = 0}), "TaskSuite: retention_size 0");
  CHORD_CHECK_ERROR(TaskSuite({}, std::make_shared<Reverse>()), "at least one post-training task");
  CHORD_CHECK_ERROR(TaskSuite({std::make_shared<Addition>()}, nullptr), "held-out (retention) task");
  CHORD_CHECK_ERROR(TaskSuite({std::make_shared<Addition>(), std::make_shared<Addition>()}, std::make_shared<Reverse>()),
                    "task family 'addition' is given twice");
  CHORD_CHECK_ERROR(TaskSuite({std::make_shared<Reverse>()}, std::make_shared<Reverse>()),
                    "'reverse' cannot be both");
  // 1-digit additions have only 100 prompts: 150 distinct test problems cannot exist.
  CHORD_CHECK_ERROR(TaskSuite({std::make_shared<Addition>(Difficulties{.id = {1, 1}, .ood = {2, 2}})},
                              std::make_shared<Reverse>(), {.test_size = 150}),
                    "could not draw 150 distinct 'addition' problems for the id split: difficulty 1");

  const TaskSuite suite = TaskSuite::standard({.test_size = 5, .ood_size = 5, .retention_size = 5});
  Generator g = suite.train_generator();
  CHORD_CHECK_ERROR(suite.train_batch(-1, g), "TaskSuite::train_batch: count -1 is negative");
  CHORD_CHECK_ERROR(suite.pretrain_corpus(-3, g), "count -3");
  CHORD_CHECK_ERROR(suite.pretrain_corpus(3, g, {.wrong_fraction = 1.5}), "wrong_fraction 1.5 is not in [0, 1]");
  CHORD_CHECK_ERROR(suite.pretrain_corpus(3, g, {.retention_share = -0.5}), "retention_share -0.5");
  CHORD_CHECK_ERROR(suite.task("multiplication"), "TaskSuite: no task family named 'multiplication'");
  CHORD_CHECK_ERROR(suite.reward(Problem{"x", "y", 1, "nope"}, "#y"), "no task family named 'nope'");
  CHECK(suite.train_batch(0, g).empty());
}
