// chord's CPU GEMM (cpu::gemm, cpu::gemm_batched) on every ISA this CPU has (AVX-512,
// AVX2+FMA, the portable plain-C++ kernels) against a naive triple loop in double: many shapes
// (1x1, tall, wide, K = 0, K = 1, sizes that are no multiple of any tile or cache block),
// every operand layout (row-major, column-major, padded, step-2, transposed views),
// alpha and accumulate; bit-identical results for 1 and 2 threads.

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <chord/backend/cpu/cache_sizes.hpp>
#include <chord/backend/cpu/gemm.hpp>
#include <chord/backend/cpu/isa.hpp>
#include <chord/backend/cpu/parallel.hpp>

#include "test_skip.hpp"
#include "test_util.hpp"

using namespace chord;

// The whole file in its own namespace: its Layout, Matrix and Case differ from another test file's
// of the same names, and the test build compiles several test files as one (tests/CMakeLists.txt).
namespace gemm_kernel_test {

using chord::testing::testable_isas;
using chord::testing::ThreadCount;


// How a [rows, cols] matrix lies in its buffer.
enum class Layout { RowMajor, ColMajor, PaddedRows, PaddedCols, Step2, Step2Cols };
const char* name_of(Layout l) {
  switch (l) {
    case Layout::RowMajor: return "row-major";
    case Layout::ColMajor: return "col-major";
    case Layout::PaddedRows: return "row-major padded";
    case Layout::PaddedCols: return "col-major padded";
    case Layout::Step2: return "step-2 columns";
    default: return "step-2 rows, col-major";
  }
}

// Where element (i, j) of a [r, c] matrix with `layout` lies: i * row + j * col.
chord::testing::MatrixStrides strides_of(Layout layout, int64_t r, int64_t c) {
  const int64_t R = std::max<int64_t>(r, 1), C = std::max<int64_t>(c, 1);
  switch (layout) {
    case Layout::RowMajor: return {C, 1};
    case Layout::ColMajor: return {1, R};
    case Layout::PaddedRows: return {C + 3, 1};
    case Layout::PaddedCols: return {1, R + 5};
    case Layout::Step2: return {2 * C + 1, 2};
    default: return {2, 2 * R + 1};
  }
}

// A [rows, cols] matrix with `layout`, its values random normal (when `fill`); the unused
// buffer slots hold a sentinel (testing::StridedMatrix).
template <class T>
struct Matrix : chord::testing::StridedMatrix<T> {
  Matrix(int64_t r, int64_t c, Layout layout, std::mt19937& gen, bool fill = true)
      : chord::testing::StridedMatrix<T>(r, c, strides_of(layout, r, c), gen, fill) {}
};

// Checks cpu::gemm against a double-precision triple loop (testing::check_product_against_double:
// within a dot product's rounding bound, doubled; nothing outside C written).
template <class T>
void check_gemm(int64_t M, int64_t N, int64_t K, Layout la, Layout lb, Layout lc, T alpha, bool accumulate,
                uint64_t seed) {
  std::mt19937 gen(static_cast<unsigned>(seed));
  const Matrix<T> A(M, K, la, gen), B(K, N, lb, gen);
  Matrix<T> C(M, N, lc, gen);
  const Matrix<T> C0 = C;
  cpu::gemm<T>(M, N, K, alpha, A.buf.data(), A.rs, A.cs, B.buf.data(), B.rs, B.cs, C.buf.data(), C.rs, C.cs,
               accumulate);
  chord::testing::check_product_against_double(A, B, C, C0, alpha, accumulate);
}

struct Case {
  int64_t M, N, K;
};

// Sizes around every boundary: tiles (6 x 16, 14 x 32), the direct paths (<= 16 rows or
// columns). The cache blocks depend on the machine (gemm_blocking.hpp); every shape also runs
// with testing::kSmallBlocks, which the larger shapes cross in K, M and N.
const std::vector<Case> kShapes = {
    {1, 1, 1},   {1, 1, 7},    {1, 9, 1},     {5, 1, 3},     {3, 5, 0},     {1, 33, 40},  {2, 70, 33},
    {16, 35, 9}, {17, 35, 9},  {20, 3, 17},   {300, 2, 17},  {3, 300, 5},   {29, 70, 33}, {45, 37, 257},
    {15, 33, 600}, {64, 64, 64}, {100, 47, 40}, {350, 40, 30}, {37, 16, 100}, {6, 16, 8},  {14, 32, 3},
};

using chord::testing::kSmallBlocks;

template <class T>
void check_all_shapes_and_layouts(cpu::Isa isa, cpu::gemm_kernel::Blocking blocks) {
  cpu::IsaLimitGuard guard(isa);
  cpu::gemm_kernel::BlockingOverrideGuard block_guard(blocks);
  INFO("isa " << cpu::isa_name(isa) << ", blocks " << (blocks.KC ? "small" : "this machine's"));
  uint64_t seed = 1;
  for (const Case& s : kShapes) {
    INFO("M " << s.M << " N " << s.N << " K " << s.K);
    check_gemm<T>(s.M, s.N, s.K, Layout::RowMajor, Layout::RowMajor, Layout::RowMajor, T(1), false, seed++);
    check_gemm<T>(s.M, s.N, s.K, Layout::RowMajor, Layout::ColMajor, Layout::RowMajor, T(1), false, seed++);
    check_gemm<T>(s.M, s.N, s.K, Layout::ColMajor, Layout::RowMajor, Layout::RowMajor, T(0.5), true, seed++);
    check_gemm<T>(s.M, s.N, s.K, Layout::ColMajor, Layout::ColMajor, Layout::ColMajor, T(-2), false, seed++);
  }
  // Every layout pair with the small blocks only: they put packed panels at every K, M and N
  // offset, which this machine's blocks reach only in larger products.
  if (blocks.KC == 0) return;
  const Layout layouts[] = {Layout::RowMajor,   Layout::ColMajor, Layout::PaddedRows,
                            Layout::PaddedCols, Layout::Step2,    Layout::Step2Cols};
  for (const Case& s : {Case{1, 40, 19}, Case{9, 21, 30}, Case{31, 45, 270}, Case{40, 5, 12}})
    for (Layout la : layouts)
      for (Layout lb : layouts)
        for (Layout lc : {Layout::RowMajor, Layout::PaddedCols, Layout::Step2}) {
          INFO("M " << s.M << " N " << s.N << " K " << s.K << ", A " << name_of(la) << ", B " << name_of(lb)
                    << ", C " << name_of(lc));
          check_gemm<T>(s.M, s.N, s.K, la, lb, lc, T(1.5), (seed & 1) != 0, seed);
          ++seed;
        }
}

// The bits of C for a product computed with `threads` threads.
template <class T>
std::vector<T> product_bits(int64_t M, int64_t N, int64_t K, Layout la, Layout lb, int threads, bool accumulate) {
  cpu::set_num_threads(threads);
  std::mt19937 gen(7);
  const Matrix<T> A(M, K, la, gen), B(K, N, lb, gen);
  Matrix<T> C(M, N, Layout::RowMajor, gen);
  cpu::gemm<T>(M, N, K, T(1), A.buf.data(), A.rs, A.cs, B.buf.data(), B.rs, B.cs, C.buf.data(), C.rs, C.cs,
               accumulate);
  return C.buf;
}


TEST_CASE("gemm matches a double-precision triple loop for every shape and layout, float") {
  for (cpu::Isa isa : testable_isas())
    for (cpu::gemm_kernel::Blocking blocks : {cpu::gemm_kernel::Blocking{}, kSmallBlocks})
      check_all_shapes_and_layouts<float>(isa, blocks);
}

TEST_CASE("gemm matches a double-precision triple loop for every shape and layout, double") {
  for (cpu::Isa isa : testable_isas())
    for (cpu::gemm_kernel::Blocking blocks : {cpu::gemm_kernel::Blocking{}, kSmallBlocks})
      check_all_shapes_and_layouts<double>(isa, blocks);
}

TEST_CASE("the cache blocks MC and NC change no bit of C; KC, which splits the sums, does") {
  ThreadCount restore;
  auto bits = [](cpu::gemm_kernel::Blocking blocks, int threads) {
    cpu::gemm_kernel::BlockingOverrideGuard guard(blocks);
    return product_bits<float>(300, 200, 300, Layout::RowMajor, Layout::ColMajor, threads, true);
  };
  for (cpu::Isa isa : testable_isas()) {
    cpu::IsaLimitGuard guard(isa);
    INFO("isa " << cpu::isa_name(isa));
    const auto reference = bits({64, 60, 64}, 1);
    for (cpu::gemm_kernel::Blocking b : {cpu::gemm_kernel::Blocking{64, 30, 64}, cpu::gemm_kernel::Blocking{64, 500, 64},
                                         cpu::gemm_kernel::Blocking{64, 60, 128}, cpu::gemm_kernel::Blocking{64, 42, 4096}})
      for (int threads : {1, 2}) {
        INFO("MC " << b.MC << " NC " << b.NC << ", threads " << threads);
        const auto other = bits(b, threads);
        CHECK(std::memcmp(reference.data(), other.data(), reference.size() * sizeof(float)) == 0);
      }
    const auto other_kc = bits({128, 60, 64}, 1);
    CHECK(std::memcmp(reference.data(), other_kc.data(), reference.size() * sizeof(float)) != 0);
  }
}

TEST_CASE("the blocking model keeps each block in its cache level, on the caches of several CPUs") {
  using cpu::gemm_kernel::blocking_for;
  struct Cpu {
    const char* name;
    cpu::CacheSizes caches;
  };
  const Cpu cpus[] = {{"Zen 3", {32 << 10, 512 << 10, 32 << 20}},
                      {"Zen 4", {32 << 10, 1 << 20, 32 << 20}},
                      {"Sapphire Rapids", {48 << 10, 2 << 20, 105 << 20}},
                      {"a small core", {16 << 10, 256 << 10, 0}},
                      {"caches unknown", {0, 0, 0}}};
  struct Kernel {
    int MR, NR, element_size;
  };
  for (const Cpu& c : cpus)
    for (Kernel k : {Kernel{6, 16, 4}, Kernel{14, 32, 4}, Kernel{6, 8, 8}, Kernel{14, 16, 8}, Kernel{4, 8, 8}}) {
      INFO(c.name << ", " << k.MR << " x " << k.NR << " tiles of " << k.element_size << "-byte elements");
      const auto b = blocking_for(c.caches, k.MR, k.NR, k.element_size);
      const int64_t l1 = c.caches.l1d ? c.caches.l1d : cpu::kDefaultCacheSizes.l1d,
                    l2 = c.caches.l2 ? c.caches.l2 : cpu::kDefaultCacheSizes.l2;
      CHECK(b.KC % 8 == 0);
      CHECK(b.KC >= 128);
      CHECK(b.KC <= 512);
      CHECK((b.KC * k.NR * k.element_size <= l1 || b.KC == 128));  // the B micro-panel fits L1d
      CHECK(b.MC % k.MR == 0);
      CHECK(b.MC >= k.MR);
      CHECK(b.MC * b.KC * k.element_size <= l2 / 2);  // the A block fits half of L2
      CHECK(b.NC % k.NR == 0);
      CHECK(b.NC >= 1024);
      CHECK(b.NC <= 8192);
    }
  // Where it was measured: AVX2 float on a Zen 3 (bench/README.md, "The GEMM's blocking"),
  // and the AVX-512 float blocks tuned by hand on a Zen 4.
  const auto zen3 = blocking_for(cpus[0].caches, 6, 16, 4);
  CHECK(zen3.KC == 512);
  CHECK(zen3.MC == 126);
  CHECK(blocking_for(cpus[1].caches, 14, 32, 4).KC == 256);
  // Bigger caches never give smaller blocks.
  const auto spr = blocking_for(cpus[2].caches, 14, 32, 4), zen4 = blocking_for(cpus[1].caches, 14, 32, 4);
  CHECK(spr.KC >= zen4.KC);
  CHECK(spr.MC * spr.KC >= zen4.MC * zen4.KC);
}

TEST_CASE("CHORD_GEMM_BLOCKING takes three positive integers and names itself when it gets anything else") {
  using cpu::gemm_kernel::parse_blocking;
  const auto b = parse_blocking("512,126,4000", 16);
  CHECK(b.KC == 512);
  CHECK(b.MC == 126);
  CHECK(b.NC == 4000);
  CHECK(parse_blocking("256,144,3000", 32).NC == 3008);  // rounded up to whole 32-wide panels
  for (const char* bad : {"", "256", "256,144", "256,144,", "256,,3072", "a,b,c", "256,144,3072,1", "0,144,3072",
                          "-256,144,3072", "256,144,3072x", "99999999999,1,1"}) {
    INFO("'" << bad << "'");
    CHECK_THROWS_WITH_AS(parse_blocking(bad, 16), doctest::Contains("CHORD_GEMM_BLOCKING"), chord::Error);
  }
}

TEST_CASE("the cache sizes: sysfs's size strings are parsed, and this machine's sizes are plausible") {
  using cpu::cache_detail::parse_size;
  CHECK(parse_size("32K") == 32 * 1024);
  CHECK(parse_size("512K\n") == 512 * 1024);
  CHECK(parse_size("32768K") == 32 << 20);
  CHECK(parse_size("2M") == 2 << 20);
  CHECK(parse_size("4096") == 4096);
  for (const char* bad : {"", "K", "-1K", "12Q", "0K"}) CHECK(parse_size(bad) == 0);
  CHECK(parse_size(nullptr) == 0);
  const cpu::CacheSizes& c = cpu::detected_cache_sizes();
  INFO("L1d " << c.l1d << ", L2 " << c.l2 << ", L3 " << c.l3 << " from " << c.source);
  CHECK(c.l1d >= 4 << 10);
  CHECK(c.l1d <= 4 << 20);
  CHECK(c.l2 >= c.l1d);
  CHECK((c.l3 == 0 || c.l3 >= c.l2));
}

TEST_CASE("the cache sizes are read from a sysfs cache folder: data and unified caches, not instruction ones") {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("chord_cache_sysfs_" + std::to_string(::getpid()));
  auto write = [&](int index, const char* level, const char* type, const char* size) {
    fs::create_directories(root / ("index" + std::to_string(index)));
    std::ofstream(root / ("index" + std::to_string(index)) / "level") << level << "\n";
    std::ofstream(root / ("index" + std::to_string(index)) / "type") << type << "\n";
    std::ofstream(root / ("index" + std::to_string(index)) / "size") << size << "\n";
  };
  write(0, "1", "Data", "48K");
  write(1, "1", "Instruction", "32K");
  write(2, "2", "Unified", "2048K");
  write(3, "3", "Unified", "107520K");
  cpu::CacheSizes c;
  REQUIRE(cpu::cache_detail::from_sysfs(c, root.c_str()));
  CHECK(c.l1d == 48 << 10);
  CHECK(c.l2 == 2 << 20);
  CHECK(c.l3 == 107520 << 10);
  CHECK(std::string(c.source) == "sysfs");
  fs::remove_all(root / "index2");  // no L2: not a usable answer
  cpu::CacheSizes d;
  CHECK_FALSE(cpu::cache_detail::from_sysfs(d, root.c_str()));
  fs::remove_all(root);
}

TEST_CASE("gemm with K = 0 sets C to zero, or leaves it when accumulating") {
  for (cpu::Isa isa : testable_isas()) {
    cpu::IsaLimitGuard guard(isa);
    std::vector<float> c(6, 3.f);
    cpu::gemm<float>(2, 3, 0, 1.f, nullptr, 0, 1, nullptr, 3, 1, c.data(), 3, 1, true);
    CHECK(c == std::vector<float>(6, 3.f));
    cpu::gemm<float>(2, 3, 0, 1.f, nullptr, 0, 1, nullptr, 3, 1, c.data(), 3, 1, false);
    CHECK(c == std::vector<float>(6, 0.f));
  }
}

TEST_CASE("gemm gives bit-identical results with 1 and 2 threads on every path") {
  ThreadCount restore;
  for (cpu::Isa isa : testable_isas())
  for (cpu::gemm_kernel::Blocking blocks : {cpu::gemm_kernel::Blocking{}, kSmallBlocks}) {
    cpu::IsaLimitGuard guard(isa);
    cpu::gemm_kernel::BlockingOverrideGuard block_guard(blocks);
    INFO("isa " << cpu::isa_name(isa) << ", blocks " << (blocks.KC ? "small" : "this machine's"));
    // packed (big enough to be split among threads), rows, dots, and the transposed dots path
    for (Case s : {Case{300, 200, 300}, Case{130, 530, 270}, Case{8, 2000, 300}, Case{3, 1500, 400},
                   Case{1200, 3, 400}}) {
      for (Layout lb : {Layout::RowMajor, Layout::ColMajor}) {
        if (blocks.KC && (s.M <= 16 || s.N <= 16)) continue;  // the direct paths use no blocks
        INFO("M " << s.M << " N " << s.N << " K " << s.K << " B " << name_of(lb));
        const auto one = product_bits<float>(s.M, s.N, s.K, Layout::RowMajor, lb, 1, true);
        const auto two = product_bits<float>(s.M, s.N, s.K, Layout::RowMajor, lb, 2, true);
        CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
        const auto one_d = product_bits<double>(s.M, s.N, s.K, Layout::ColMajor, lb, 1, false);
        const auto two_d = product_bits<double>(s.M, s.N, s.K, Layout::ColMajor, lb, 2, false);
        CHECK(std::memcmp(one_d.data(), two_d.data(), one_d.size() * sizeof(double)) == 0);
      }
    }
  }
}

TEST_CASE("gemm_with_bias and PackedB::multiply_with_bias give the bits of filling C with the bias and accumulating") {
  ThreadCount restore;
  auto check_type = [](auto zero) {
    using T = decltype(zero);
    // Packed, packed with the rows split by column panels (256 rows), several K blocks,
    // few rows (direct), few columns (transposed), K = 0.
    const Case shapes[] = {{300, 200, 300}, {256, 700, 200}, {100, 90, 600}, {8, 500, 300}, {1200, 3, 400}, {5, 7, 0}};
    for (cpu::Isa isa : testable_isas())
      for (const Case& s : shapes)
        for (Layout lc : {Layout::RowMajor, Layout::ColMajor})
          for (int threads : {1, 2}) {
            cpu::IsaLimitGuard guard(isa);
            cpu::set_num_threads(threads);
            INFO("isa " << std::string(cpu::isa_name(isa)) << ", M " << s.M << " N " << s.N << " K " << s.K
                        << ", C " << std::string(name_of(lc)) << ", threads " << threads);
            std::mt19937 gen(17);
            const Matrix<T> A(s.M, s.K, Layout::RowMajor, gen), B(s.K, s.N, Layout::ColMajor, gen);
            std::vector<T> bias(static_cast<std::size_t>(2 * s.N));  // read with stride 2
            for (T& b : bias) b = T(std::normal_distribution<double>(0, 1)(gen));
            Matrix<T> C(s.M, s.N, lc, gen), D = C;
            cpu::gemm_with_bias<T>(s.M, s.N, s.K, A.buf.data(), A.rs, A.cs, B.buf.data(), B.rs, B.cs, bias.data(), 2,
                                   C.buf.data(), C.rs, C.cs);
            for (int64_t i = 0; i < s.M; ++i)
              for (int64_t j = 0; j < s.N; ++j) D.buf[i * D.rs + j * D.cs] = bias[2 * j];
            cpu::gemm<T>(s.M, s.N, s.K, T(1), A.buf.data(), A.rs, A.cs, B.buf.data(), B.rs, B.cs, D.buf.data(), D.rs,
                         D.cs, /*accumulate=*/true);
            CHECK(std::memcmp(C.buf.data(), D.buf.data(), C.buf.size() * sizeof(T)) == 0);
            // The same with B prepacked: bias + A B against bias, then += A B.
            const cpu::PackedB<T> packed(s.K, s.N, B.buf.data(), B.rs, B.cs);
            Matrix<T> E = C, F = C;
            packed.multiply_with_bias(s.M, A.buf.data(), A.rs, A.cs, bias.data(), 2, E.buf.data(), E.rs, E.cs);
            for (int64_t i = 0; i < s.M; ++i)
              for (int64_t j = 0; j < s.N; ++j) F.buf[i * F.rs + j * F.cs] = bias[2 * j];
            packed.multiply(s.M, T(1), A.buf.data(), A.rs, A.cs, F.buf.data(), F.rs, F.cs, /*accumulate=*/true);
            CHECK(std::memcmp(E.buf.data(), F.buf.data(), E.buf.size() * sizeof(T)) == 0);
          }
  };
  check_type(0.0f);
  // Under the sanitizer (testing::kSanitizedBuild) float only: the double pass doubles a test that
  // took 93 s there; the double kernels with a bias run there in the linear layers' gradient tests.
  if (!chord::testing::kSanitizedBuild) check_type(0.0);
}

TEST_CASE("gemm_batched computes every product of a broadcast batch, the same bits for 1 and 2 threads") {
  ThreadCount restore;
  const int64_t batch = 6, M = 33, N = 40, K = 70;
  std::mt19937 gen(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> a(batch * M * K), b(K * N);  // A_b: [M, K] row-major; one B shared (offset 0)
  for (float& v : a) v = nd(gen);
  for (float& v : b) v = nd(gen);
  std::vector<int64_t> a_off(batch), b_off(batch, 0), c_off(batch);
  for (int64_t i = 0; i < batch; ++i) a_off[i] = i * M * K, c_off[i] = i * M * N;
  for (cpu::Isa isa : testable_isas()) {
    cpu::IsaLimitGuard guard(isa);
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2}) {
      cpu::set_num_threads(threads);
      std::vector<float> c(batch * M * N, 1.f);
      // B read transposed: element (k, j) at b[j * K + k] (b holds [N, K] here)
      cpu::gemm_batched<float>(batch, M, N, K, 2.f, a.data(), a_off.data(), K, 1, b.data(), b_off.data(), 1, K,
                               c.data(), c_off.data(), N, 1, true);
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t i = 0; i < M; i += 7)
          for (int64_t j = 0; j < N; j += 3) {
            double s = 0;
            for (int64_t k = 0; k < K; ++k) s += double(a[n * M * K + i * K + k]) * b[j * K + k];
            CHECK(c[n * M * N + i * N + j] == doctest::Approx(1 + 2 * s).epsilon(1e-4));
          }
      results.push_back(c);
    }
    CHECK(results[0] == results[1]);
  }
}

TEST_CASE("the AVX kernels and the portable path agree within rounding on a large product") {
  if (cpu::detected_isa() == cpu::Isa::Portable) CHORD_SKIP_TEST("no AVX2 on this CPU: no AVX kernel to compare");
  const int64_t M = 123, N = 301, K = 517;
  std::vector<std::vector<float>> results;
  for (cpu::Isa isa : testable_isas()) {
    cpu::IsaLimitGuard guard(isa);
    std::mt19937 gen(11);
    const Matrix<float> A(M, K, Layout::RowMajor, gen), B(K, N, Layout::ColMajor, gen);
    Matrix<float> C(M, N, Layout::RowMajor, gen);
    cpu::gemm<float>(M, N, K, 1.f, A.buf.data(), A.rs, A.cs, B.buf.data(), B.rs, B.cs, C.buf.data(), C.rs, C.cs);
    results.push_back(C.buf);
  }
  for (std::size_t r = 1; r < results.size(); ++r) {
    double worst = 0;
    for (std::size_t n = 0; n < results[0].size(); ++n)
      worst = std::max(worst, std::abs(double(results[r][n]) - results[0][n]));
    // |C| ~ sqrt(K) ~ 23; float sums of 517 terms differ by a few ulps of that
    CHECK(worst < 1e-3);
    CHECK(worst > 0);  // they are different kernels: the sums are ordered differently
  }
}

TEST_CASE("a prepacked B (PackedB) gives the bits of the plain product, on every ISA, with and without accumulate") {
  auto check_type = [](auto zero) {
    using T = decltype(zero);
    // Few rows (the direct path), many rows (the packed path), several K blocks, N past NC.
    const Case shapes[] = {{1, 70, 33}, {16, 96, 257}, {5, 33, 600}, {40, 5000, 20}, {200, 45, 300}, {3, 1, 9}};
    for (cpu::Isa isa : testable_isas()) {
      cpu::IsaLimitGuard guard(isa);
      for (const Case& s : shapes)
        for (Layout lb : {Layout::RowMajor, Layout::ColMajor, Layout::Step2})
          for (bool accumulate : {false, true}) {
            INFO("isa " << std::string(cpu::isa_name(isa)) << ", M " << s.M << " N " << s.N << " K " << s.K << ", B "
                        << std::string(name_of(lb)) << (accumulate ? ", accumulate" : ""));
            std::mt19937 gen(13);
            const Matrix<T> A(s.M, s.K, Layout::RowMajor, gen), B(s.K, s.N, lb, gen);
            Matrix<T> C(s.M, s.N, Layout::RowMajor, gen);
            Matrix<T> D = C;
            const cpu::PackedB<T> packed(s.K, s.N, B.buf.data(), B.rs, B.cs);
            CHECK(packed.rows() == s.K);
            CHECK(packed.cols() == s.N);
            packed.multiply(s.M, T(0.5), A.buf.data(), A.rs, A.cs, C.buf.data(), C.rs, C.cs, accumulate);
            // The plain product with B row-major takes the same path and kernels as the packed one
            // (but for a single column, which the plain product runs as dot products).
            std::vector<T> dense(static_cast<std::size_t>(s.K * s.N));
            for (int64_t k = 0; k < s.K; ++k)
              for (int64_t j = 0; j < s.N; ++j) dense[k * s.N + j] = B.at(k, j);
            cpu::gemm<T>(s.M, s.N, s.K, T(0.5), A.buf.data(), A.rs, A.cs, dense.data(), s.N, 1, D.buf.data(), D.rs,
                         D.cs, accumulate);
            if (s.N > 1) {
              CHECK(std::memcmp(C.buf.data(), D.buf.data(), C.buf.size() * sizeof(T)) == 0);
            } else {
              for (std::size_t n = 0; n < C.buf.size(); ++n)
                CHECK(std::abs(C.buf[n] - D.buf[n]) <= 64 * std::numeric_limits<T>::epsilon() * (1 + std::abs(D.buf[n])));
            }
          }
    }
  };
  check_type(0.0f);
  check_type(0.0);
}

}  // namespace gemm_kernel_test
