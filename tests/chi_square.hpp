#pragma once
// Pearson's chi-square test of the tests that check a sampler's draws against its probabilities
// (tests/test_sample.cpp on the CPU, tests/test_cuda_sampling.cpp on a GPU).

#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

namespace chord::testing {

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
