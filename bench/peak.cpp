// The CPU's float32 FMA peak (bench/README.md, "The FMA peak"): what speed reports divide by to
// state the fraction of the machine's peak that a workload reaches.
//
//   build-bench/bench/peak [--threads 1,2] [--seconds S]
//
// For 256-bit (AVX2+FMA) and 512-bit (AVX-512F) vectors and each thread count, each thread runs
// one busy loop of independent FMAs on registers only (no memory traffic), all threads released
// together; GFLOP/s is the threads' total flops over the wall time from the release to the last
// thread's end. Each measurement lasts about S seconds (default 0.2); the best and the median of
// kMeasurements are reported. A vector width the CPU (or the OS) lacks is reported as "not
// supported". Lines starting with "RESULT" are for bench/run_peak.sh, which keeps them in
// build-bench/peak.txt for bench/run_train_step.sh.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define PEAK_X86 1
#include <immintrin.h>
#else
#define PEAK_X86 0
#endif

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMeasurements = 7;

// A kernel runs `iterations` rounds of FMAs and returns the sum of its accumulators, which the
// caller writes to a volatile, so the compiler must compute every FMA.
using Kernel = float (*)(int64_t iterations);

// Each round updates every accumulator once, acc = acc * scale + shift: the accumulators are
// independent, so the FMAs of a round overlap in the pipelines. Enough of them cover FMA latency
// x FMA ports (4 cycles x 2 ports = 8 on current x86 cores). acc converges to
// shift / (1 - scale) = 1: no overflow, no denormals, whose slow path would skew the timing.
// scale and shift are read through volatiles so that the compiler cannot fold the loop: with
// constants, clang proves that the accumulator starting at 1 stays 1 and drops its FMAs.
volatile float g_scale = 0.999999f, g_shift = 1e-6f;

#if PEAK_X86
// 12 accumulators: without AVX-512 there are 16 ymm registers, and scale and shift take two.
constexpr int kAccumulators256 = 12;

__attribute__((target("avx2,fma"))) float fma_loop_256(int64_t iterations) {
  __m256 acc[kAccumulators256];
  for (int i = 0; i < kAccumulators256; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 scale = _mm256_set1_ps(g_scale), shift = _mm256_set1_ps(g_shift);
  for (int64_t n = 0; n < iterations; ++n) {
#pragma GCC unroll 16
    for (int i = 0; i < kAccumulators256; ++i) acc[i] = _mm256_fmadd_ps(acc[i], scale, shift);
  }
  for (int i = 1; i < kAccumulators256; ++i) acc[0] = _mm256_add_ps(acc[0], acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, acc[0]);
  float sum = 0;
  for (float v : lanes) sum += v;
  return sum;
}

// 16 accumulators of the 32 zmm registers.
constexpr int kAccumulators512 = 16;

__attribute__((target("avx512f"))) float fma_loop_512(int64_t iterations) {
  __m512 acc[kAccumulators512];
  for (int i = 0; i < kAccumulators512; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 scale = _mm512_set1_ps(g_scale), shift = _mm512_set1_ps(g_shift);
  for (int64_t n = 0; n < iterations; ++n) {
#pragma GCC unroll 16
    for (int i = 0; i < kAccumulators512; ++i) acc[i] = _mm512_fmadd_ps(acc[i], scale, shift);
  }
  for (int i = 1; i < kAccumulators512; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  // Through memory, not _mm512_reduce_add_ps, about which GCC 12 warns falsely ("uninitialized").
  float lanes[16];
  _mm512_storeu_ps(lanes, acc[0]);
  float sum = 0;
  for (float v : lanes) sum += v;
  return sum;
}
#endif

struct VectorWidth {
  const char* name;   // in RESULT lines
  const char* label;  // in the table
  int lanes;          // float32 lanes per vector
  int accumulators;
  Kernel kernel;      // null where the CPU or the OS lacks the instructions
  // One FMA on W float lanes is W multiplies and W adds: 2 * W flops.
  double flops_per_iteration() const { return 2.0 * lanes * accumulators; }
};

std::vector<VectorWidth> vector_widths() {
#if PEAK_X86
  __builtin_cpu_init();  // __builtin_cpu_supports also checks that the OS saves the registers
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = __builtin_cpu_supports("avx512f");
  return {{"avx2", "256-bit AVX2+FMA", 8, kAccumulators256, avx2 ? fma_loop_256 : nullptr},
          {"avx512", "512-bit AVX-512F", 16, kAccumulators512, avx512 ? fma_loop_512 : nullptr}};
#else
  return {{"avx2", "256-bit AVX2+FMA", 8, 0, nullptr}, {"avx512", "512-bit AVX-512F", 16, 0, nullptr}};
#endif
}

volatile float g_sink;  // the kernels' results end here, so that no loop is optimised away

// Runs kernel(iterations) on `threads` threads released together (each spins until the release,
// so none starts late for being asleep); returns the seconds from the release to the last end.
double run_threads(Kernel kernel, int64_t iterations, int threads) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<Clock::time_point> ended(threads);
  std::vector<float> sums(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      sums[t] = kernel(iterations);
      ended[t] = Clock::now();
    });
  while (ready.load() < threads) std::this_thread::yield();
  const Clock::time_point start = Clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread& w : workers) w.join();
  for (float s : sums) g_sink = g_sink + s;
  return std::chrono::duration<double>(*std::max_element(ended.begin(), ended.end()) - start).count();
}

// The iteration count for about `seconds` of one thread's loop, scaled from the fastest of three
// runs of >= 20 ms (on a shared host one run may be slowed down, and would make every measurement
// short). The runs also wake the vector units up and bring the core to its working clock.
int64_t calibrate(Kernel kernel, double seconds) {
  int64_t iterations = 1 << 12;
  while (run_threads(kernel, iterations, 1) < 0.02) iterations *= 2;
  double fastest = run_threads(kernel, iterations, 1);
  for (int run = 0; run < 2; ++run) fastest = std::min(fastest, run_threads(kernel, iterations, 1));
  return std::max<int64_t>(1, static_cast<int64_t>(iterations * seconds / fastest));
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos)
      return line.substr(line.find_first_not_of(" \t", line.find(':') + 1));
  return "unknown";
}

// "1,2" -> {1, 2}; false for anything but positive integers separated by commas.
bool parse_threads(const std::string& list, std::vector<int>& threads) {
  threads.clear();
  std::size_t at = 0;
  while (at <= list.size()) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, comma - at);
    char* end = nullptr;
    const long n = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || n < 1 || n > 1024) return false;
    threads.push_back(static_cast<int>(n));
    at = comma + 1;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads = {1, 2};
  double seconds = 0.2;
  auto usage = [&](FILE* to) { std::fprintf(to, "usage: %s [--threads 1,2] [--seconds S]\n", argv[0]); };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") {
      usage(stdout);
      return 0;
    }
    if (arg == "--threads" && i + 1 < argc && parse_threads(argv[i + 1], threads)) {
      ++i;
    } else if (arg == "--seconds" && i + 1 < argc) {
      char* end = nullptr;
      seconds = std::strtod(argv[++i], &end);
      if (*end != '\0' || !(seconds > 0 && seconds <= 60)) {
        std::fprintf(stderr, "--seconds must be a number of seconds in (0, 60], got '%s'\n", argv[i]);
        usage(stderr);
        return 2;
      }
    } else {
      usage(stderr);
      return 2;
    }
  }

  const std::string model = cpu_model();
  std::printf("CPU: %s (%u logical CPUs)\n", model.c_str(), std::thread::hardware_concurrency());
  std::printf("float32 FMA peak, GFLOP/s: best and median of %d measurements of about %.2f s each\n", kMeasurements,
              seconds);
  std::printf("%-18s %7s %9s %9s\n", "vector", "threads", "best", "median");
  std::fflush(stdout);
  std::vector<std::string> results = {"RESULT cpu_model " + model};
  for (const VectorWidth& width : vector_widths()) {
    const int64_t iterations = width.kernel ? calibrate(width.kernel, seconds) : 0;
    for (int t : threads) {
      char line[160];
      if (!width.kernel) {
        std::printf("%-18s %7d %19s\n", width.label, t, "not supported");
        std::snprintf(line, sizeof line, "RESULT peak_fma %s threads=%d not_supported", width.name, t);
      } else {
        std::vector<double> gflops;
        for (int m = 0; m < kMeasurements; ++m)
          gflops.push_back(width.flops_per_iteration() * iterations * t / run_threads(width.kernel, iterations, t) /
                           1e9);
        const double best = *std::max_element(gflops.begin(), gflops.end());
        const double median = chord::bench::median(gflops);
        std::printf("%-18s %7d %9.1f %9.1f\n", width.label, t, best, median);
        std::snprintf(line, sizeof line, "RESULT peak_fma %s threads=%d gflops=%.1f median_gflops=%.1f", width.name,
                      t, best, median);
      }
      std::fflush(stdout);
      results.push_back(line);
    }
  }
  for (const std::string& r : results) std::printf("%s\n", r.c_str());
}
