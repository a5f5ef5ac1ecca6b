#pragma once
// Grad mode: whether operations record the autograd graph. NoGradGuard
// (alias no_grad) turns recording off for the current thread until it goes
// out of scope, as torch::NoGradGuard does.

namespace chord {

namespace detail {
// Per-thread flag; `inline` so that every translation unit shares one.
inline thread_local bool grad_mode_enabled = true;
}  // namespace detail

inline bool is_grad_enabled() { return detail::grad_mode_enabled; }
inline void set_grad_enabled(bool enabled) { detail::grad_mode_enabled = enabled; }

class NoGradGuard {
 public:
  NoGradGuard() : previous_(is_grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};
using no_grad = NoGradGuard;

}  // namespace chord
