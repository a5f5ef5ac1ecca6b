#pragma once
// Learning-rate schedules, as functions of the optimizer step (counted from 1).
//
//   constant:       lr(step) = peak
//   warmup_cosine:  lr(step) = peak * step / W                        for step <= W
//                            = min + (peak - min) * 0.5 (1 + cos(pi * (step - W) / (S - W)))   up to S
//                            = min                                    after S
// (W = warmup_steps, S = total_steps.)

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "chord/core/error.hpp"

namespace chord::optim {

struct LRSchedule {
  enum class Kind { Constant, WarmupCosine };
  Kind kind = Kind::Constant;
  double peak_lr = 1e-3;
  double min_lr = 0.0;
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;

  static LRSchedule constant(double lr) { return {Kind::Constant, lr, lr, 0, 0}; }
  static LRSchedule warmup_cosine(double peak, double min, int64_t warmup, int64_t total) {
    LRSchedule s{Kind::WarmupCosine, peak, min, warmup, total};
    s.validate();
    return s;
  }

  void validate() const {
    check(peak_lr >= 0 && min_lr >= 0, "LRSchedule", "learning rates must be >= 0, got peak ", peak_lr, " and min ",
          min_lr);
    if (kind == Kind::WarmupCosine)
      check(warmup_steps >= 0 && total_steps >= warmup_steps, "LRSchedule", "need 0 <= warmup_steps (",
            warmup_steps, ") <= total_steps (", total_steps, ")");
  }

  double operator()(int64_t step) const {
    check(step >= 1, "LRSchedule", "steps count from 1, got ", step);
    if (kind == Kind::Constant) return peak_lr;
    if (step <= warmup_steps) return peak_lr * static_cast<double>(step) / static_cast<double>(warmup_steps);
    if (step >= total_steps) return min_lr;
    const double progress =
        static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
    return min_lr + (peak_lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  }
};

}  // namespace chord::optim
