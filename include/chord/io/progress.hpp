#pragma once
// One progress line per report, for training loops:
//
//   chord::io::Progress progress(1000);
//   ...
//   progress.print(step, {{"loss", loss}, {"reward", r}}, tokens_so_far);
//   // step  120/1000 | loss 2.314 | reward 0.5 | 5,120 tok/s | 00:42 elapsed | ETA 05:08
//
// Time comes from a monotonic clock (std::chrono::steady_clock), or from the
// clock given to the constructor (seconds as a double), so tests can fix it.
// Elapsed time counts from construction; the speed in tokens per second is the
// tokens processed since then over that time; the ETA assumes the remaining
// steps go as fast as the ones since `start_step` (the step a run resumed from).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/non_templates.hpp"

namespace chord::io {

namespace detail {
// "05:08" below an hour, "1:02:03" from an hour up.
std::string format_duration(double seconds);
// 5120 -> "5,120".
std::string with_thousands(long long v);
// A value with `digits` significant digits: 2.314, 0.5, 1.2e-5.
std::string format_value(double v, int digits);
}  // namespace detail

class Progress {
 public:
  using Clock = std::function<double()>;  // seconds since any fixed origin, never decreasing

  static double steady_seconds();

  // total_steps: the step count at the end; start_step: where this run starts
  // (0, or the step it resumed from); digits: significant digits of values.
  explicit Progress(std::int64_t total_steps, Clock clock = {}, std::int64_t start_step = 0, int digits = 4);

  // Seconds since construction.
  double elapsed() const { return std::max(0.0, clock_() - start_); }

  // "step  120/1000 | loss 2.314 | 5,120 tok/s | 00:42 elapsed | ETA 05:08".
  // tokens: processed since construction, or < 0 to leave the speed out (shown
  // as "--" during the first millisecond).
  std::string line(std::int64_t step, const std::vector<std::pair<std::string, double>>& values = {},
                   std::int64_t tokens = -1) const;

  // Writes line(...) and a newline to `out` (default stderr) and flushes it.
  void print(std::int64_t step, const std::vector<std::pair<std::string, double>>& values = {},
             std::int64_t tokens = -1, std::FILE* out = stderr) const;

 private:
  std::int64_t total_, start_step_;
  int digits_;
  Clock clock_;
  double start_ = 0;
};

}  // namespace chord::io

#if CHORD_DEFINES_NON_TEMPLATES
#include <chrono>
#include <cmath>

namespace chord::io {

namespace detail {

CHORD_INLINE std::string format_duration(double seconds) {
  const long long s = std::llround(std::max(0.0, seconds));
  char buf[48];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%02lld:%02lld", s / 60, s % 60);
  return buf;
}

CHORD_INLINE std::string with_thousands(long long v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (v < 0 ? "-" : "") + out;
}

CHORD_INLINE std::string format_value(double v, int digits) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  std::string s = buf;
  const auto e = s.find('e');
  if (e == std::string::npos) return s;
  std::string exp = s.substr(e + 1);  // "e-05" -> "e-5", "e+06" -> "e6"
  const bool neg = exp[0] == '-';
  exp.erase(0, 1);
  while (exp.size() > 1 && exp[0] == '0') exp.erase(0, 1);
  return s.substr(0, e) + "e" + (neg ? "-" : "") + exp;
}

}  // namespace detail

CHORD_INLINE double Progress::steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

CHORD_INLINE Progress::Progress(std::int64_t total_steps, Clock clock, std::int64_t start_step, int digits)
    : total_(total_steps), start_step_(start_step), digits_(digits),
      clock_(clock ? std::move(clock) : Clock(&Progress::steady_seconds)) {
  check(total_ > 0, "Progress", "total_steps must be > 0, got ", total_);
  check(start_step_ >= 0 && start_step_ <= total_, "Progress", "start_step ", start_step_, " is outside [0, ",
        total_, "]");
  check(digits_ >= 1 && digits_ <= 17, "Progress", "digits must be in [1, 17], got ", digits_);
  start_ = clock_();
}

CHORD_INLINE std::string Progress::line(std::int64_t step, const std::vector<std::pair<std::string, double>>& values,
                                       std::int64_t tokens) const {
  check(step >= 0 && step <= total_, "Progress", "step ", step, " is outside [0, ", total_, "]");
  const double t = elapsed();
  const int width = static_cast<int>(std::to_string(total_).size());
  char buf[96];
  std::snprintf(buf, sizeof buf, "step %*lld/%lld", width, static_cast<long long>(step),
                static_cast<long long>(total_));
  std::string out = buf;
  for (const auto& [name, v] : values) out += " | " + name + " " + detail::format_value(v, digits_);
  if (tokens >= 0)
    out += " | " + (t >= 1e-3 ? detail::with_thousands(std::llround(static_cast<double>(tokens) / t)) : "--") + " tok/s";
  out += " | " + detail::format_duration(t) + " elapsed | ETA ";
  const std::int64_t done = step - start_step_;
  if (step == total_) out += detail::format_duration(0);
  else if (done <= 0) out += "--:--";
  else out += detail::format_duration(t / static_cast<double>(done) * static_cast<double>(total_ - step));
  return out;
}

CHORD_INLINE void Progress::print(std::int64_t step, const std::vector<std::pair<std::string, double>>& values,
                                  std::int64_t tokens, std::FILE* out) const {
  const std::string s = line(step, values, tokens) + "\n";
  std::fwrite(s.data(), 1, s.size(), out);
  std::fflush(out);
}

}  // namespace chord::io
#endif  // CHORD_DEFINES_NON_TEMPLATES
