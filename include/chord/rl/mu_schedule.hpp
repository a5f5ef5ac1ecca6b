#pragma once
// The schedule of CHORD's mixing weight mu (docs/algorithms.md section 4): a linear
// warm-up to `peak` over W steps, a cosine decay from `peak` to `valley` over
// the next D steps, then `valley`. Steps count from 1.
//
//   if step < W:          mu = peak * step / W
//   elif step >= W + D:   mu = valley            (checked before the cosine: W = D = 0 is a constant valley)
//   else:                 mu = valley + (peak - valley) * 0.5 * (1 + cos(pi * (step - W) / D))
//
//   rl::MuSchedule chord_mu{.peak = 0.9, .valley = 0.05, .warmup_steps = 0, .decay_steps = 200};  // CHORD-mu
//   auto chord_phi = rl::MuSchedule::constant(0.1);                                               // CHORD-phi
//   double mu = chord_mu.mu(step);

#include <cstdint>

#include "chord/core/non_templates.hpp"

namespace chord::rl {

struct MuSchedule {
  double peak = 0.9;           // in [0, 1]
  double valley = 0.05;        // in [0, 1]
  int64_t warmup_steps = 0;    // W >= 0
  int64_t decay_steps = 200;   // D >= 0

  // mu fixed at `value` from step 1.
  static MuSchedule constant(double value) { return {.peak = value, .valley = value, .warmup_steps = 0, .decay_steps = 0}; }

  void validate() const;

  // mu at optimizer step `step` (counting from 1).
  double mu(int64_t step) const;
};

}  // namespace chord::rl

#if CHORD_DEFINES_NON_TEMPLATES
#include <cmath>
#include <numbers>

#include "chord/core/error.hpp"

namespace chord::rl {

CHORD_INLINE void MuSchedule::validate() const {
  const char* op = "MuSchedule";
  check(std::isfinite(peak) && peak >= 0.0 && peak <= 1.0, op, "peak must be in [0, 1], got ", peak);
  check(std::isfinite(valley) && valley >= 0.0 && valley <= 1.0, op, "valley must be in [0, 1], got ", valley);
  check(warmup_steps >= 0, op, "warmup_steps must be >= 0, got ", warmup_steps);
  check(decay_steps >= 0, op, "decay_steps must be >= 0, got ", decay_steps);
}

CHORD_INLINE double MuSchedule::mu(int64_t step) const {
  validate();
  check(step >= 1, "MuSchedule", "steps count from 1, got step ", step);
  const int64_t W = warmup_steps, D = decay_steps;
  if (step < W) return peak * static_cast<double>(step) / static_cast<double>(W);
  if (step >= W + D) return valley;
  const double progress = static_cast<double>(step - W) / static_cast<double>(D);
  return valley + (peak - valley) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace chord::rl
#endif  // CHORD_DEFINES_NON_TEMPLATES
