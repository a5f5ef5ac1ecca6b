#pragma once
// The papers in miniature, part 3: what the runs produced, gathered over seeds.
//
//   RunResult     one run (a method or the base policy) on one seed: its final scores, its time,
//                 its metrics over the steps (empty for the base policy)
//   Results       every run over every seed, looked up by name; stats() gives a number over seeds

#include <chord/chord.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "statistics.hpp"

namespace miniature {

using namespace chord;

struct RunResult {
  std::string name;
  uint64_t seed = 0;
  std::vector<rl::SplitScore> scores;  // at the last step
  double seconds = 0;                  // wall time of its steps and evaluations
  io::MetricsTable curves;             // metrics.jsonl (eval/<split>/pass@1 every eval_every steps, the rest every step)

  rl::SplitScore split(const std::string& split_name) const {
    for (const auto& s : scores)
      if (s.name == split_name) return s;
    return {.name = split_name};
  }
};

// A series over steps of one seed: steps and values.
struct Curve {
  std::vector<double> x, y;
};

// The mean of y over the window [i - window + 1, i] at each point (a trailing moving average):
// per-step metrics such as the entropy are noisy from one step to the next.
inline Curve moving_average(Curve c, std::size_t window) {
  Curve out{c.x, std::vector<double>(c.y.size())};
  double sum = 0;
  for (std::size_t i = 0; i < c.y.size(); ++i) {
    sum += c.y[i];
    if (i >= window) sum -= c.y[i - window];
    out.y[i] = sum / static_cast<double>(std::min(i + 1, window));
  }
  return out;
}

class Results {
 public:
  void add(RunResult r) { by_name_[r.name].push_back(std::move(r)); }

  bool has(const std::string& name) const { return by_name_.count(name) != 0; }
  const std::vector<RunResult>& runs(const std::string& name) const {
    const auto it = by_name_.find(name);
    check(it != by_name_.end(), "papers_in_miniature", "no results for '", name, "'");
    return it->second;
  }
  // Runs sorted by seed (runs finish in any order when several run at once).
  void sort_by_seed() {
    for (auto& [name, runs] : by_name_)
      std::sort(runs.begin(), runs.end(), [](const RunResult& a, const RunResult& b) { return a.seed < b.seed; });
  }

  // One number per seed of run `name`.
  SeedStats stats(const std::string& name, const std::function<double(const RunResult&)>& value) const {
    SeedStats s;
    for (const RunResult& r : runs(name)) s.values.push_back(value(r));
    return s;
  }
  SeedStats pass_at_1(const std::string& name, const std::string& split) const {
    return stats(name, [&](const RunResult& r) { return r.split(split).pass_at_1; });
  }
  SeedStats pass_at_k(const std::string& name, const std::string& split) const {
    return stats(name, [&](const RunResult& r) { return r.split(split).pass_at_k; });
  }

 private:
  std::map<std::string, std::vector<RunResult>> by_name_;
};

// A metric of one run on one seed, as a curve (empty when the run did not log it).
inline Curve curve_of(const RunResult& r, const std::string& metric) {
  if (!r.curves.has(metric)) return {};
  auto [x, y] = r.curves.xy(metric);
  return {std::move(x), std::move(y)};
}

}  // namespace miniature
