#pragma once
// Generator: a seeded pseudo-random number generator (xoshiro256**, seeded
// through splitmix64). The same seed gives the same stream on every machine.

#include <cmath>
#include <cstdint>
#include <numbers>

#include "chord/core/error.hpp"

namespace chord {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eed) { manual_seed(seed); }

  void manual_seed(uint64_t seed) {
    uint64_t x = seed;
    for (auto& s : state_) s = splitmix64(x);
    has_spare_normal_ = false;
  }

  // Uniform 64-bit integer.
  uint64_t next_u64() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

  // Standard normal (Box-Muller; the second value of each pair is kept).
  double normal() {
    if (has_spare_normal_) {
      has_spare_normal_ = false;
      return spare_normal_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    spare_normal_ = radius * std::sin(angle);
    has_spare_normal_ = true;
    return radius * std::cos(angle);
  }

  // Uniform integer in [low, high), without modulo bias.
  int64_t randint(int64_t low, int64_t high) {
    check(low < high, "randint", "empty range [", low, ", ", high, ")");
    const uint64_t range = static_cast<uint64_t>(high - low);
    const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t x = next_u64();
    while (x >= limit) x = next_u64();
    return low + static_cast<int64_t>(x % range);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t state_[4]{};
  double spare_normal_ = 0.0;
  bool has_spare_normal_ = false;
};

// The generator used when an API is given none. Global by design (like
// torch.manual_seed); per thread so that threads never race on it.
inline Generator& default_generator() {
  thread_local Generator generator;
  return generator;
}
inline void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace chord
