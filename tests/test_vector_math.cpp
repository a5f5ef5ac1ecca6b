// cpu::vector_exp, vector_tanh and vector_sqrt (backend/cpu/vector_math.hpp) against std::exp,
// std::tanh and std::sqrt in ulps, run through run_kernel on every ISA this CPU has; their special values;
// and the GELU kernels (backend/cpu/activation.hpp) against the formula in long double,
// bit-identical for 1 and 2 threads.

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <chord/backend/cpu/activation.hpp>
#include <chord/backend/cpu/isa.hpp>
#include <chord/backend/cpu/parallel.hpp>
#include <chord/backend/cpu/vector_math.hpp>

#include "test_util.hpp"

using namespace chord;
using chord::testing::testable_isas;

namespace {


struct ExpLoop {
  template <class T>
  static void run(const T* x, T* y, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = cpu::vector_exp(x[i]);
  }
};
struct SqrtLoop {
  template <class T>
  static void run(const T* x, T* y, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = cpu::vector_sqrt(x[i]);
  }
};
struct TanhLoop {
  template <class T>
  static void run(const T* x, T* y, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = cpu::vector_tanh(x[i]);
  }
};

// The distance from got to want in units of want's last place.
template <class T>
double ulps(T got, T want) {
  if (got == want) return 0;
  const T ulp = std::nextafter(std::abs(want), std::numeric_limits<T>::infinity()) - std::abs(want);
  return std::abs(static_cast<double>(got) - static_cast<double>(want)) / static_cast<double>(ulp);
}

// x drawn by sample(gen); the worst error of Loop against ref over it, on each ISA. Results
// below the smallest normal number must be exactly 0 or the reference.
template <class Loop, class T, class Sample, class Ref>
void check_accuracy_of(Sample sample, double max_ulps, Ref ref) {
  std::mt19937 gen(7);
  std::vector<T> x(200003);  // odd: the vector loops have a tail
  for (T& v : x) v = sample(gen);
  std::vector<T> y(x.size());
  for (cpu::Isa isa : testable_isas()) {
    INFO(cpu::isa_name(isa));
    cpu::run_kernel<Loop>(isa, static_cast<const T*>(x.data()), y.data(), static_cast<int64_t>(x.size()));
    double worst = 0, worst_x = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const T want = ref(x[i]);
      if (std::abs(want) < std::numeric_limits<T>::min()) {
        CHECK((y[i] == T(0) || y[i] == want));
        continue;
      }
      const double e = ulps(y[i], want);
      if (e > worst) worst = e, worst_x = static_cast<double>(x[i]);
    }
    INFO("worst ", worst, " ulp at x = ", worst_x);
    CHECK(worst <= max_ulps);
  }
}

// x uniform in [lo, hi).
template <class Loop, class T, class Ref>
void check_accuracy(double lo, double hi, double max_ulps, Ref ref) {
  INFO("x in [", lo, ", ", hi, ")");
  check_accuracy_of<Loop, T>([&](std::mt19937& g) { return static_cast<T>(std::uniform_real_distribution<double>(lo, hi)(g)); },
                             max_ulps, ref);
}

}  // namespace

TEST_CASE("vector_exp is within 1 ulp of std::exp over its whole range, on every ISA") {
  check_accuracy<ExpLoop, float>(-104, 89, 1, [](float v) { return std::exp(v); });
  check_accuracy<ExpLoop, float>(-1, 1, 1, [](float v) { return std::exp(v); });
  check_accuracy<ExpLoop, double>(-746, 710, 1, [](double v) { return std::exp(v); });
  check_accuracy<ExpLoop, double>(-1, 1, 1, [](double v) { return std::exp(v); });
}

TEST_CASE("vector_tanh is within 2 ulp of std::tanh, on every ISA") {
  check_accuracy<TanhLoop, float>(-12, 12, 2, [](float v) { return std::tanh(v); });
  check_accuracy<TanhLoop, float>(-0.7, 0.7, 2, [](float v) { return std::tanh(v); });
  check_accuracy<TanhLoop, double>(-25, 25, 2, [](double v) { return std::tanh(v); });
  check_accuracy<TanhLoop, double>(-0.7, 0.7, 2, [](double v) { return std::tanh(v); });
}

TEST_CASE("vector_sqrt is within 1 ulp of std::sqrt from subnormals to the largest float, on every ISA") {
  // x = 2^u: exponents across the whole range, subnormals included.
  auto wide = [](double u) { return std::exp2(u); };
  check_accuracy_of<SqrtLoop, float>([&](std::mt19937& g) { return static_cast<float>(wide(std::uniform_real_distribution<double>(-149, 128)(g))); },
                                     1, [](float v) { return std::sqrt(v); });
  check_accuracy_of<SqrtLoop, double>([&](std::mt19937& g) { return wide(std::uniform_real_distribution<double>(-1074, 1024)(g)); },
                                      1, [](double v) { return std::sqrt(v); });
  check_accuracy<SqrtLoop, float>(0, 4, 1, [](float v) { return std::sqrt(v); });
  for (auto zero : {0.0f}) {
    using T = decltype(zero);
    using L = std::numeric_limits<T>;
    CHECK(cpu::vector_sqrt(T(0)) == T(0));
    CHECK(std::signbit(cpu::vector_sqrt(-T(0))));
    CHECK(cpu::vector_sqrt(T(4)) == T(2));
    CHECK(cpu::vector_sqrt(L::infinity()) == L::infinity());
    CHECK(std::isnan(cpu::vector_sqrt(T(-1))));
    CHECK(std::isnan(cpu::vector_sqrt(-L::infinity())));
    CHECK(std::isnan(cpu::vector_sqrt(L::quiet_NaN())));
    CHECK(cpu::vector_sqrt(L::denorm_min()) == std::sqrt(L::denorm_min()));
  }
  CHECK(cpu::vector_sqrt(2.0) == std::sqrt(2.0));
  CHECK(std::isnan(cpu::vector_sqrt(-1e-300)));
}

TEST_CASE("vector_exp and vector_tanh: special values, the edges of the range, NaN") {
  auto check_type = [](auto zero) {
    using T = decltype(zero);
    using L = std::numeric_limits<T>;
    CHECK(cpu::vector_exp(T(0)) == T(1));
    CHECK(cpu::vector_exp(-T(0)) == T(1));
    CHECK(cpu::vector_exp(-L::infinity()) == T(0));
    CHECK(cpu::vector_exp(T(-1e30)) == T(0));
    CHECK(cpu::vector_exp(L::infinity()) == L::infinity());
    CHECK(cpu::vector_exp(T(1e30)) == L::infinity());
    CHECK(std::isnan(cpu::vector_exp(L::quiet_NaN())));
    // The largest argument with a finite result, and the smallest with a normal one.
    const T top = std::log(L::max()), bottom = std::log(L::min());
    CHECK(std::isfinite(cpu::vector_exp(std::nextafter(top, T(0)))));
    CHECK(ulps(cpu::vector_exp(std::nextafter(top, T(0))), std::exp(std::nextafter(top, T(0)))) <= 1);
    CHECK(cpu::vector_exp(std::nextafter(bottom, T(0))) >= L::min());
    CHECK(cpu::vector_exp(std::nextafter(bottom, -L::infinity())) < L::min());

    CHECK(cpu::vector_tanh(T(0)) == T(0));
    CHECK(std::signbit(cpu::vector_tanh(-T(0))));
    CHECK(cpu::vector_tanh(L::infinity()) == T(1));
    CHECK(cpu::vector_tanh(-L::infinity()) == T(-1));
    CHECK(cpu::vector_tanh(T(30)) == T(1));
    CHECK(cpu::vector_tanh(T(-1e30)) == T(-1));
    CHECK(cpu::vector_tanh(L::denorm_min()) == L::denorm_min());
    CHECK(std::isnan(cpu::vector_tanh(L::quiet_NaN())));
  };
  check_type(0.0f);
  check_type(0.0);
}

TEST_CASE("GELU kernels match the formula in long double (float and double) and do not depend on the thread count") {
  // In long double, through 0.5 (1 + tanh(u)) = 1 / (1 + exp(-2u)), which does not cancel for x < 0.
  auto reference = [](long double x) {
    const long double c = std::sqrt(2.0L / 3.14159265358979323846L);
    const long double u = c * (x + 0.044715L * x * x * x), du = c * (1 + 3 * 0.044715L * x * x);
    const long double s = 1 / (1 + std::exp(-2 * u));
    struct Values {
      long double y, dydx, dydx_scale;  // gelu, gelu', and the sum of gelu''s terms' magnitudes
    };
    return Values{x * s, s + 2 * x * s * (1 - s) * du, s + std::abs(2 * x * s * (1 - s) * du)};
  };
  auto check_type = [&](auto zero) {
    using T = decltype(zero);
    const int64_t n = 100001;  // parallel: more than one chunk
    std::vector<T> x(n), dy(n);
    std::mt19937 gen(3);
    std::normal_distribution<double> normal(0.0, 3.0);
    for (int64_t i = 0; i < n; ++i) x[i] = static_cast<T>(normal(gen)), dy[i] = static_cast<T>(normal(gen));
    x[0] = T(0), x[1] = T(-40), x[2] = T(40), x[3] = T(1e-20);
    for (cpu::Isa isa : testable_isas()) {
      INFO(cpu::isa_name(isa));
      cpu::IsaLimitGuard limit(isa);
      std::vector<T> y1(n), dx1(n), y2(n), dx2(n);
      const int saved = cpu::num_threads();
      cpu::set_num_threads(1);
      cpu::gelu_forward(x.data(), y1.data(), n);
      cpu::gelu_backward(x.data(), dy.data(), dx1.data(), n);
      cpu::set_num_threads(2);
      cpu::gelu_forward(x.data(), y2.data(), n);
      cpu::gelu_backward(x.data(), dy.data(), dx2.data(), n);
      cpu::set_num_threads(saved);
      CHECK(std::memcmp(y1.data(), y2.data(), n * sizeof(T)) == 0);
      CHECK(std::memcmp(dx1.data(), dx2.data(), n * sizeof(T)) == 0);
      // gelu is ill-conditioned for x < 0: exp(-2u) turns the rounding of u (a few ulps)
      // into a relative error of |2u| times that. The bound: (16 + 8 |2u|) ulps, relative (for
      // gelu', relative to the magnitudes of its two terms), with a floor where results underflow.
      const double eps = std::numeric_limits<T>::epsilon();
      double worst_y = 0, worst_dx = 0;  // in units of the bound
      for (int64_t i = 0; i < n; ++i) {
        const auto [y, dydx, dydx_scale] = reference(x[i]);
        const double two_u = 2 * 0.7978845608 * std::abs(x[i] + 0.044715 * x[i] * x[i] * x[i]);
        const double bound = (16 + 8 * two_u) * eps;
        worst_y = std::max(worst_y, static_cast<double>(std::abs(y1[i] - y) / std::max(std::abs(y), 1e-30L)) / bound);
        // gelu' sums two terms of opposite signs for x < 0: relative to the terms' magnitudes.
        worst_dx = std::max(worst_dx, static_cast<double>(std::abs(dx1[i] - dy[i] * dydx) /
                                                          std::max(std::abs(dy[i]) * dydx_scale, 1e-30L)) / bound);
      }
      INFO("worst error in units of the bound: gelu ", worst_y, ", gelu' ", worst_dx);
      CHECK(worst_y <= 1);
      CHECK(worst_dx <= 1);
      CHECK(y1[0] == T(0));
      CHECK(y1[1] == T(0));  // -0 or 0: the limit
      CHECK(y1[2] == T(40));
      CHECK(dx1[2] == dy[2]);
    }
  };
  check_type(0.0f);
  check_type(0.0);
}
