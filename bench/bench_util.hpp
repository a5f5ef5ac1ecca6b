#pragma once
// Timing helpers shared by the benchmarks: run a body after warm-up, report
// the median and the min-max spread of the timed repetitions.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace chord::bench {

struct Timing {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int reps = 0;
};

// The median of xs (not empty).
inline double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  const std::size_t n = xs.size();
  return n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

// Runs body() `warmup` times untimed, then `reps` times timed.
template <class Body>
Timing time_it(int warmup, int reps, Body&& body) {
  for (int i = 0; i < warmup; ++i) body();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    body();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  const auto [lowest, highest] = std::minmax_element(ms.begin(), ms.end());
  return {median(ms), *lowest, *highest, reps};
}

// One machine-readable line per measurement ("RESULT key=value ..."), which
// bench/*.sh scripts parse to print ratios against the references.
inline void print_result(const std::string& name, const Timing& t, double items_per_rep, const char* unit) {
  std::printf("RESULT %s median_ms=%.3f min_ms=%.3f max_ms=%.3f reps=%d %s=%.1f\n", name.c_str(), t.median_ms,
              t.min_ms, t.max_ms, t.reps, unit, items_per_rep / (t.median_ms / 1000.0));
  std::fflush(stdout);
}

}  // namespace chord::bench
