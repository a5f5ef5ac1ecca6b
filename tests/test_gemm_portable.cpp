// The portable GEMM (set_isa_limit(Isa::Portable): chord's packed GEMM on its plain-C++
// micro-kernels, the path of CPUs without AVX2) against a float64 triple loop: odd shapes
// through every path (packed, direct rows, dots, transposed, several K blocks, past MC and
// NC), every operand layout (row-major, transposed, step-2 slices), alpha, accumulate, the
// bias epilogue, PackedB and batches; and the same bits for 1 and 2 threads.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <chord/backend/cpu/gemm.hpp>
#include <chord/backend/cpu/isa.hpp>
#include <chord/backend/cpu/parallel.hpp>

#include "test_util.hpp"

using namespace chord;

// The whole file in its own namespace: its Layout, Matrix and Case differ from another test file's
// of the same names, and the test build compiles several test files as one (tests/CMakeLists.txt).
namespace gemm_portable_test {

using chord::testing::ThreadCount;

// How a [rows, cols] operand lies in its buffer: row-major, transposed (column-major),
// step-2 slices of a bigger row-major or column-major matrix.
enum class Layout { RowMajor, Transposed, Step2, Step2Transposed };
const Layout kLayouts[] = {Layout::RowMajor, Layout::Transposed, Layout::Step2, Layout::Step2Transposed};
const char* name_of(Layout l) {
  switch (l) {
    case Layout::RowMajor: return "row-major";
    case Layout::Transposed: return "transposed";
    case Layout::Step2: return "step-2 slice";
    default: return "step-2 slice, transposed";
  }
}

// Where element (i, j) of a [r, c] operand with `layout` lies: i * row + j * col.
chord::testing::MatrixStrides strides_of(Layout layout, int64_t r, int64_t c) {
  const int64_t R = std::max<int64_t>(r, 1), C = std::max<int64_t>(c, 1);
  switch (layout) {
    case Layout::RowMajor: return {C, 1};
    case Layout::Transposed: return {1, R};
    case Layout::Step2: return {2 * (2 * C + 1), 2};  // x[::2, ::2] of a [2R, 2C + 1] matrix
    default: return {2, 2 * (2 * R + 3)};
  }
}

// A [rows, cols] operand, random normal; the slots it does not use hold a sentinel.
template <class T>
struct Matrix : chord::testing::StridedMatrix<T> {
  Matrix(int64_t r, int64_t c, Layout layout, std::mt19937& gen)
      : chord::testing::StridedMatrix<T>(r, c, strides_of(layout, r, c), gen) {}
};

// C = bias + A B, or alpha A B (+ C0 when accumulating), against a float64 triple loop
// (testing::check_product_against_double); nothing outside C written.
template <class T>
void check_against_reference(int64_t M, int64_t N, int64_t K, Layout la, Layout lb, Layout lc, T alpha,
                             bool accumulate, bool with_bias, unsigned seed) {
  INFO("M " << M << " N " << N << " K " << K << ", A " << name_of(la) << ", B " << name_of(lb) << ", C "
            << name_of(lc) << ", alpha " << double(alpha) << (accumulate ? ", accumulate" : "")
            << (with_bias ? ", bias" : ""));
  std::mt19937 gen(seed);
  const Matrix<T> A(M, K, la, gen), B(K, N, lb, gen);
  Matrix<T> C(M, N, lc, gen);
  const Matrix<T> C0 = C;
  std::vector<T> bias(static_cast<std::size_t>(3 * std::max<int64_t>(N, 1)));  // read with stride 3
  for (T& b : bias) b = static_cast<T>(std::normal_distribution<double>(0, 1)(gen));
  if (with_bias)
    cpu::gemm_with_bias<T>(M, N, K, A.buf.data(), A.rs, A.cs, B.buf.data(), B.rs, B.cs, bias.data(), 3, C.buf.data(),
                           C.rs, C.cs);
  else
    cpu::gemm<T>(M, N, K, alpha, A.buf.data(), A.rs, A.cs, B.buf.data(), B.rs, B.cs, C.buf.data(), C.rs, C.cs,
                 accumulate);
  chord::testing::check_product_against_double(A, B, C, C0, alpha, accumulate, with_bias ? bias.data() : nullptr, 3);
}

struct Case {
  int64_t M, N, K;
};

// Odd sizes around the portable tiles (float 6 x 8, double 4 x 8), the direct paths
// (<= 16 rows or columns, dots for <= 3 rows), K = 0 and 1; run with this machine's cache
// blocks (gemm_blocking.hpp) and with testing::kSmallBlocks, which the larger shapes cross in K, M and N.
const Case kShapes[] = {{1, 1, 1},    {1, 13, 7},    {3, 29, 31},  {7, 1, 19},   {5, 9, 0},    {13, 17, 1},
                        {16, 23, 45}, {17, 9, 33},   {45, 5, 29},  {23, 37, 41}, {67, 71, 257}, {101, 35, 530},
                        {131, 99, 13}, {9, 300, 70}, {300, 7, 11}};

using chord::testing::kSmallBlocks;

template <class T>
void check_shapes_and_layouts() {
  cpu::IsaLimitGuard guard(cpu::Isa::Portable);
  unsigned seed = 1;
  for (cpu::gemm_kernel::Blocking blocks : {cpu::gemm_kernel::Blocking{}, kSmallBlocks})
  for (const Case& s : kShapes)
    for (Layout la : kLayouts)
      for (Layout lb : kLayouts) {
        // This machine's blocks with matching layouts only: every layout pair runs with the
        // small blocks, which also put packed panels at every K, M and N offset.
        if (blocks.KC == 0 && la != lb) continue;
        const Layout lc = kLayouts[seed % 4];
        // alpha and accumulate vary with the case; every fourth case adds a bias instead
        const T alpha = seed % 3 == 0 ? T(1) : seed % 3 == 1 ? T(-0.75) : T(2.5);
        cpu::gemm_kernel::BlockingOverrideGuard block_guard(blocks);
        check_against_reference<T>(s.M, s.N, s.K, la, lb, lc, alpha, seed % 2 == 1, seed % 4 == 2, seed);
        ++seed;
      }
}

// The bits of C (and of the bias and PackedB variants) for products computed with `threads`.
template <class T>
std::vector<std::vector<T>> results_with(int threads, const Case& s, Layout la, Layout lb) {
  cpu::set_num_threads(threads);
  std::mt19937 gen(9);
  const Matrix<T> A(s.M, s.K, la, gen), B(s.K, s.N, lb, gen);
  const Matrix<T> C0(s.M, s.N, Layout::RowMajor, gen);
  std::vector<T> bias(static_cast<std::size_t>(s.N));
  for (T& b : bias) b = static_cast<T>(std::normal_distribution<double>(0, 1)(gen));
  std::vector<std::vector<T>> out;
  Matrix<T> C = C0;
  cpu::gemm<T>(s.M, s.N, s.K, T(0.5), A.buf.data(), A.rs, A.cs, B.buf.data(), B.rs, B.cs, C.buf.data(), C.rs, C.cs,
               /*accumulate=*/true);
  out.push_back(C.buf);
  C = C0;
  cpu::gemm_with_bias<T>(s.M, s.N, s.K, A.buf.data(), A.rs, A.cs, B.buf.data(), B.rs, B.cs, bias.data(), 1,
                         C.buf.data(), C.rs, C.cs);
  out.push_back(C.buf);
  C = C0;
  const cpu::PackedB<T> packed(s.K, s.N, B.buf.data(), B.rs, B.cs);
  packed.multiply(s.M, T(-1.5), A.buf.data(), A.rs, A.cs, C.buf.data(), C.rs, C.cs, /*accumulate=*/false);
  out.push_back(C.buf);
  return out;
}


TEST_CASE("portable gemm matches a float64 triple loop: odd shapes, every layout, alpha, accumulate, bias; float") {
  check_shapes_and_layouts<float>();
}

TEST_CASE("portable gemm matches a float64 triple loop: odd shapes, every layout, alpha, accumulate, bias; double") {
  check_shapes_and_layouts<double>();
}

TEST_CASE("portable gemm gives bit-identical results with 1 and 2 threads on every path") {
  ThreadCount restore;
  cpu::IsaLimitGuard guard(cpu::Isa::Portable);
  // packed (split by rows; by column panels), several K blocks, N past NC (float 2048),
  // direct rows, dots, transposed (few columns); this machine's cache blocks, then small ones
  const Case shapes[] = {{300, 200, 300}, {130, 531, 270}, {97, 2100, 40}, {8, 2000, 300}, {3, 1500, 400},
                         {1200, 3, 400}};
  for (cpu::gemm_kernel::Blocking blocks : {cpu::gemm_kernel::Blocking{}, kSmallBlocks})
  for (const Case& s : shapes)
    for (Layout la : {Layout::RowMajor, Layout::Transposed})
      for (Layout lb : {Layout::RowMajor, Layout::Transposed, Layout::Step2}) {
        // The small blocks only where they matter (the packed path: more than 16 rows and
        // columns), with A row-major: the direct paths use no blocks
        // (97 x 2100 x 40 crosses NC with this machine's blocks already.)
        if (blocks.KC && (s.M <= 16 || s.N <= 16 || s.N > 1000 || la != Layout::RowMajor)) continue;
        INFO("M " << s.M << " N " << s.N << " K " << s.K << ", A " << name_of(la) << ", B " << name_of(lb)
                  << ", blocks " << (blocks.KC ? "small" : "this machine's"));
        cpu::gemm_kernel::BlockingOverrideGuard block_guard(blocks);
        const auto one = results_with<float>(1, s, la, lb), two = results_with<float>(2, s, la, lb);
        for (std::size_t r = 0; r < one.size(); ++r)
          CHECK(std::memcmp(one[r].data(), two[r].data(), one[r].size() * sizeof(float)) == 0);
        // double: fewer cases, and none under the sanitizer (testing::kSanitizedBuild), where this
        // test took 166 s; the double kernels' memory accesses are checked there by the reference tests.
        if (lb == Layout::Step2 || chord::testing::kSanitizedBuild) continue;
        const auto one_d = results_with<double>(1, s, la, lb), two_d = results_with<double>(2, s, la, lb);
        for (std::size_t r = 0; r < one_d.size(); ++r)
          CHECK(std::memcmp(one_d[r].data(), two_d[r].data(), one_d[r].size() * sizeof(double)) == 0);
      }
}

TEST_CASE("portable gemm_batched: a broadcast batch matches the reference, the same bits for 1 and 2 threads") {
  ThreadCount restore;
  cpu::IsaLimitGuard guard(cpu::Isa::Portable);
  const int64_t batch = 5, M = 37, N = 29, K = 61;
  std::mt19937 gen(4);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<double> a(batch * M * K), b(K * N);  // A_i [M, K] row-major; B shared, read transposed
  for (double& v : a) v = nd(gen);
  for (double& v : b) v = nd(gen);
  std::vector<int64_t> a_off(batch), b_off(batch, 0), c_off(batch);
  for (int64_t i = 0; i < batch; ++i) a_off[i] = i * M * K, c_off[i] = i * M * N;
  std::vector<std::vector<double>> results;
  for (int threads : {1, 2}) {
    cpu::set_num_threads(threads);
    std::vector<double> c(batch * M * N, 1.0);
    cpu::gemm_batched<double>(batch, M, N, K, 2.0, a.data(), a_off.data(), K, 1, b.data(), b_off.data(), 1, K,
                              c.data(), c_off.data(), N, 1, /*accumulate=*/true);
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          long double s = 0;
          for (int64_t k = 0; k < K; ++k) s += static_cast<long double>(a[n * M * K + i * K + k]) * b[j * K + k];
          CHECK(c[n * M * N + i * N + j] == doctest::Approx(static_cast<double>(1 + 2 * s)).epsilon(1e-12));
        }
    results.push_back(c);
  }
  CHECK(results[0] == results[1]);
}

}  // namespace gemm_portable_test
