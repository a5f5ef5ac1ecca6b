#pragma once
// What the sampler tests draw from and how they judge the draws, shared by the CPU's
// (tests/test_sample.cpp) and the GPU's (tests/test_cuda_sampling.cpp): one logits row, the
// filter settings of the distribution test, and Pearson's chi-square test.

#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include <chord/sample/filters.hpp>

namespace chord::testing {

// A row of 11 logits with distinct values (no ties), some negative.
inline const std::vector<float> kSamplingRow = {1.0f, 0.2f, -0.5f, 2.0f, 0.7f, -1.0f, 1.5f, 0.0f, -0.3f, 0.9f, 0.4f};

// Each filter on its own and all together, at several temperatures.
inline std::vector<sample::FilterOptions> chi_square_filter_cases() {
  return {
      {.temperature = 1.0},
      {.temperature = 1.5, .top_k = 4},
      {.temperature = 1.0, .top_p = 0.75},
      {.temperature = 1.2, .min_p = 0.25},
      {.temperature = 2.0, .top_k = 8, .top_p = 0.9, .min_p = 0.1},
  };
}

// Names every setting of the FilterOptions `o` in the message of a failing check.
#define CHORD_CAPTURE_FILTER(o)       \
  CAPTURE((o).temperature);           \
  CAPTURE((o).top_k);                 \
  CAPTURE((o).top_p);                 \
  CAPTURE((o).min_p);                 \
  CAPTURE((o).repetition_penalty)

// Upper 0.1% critical values of the chi-square distribution, df = 1..20.
inline double chi_square_critical_0001(int df) {
  static const double table[] = {10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588,
                                 31.264, 32.909, 34.528, 36.123, 37.697, 39.252, 40.790, 42.312, 43.820, 45.315};
  REQUIRE(df >= 1);
  REQUIRE(df <= 20);
  return table[df - 1];
}

// Pearson's statistic sum (O - E)^2 / E over the cells with p > 0; df = cells - 1. Every draw
// must fall in a cell with p > 0.
template <class P>
double chi_square(const std::vector<int64_t>& counts, const std::vector<P>& p, int64_t draws, int& df) {
  double stat = 0;
  int cells = 0;
  for (std::size_t v = 0; v < p.size(); ++v) {
    if (p[v] <= 0) continue;
    const double expected = static_cast<double>(p[v]) * static_cast<double>(draws);
    REQUIRE(expected >= 5.0);  // the approximation's usual condition
    stat += (counts[v] - expected) * (counts[v] - expected) / expected;
    ++cells;
  }
  df = cells - 1;
  return stat;
}

}  // namespace chord::testing
