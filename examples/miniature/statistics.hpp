#pragma once
// The papers in miniature, part 2: numbers over seeds, and when a difference counts as real.
//
// A difference between two methods is called real only when their ranges over the seeds do not
// overlap: every seed of the one above every seed of the other. With n seeds on each side that is
// the exact one-sided Mann-Whitney U test at U = 0, whose p-value is 1 / C(2n, n): 0.05 for 3
// seeds, 0.008 for 4, 0.004 for 5. With one seed nothing can be called real.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace miniature {

// Mean, sample standard deviation, min and max of one number over the seeds.
struct SeedStats {
  std::vector<double> values;

  std::size_t n() const { return values.size(); }
  double mean() const {
    double s = 0;
    for (double v : values) s += v;
    return values.empty() ? 0.0 : s / static_cast<double>(values.size());
  }
  double std() const {  // sample standard deviation (n - 1); 0 for one seed
    if (values.size() < 2) return 0.0;
    const double m = mean();
    double s = 0;
    for (double v : values) s += (v - m) * (v - m);
    return std::sqrt(s / static_cast<double>(values.size() - 1));
  }
  double min() const { return values.empty() ? 0.0 : *std::min_element(values.begin(), values.end()); }
  double max() const { return values.empty() ? 0.0 : *std::max_element(values.begin(), values.end()); }
};

// x with `decimals` decimals: "0.848".
inline std::string decimals(double x, int digits = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

// "0.848 ± 0.035" (mean ± std), or "0.848" for one seed.
inline std::string mean_std(const SeedStats& s, int digits = 3) {
  return s.n() < 2 ? decimals(s.mean(), digits) : decimals(s.mean(), digits) + " ± " + decimals(s.std(), digits);
}

// p-value of the exact one-sided Mann-Whitney test at U = 0 with n and m seeds: 1 / C(n + m, n).
inline double separation_p_value(std::size_t n, std::size_t m) {
  double c = 1;
  for (std::size_t i = 1; i <= n; ++i) c = c * static_cast<double>(m + i) / static_cast<double>(i);
  return 1.0 / c;
}

enum class Order { Above, Below, Overlap, OneSeed };

// Where a lies against b: Above when min(a) > max(b), Below when max(a) < min(b).
inline Order compare(const SeedStats& a, const SeedStats& b) {
  if (a.n() < 2 || b.n() < 2) return Order::OneSeed;
  if (a.min() > b.max()) return Order::Above;
  if (a.max() < b.min()) return Order::Below;
  return Order::Overlap;
}

// A finding's verdict.
enum class Verdict { Reproduced, NotReproduced, OneSeed, NotRun };

inline const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::Reproduced: return "reproduced";
    case Verdict::NotReproduced: return "not reproduced";
    case Verdict::OneSeed: return "one seed: no verdict";
    case Verdict::NotRun: return "not run in this preset";
  }
  return "?";
}

// The claim "a > b": reproduced only when a's range is above b's.
inline Verdict verdict_above(const SeedStats& a, const SeedStats& b) {
  const Order o = compare(a, b);
  if (o == Order::OneSeed) return Verdict::OneSeed;
  return o == Order::Above ? Verdict::Reproduced : Verdict::NotReproduced;
}

// The claim "a >= b": reproduced unless b's range is above a's (a tie within the seeds' spread holds).
inline Verdict verdict_at_least(const SeedStats& a, const SeedStats& b) {
  const Order o = compare(a, b);
  if (o == Order::OneSeed) return Verdict::OneSeed;
  return o == Order::Below ? Verdict::NotReproduced : Verdict::Reproduced;
}

// Both claims must hold (NotRun and OneSeed win over a verdict, in that order).
inline Verdict both(Verdict a, Verdict b) {
  if (a == Verdict::NotRun || b == Verdict::NotRun) return Verdict::NotRun;
  if (a == Verdict::OneSeed || b == Verdict::OneSeed) return Verdict::OneSeed;
  return a == Verdict::Reproduced && b == Verdict::Reproduced ? Verdict::Reproduced : Verdict::NotReproduced;
}

// "above (separated)", "below (separated)", "overlapping", for the findings' text.
inline const char* order_words(Order o) {
  switch (o) {
    case Order::Above: return "above, separated";
    case Order::Below: return "below, separated";
    case Order::Overlap: return "ranges overlap";
    case Order::OneSeed: return "one seed";
  }
  return "?";
}

}  // namespace miniature
