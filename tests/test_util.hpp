#pragma once
// Helpers shared by the doctest files. The test build compiles several test files as one
// translation unit (CHORD_UNITY_TESTS, tests/CMakeLists.txt), so a helper that two files need
// lives here, once, and a file's own file-scope names must not repeat another file's.

#include <doctest/doctest.h>

#include <chord/chord.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace chord::testing {

using TensorD = Tensor<double>;
using Inputs = std::vector<TensorD>;

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// True in a build with AddressSanitizer (tools/test.sh's build-asan/, at -O0), where arithmetic
// runs some 50 times slower than in build/. The few tests whose products dominate the
// sanitizer pass run a lighter form there, which each says; build/ runs them whole.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitizedBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitizedBuild = true;
#else
inline constexpr bool kSanitizedBuild = false;
#endif
#else
inline constexpr bool kSanitizedBuild = false;
#endif

// The kinds of an RL batch's rows, short (the objective's tests write many batches by hand).
inline constexpr rl::RowKind On = rl::RowKind::OnPolicy, Off = rl::RowKind::OffPolicy, Ex = rl::RowKind::Expert;

// A path in the temporary directory for a test's file `name`, unique to this process (CTest
// runs test cases in parallel, each in its own process).
inline std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("chord_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Writes `bytes` to `path` as they are (a hand-made or corrupt file).
inline void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Every way the RL objective can aggregate token terms (rl::Aggregation).
inline constexpr rl::Aggregation kAggregations[] = {rl::Aggregation::TokenMean, rl::Aggregation::SeqMeanTokenMean,
                                                    rl::Aggregation::SeqMeanTokenSum, rl::Aggregation::Constant};

// The value of metric `name` in a trainer's metrics row (a test failure when it has none).
inline double metric(const rl::MetricRow& row, const std::string& name) {
  for (const auto& [k, v] : row)
    if (k == name) return v;
  FAIL("no metric " << name);
  return 0.0;
}

// A problem built from a prompt, its answer computed by the task's reference solver.
inline tasks::Problem make_problem(const tasks::Task& task, const std::string& prompt, int difficulty) {
  return {prompt, task.solve(prompt), difficulty, task.name()};
}

// Token ids [B, T], row-major from `ids`.
inline Tensor<int64_t> tokens_of(const std::vector<int64_t>& ids, int64_t B, int64_t T) {
  return Tensor<int64_t>::from_vector(ids, {B, T});
}

// CHECK that autograd's gradients match finite differences for f at inputs.
#define CHORD_CHECK_GRADCHECK(f, ...)                                          \
  do {                                                                         \
    const auto chord_gc_result = ::chord::gradcheck((f), __VA_ARGS__);         \
    INFO(chord_gc_result.message);                                             \
    CHECK(chord_gc_result.ok);                                                 \
  } while (0)

// A leaf of `shape` with random normal values that requires grad.
inline TensorD leaf(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  TensorD t = TensorD::randn(shape, gen);
  t.set_requires_grad();
  return t;
}

// The same values as leaf(shape) but stored transposed in memory: a
// non-contiguous leaf (its last two dims are swapped views of its storage).
inline TensorD transposed_leaf(const Shape& shape, uint64_t seed) {
  REQUIRE(shape.size() >= 2);
  Shape swapped = shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  Generator gen(seed);
  TensorD base = TensorD::randn(swapped, gen);
  TensorD t = base.transpose(-1, -2);
  t.set_requires_grad();
  REQUIRE_FALSE(t.is_contiguous());
  return t;
}

// A non-contiguous leaf of `shape` taken as every second element of a larger
// buffer along the last dim.
inline TensorD strided_leaf(const Shape& shape, uint64_t seed) {
  Shape wide = shape;
  wide[wide.size() - 1] *= 2;
  Generator gen(seed);
  TensorD t = TensorD::randn(wide, gen).slice(-1, 0, wide.back(), 2);
  t.set_requires_grad();
  REQUIRE(t.shape() == shape);
  return t;
}

// CHECK every element of t against expected (row-major) within tol.
template <class T>
void check_values(const Tensor<T>& t, const std::vector<double>& expected, double tol = 1e-6) {
  const std::vector<T> got = t.to_vector();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", expected " << expected[i]);
    CHECK(std::abs(static_cast<double>(got[i]) - expected[i]) <= tol * (1 + std::abs(expected[i])));
  }
}

// CHECK that every element of `got` is within atol + rtol * |expected| of `expected`'s (the two of
// one shape, on any devices: the GPU tests compare a GPU result with the CPU's this way). NaN must
// meet NaN, and an infinity the same infinity. The first 5 misses are shown.
template <class T>
void check_close(const Tensor<T>& got, const Tensor<T>& expected, double rtol, double atol = 0.0) {
  REQUIRE(got.defined());
  REQUIRE(expected.defined());
  REQUIRE(got.shape() == expected.shape());
  const std::vector<T> g_values = got.to_vector(), e_values = expected.to_vector();
  int reported = 0;
  for (std::size_t i = 0; i < g_values.size(); ++i) {
    const double g = static_cast<double>(g_values[i]), e = static_cast<double>(e_values[i]);
    bool ok;
    if (std::isnan(e)) ok = std::isnan(g);
    else if (std::isinf(e)) ok = g == e;
    else ok = std::abs(g - e) <= atol + rtol * std::abs(e);
    if (!ok && reported++ < 5) {
      INFO("element " << i << " of shape " << expected.shape() << ": got " << g << ", expected " << e << " (rtol "
                      << rtol << ", atol " << atol << ")");
      CHECK(ok);
    }
  }
  CHECK(reported == 0);
}

// CHECK that calling f throws chord::Error whose message contains `needle`.
#define CHORD_CHECK_ERROR(expr, needle) \
  CHECK_THROWS_WITH_AS(expr, doctest::Contains(needle), ::chord::Error)

// The kernels of a vector ISA this CPU lacks cannot run here: a test that loops over this CPU's
// ISAs calls this, and the run says which were not checked (once per process; CTest runs each test
// case in its own) rather than passing in silence.
inline void report_unchecked_isas() {
  static bool reported = false;
  std::string missing;
  int count = 0;
  for (cpu::Isa isa : {cpu::Isa::Avx2, cpu::Isa::Avx512})
    if (cpu::detected_isa() < isa) missing += std::string(count++ ? ", " : "") + cpu::isa_name(isa);
  if (count > 0 && !reported) {
    reported = true;
    MESSAGE("NOT checked on this CPU: the " << missing << " kernels (" << count << " of 2 vector ISAs missing)");
  }
}

// The ISAs a kernel test runs: portable and every vector ISA this CPU has (the rest reported).
inline std::vector<cpu::Isa> testable_isas() {
  std::vector<cpu::Isa> v = {cpu::Isa::Portable};
  if (cpu::detected_isa() >= cpu::Isa::Avx2) v.push_back(cpu::Isa::Avx2);
  if (cpu::detected_isa() >= cpu::Isa::Avx512) v.push_back(cpu::Isa::Avx512);
  report_unchecked_isas();
  return v;
}

// Restores the CPU thread count when a test ends.
struct ThreadCount {
  int saved = cpu::num_threads();
  ~ThreadCount() { cpu::set_num_threads(saved); }
};

// GEMM cache blocks small enough that products of a few dozen rows, columns and k cross them
// all, on any machine (set with cpu::gemm_kernel::BlockingOverrideGuard).
inline constexpr cpu::gemm_kernel::Blocking kSmallBlocks{40, 30, 48};

// A [rows, cols] matrix at strides (rs, cs) in its own buffer, for the GEMM kernels' tests: its
// values random normal (when `fill`), every buffer slot it does not use the sentinel kUnused, which
// a kernel reading out of bounds would turn into a wrong result (and one writing there would change).
struct MatrixStrides {
  int64_t row, col;
};
template <class T>
struct StridedMatrix {
  static constexpr T kUnused = T(1e30);
  int64_t rows, cols, rs, cs;
  std::vector<T> buf;
  StridedMatrix(int64_t r, int64_t c, MatrixStrides strides, std::mt19937& gen, bool fill = true)
      : rows(r), cols(c), rs(strides.row), cs(strides.col) {
    const int64_t R = std::max<int64_t>(r, 1), C = std::max<int64_t>(c, 1);
    buf.assign(static_cast<std::size_t>((R - 1) * rs + (C - 1) * cs + 1), kUnused);
    std::normal_distribution<double> nd(0.0, 1.0);
    if (fill)
      for (int64_t i = 0; i < r; ++i)
        for (int64_t j = 0; j < c; ++j) at(i, j) = static_cast<T>(nd(gen));
  }
  T& at(int64_t i, int64_t j) { return buf[i * rs + j * cs]; }
  T at(int64_t i, int64_t j) const { return buf[i * rs + j * cs]; }
};

// Checks a GEMM's result C against a float64 triple loop over A [M, K] and B [K, N]:
//   C = alpha A B           (the product alone),
//   C = alpha A B + C0      (accumulate: C0 is C before the call),
//   C = A B + bias          (bias given: bias[j * bias_stride] added to column j; alpha 1),
// each element within (K + 2) eps (|alpha| sum_k |a_ik b_kj| + |c0_ij| + |bias_j|), a dot
// product's rounding bound doubled. Every slot of C's buffer outside C must still hold
// StridedMatrix::kUnused: nothing was written outside C.
template <class T>
void check_product_against_double(const StridedMatrix<T>& A, const StridedMatrix<T>& B, const StridedMatrix<T>& C,
                                  const StridedMatrix<T>& C0, T alpha, bool accumulate, const T* bias = nullptr,
                                  int64_t bias_stride = 0) {
  const int64_t M = C.rows, N = C.cols, K = A.cols;
  const double eps = std::numeric_limits<T>::epsilon();
  const double a = bias ? 1.0 : static_cast<double>(alpha);
  int bad = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        s += static_cast<double>(A.at(i, k)) * B.at(k, j);
        mag += std::abs(static_cast<double>(A.at(i, k)) * B.at(k, j));
      }
      double expected = a * s, bound = std::abs(a) * mag;
      if (bias) {
        expected += bias[j * bias_stride];
        bound += std::abs(static_cast<double>(bias[j * bias_stride]));
      } else if (accumulate) {
        expected += C0.at(i, j);
        bound += std::abs(static_cast<double>(C0.at(i, j)));
      }
      const double err = std::abs(static_cast<double>(C.at(i, j)) - expected);
      if (!(err <= (K + 2) * eps * bound + 1e-300) && bad++ < 3) {
        INFO("C[" << i << ", " << j << "] = " << C.at(i, j) << ", expected " << expected);
        CHECK(err <= (K + 2) * eps * bound);
      }
    }
  CHECK(bad == 0);
  std::vector<char> inside(C.buf.size(), 0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) inside[static_cast<std::size_t>(i * C.rs + j * C.cs)] = 1;
  int64_t written_outside = 0;
  for (std::size_t n = 0; n < C.buf.size(); ++n) written_outside += !inside[n] && C.buf[n] != StridedMatrix<T>::kUnused;
  CHECK_MESSAGE(written_outside == 0, "the GEMM wrote " << written_outside << " slots outside C");
}

}  // namespace chord::testing
