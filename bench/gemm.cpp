// float32 GEMM through chord's CPU backend (cpu::gemm): square products and the
// shapes of a GPT train step (config S: B*T = 1024 rows, width 256) and of decoding.
//
//   build/bench/gemm [--reps N] [--threads 1,2] [--shapes square|train|trainM|small|all] [--only name,...] [--portable]
//                    [--isa avx512|avx2|portable] [--cpu-time]
//
// For every shape and thread count: the median and min-max time of N timed
// repetitions (default 15) after warm-up, as GFLOP/s (2 M N K flops per product).
// --cpu-time times the calling thread's CPU time instead of wall time: for tuning
// single-thread kernels on a busy machine (another process's time slices are left out).
// --isa caps the kernels chord may use (default: the best this CPU has).
// --portable also times the portable kernels (set_isa_limit(Isa::Portable): plain C++ that the
// compiler vectorises) in the same run, alternating with chord's kernels, and prints the ratio.
// Lines starting with "RESULT" are for bench/run_gemm.sh, which compares with
// numpy/OpenBLAS (bench/gemm_reference.py).
//
// Layouts: NN = A[M,K] and B[K,N] row-major; NT = B given as a row-major [N,K]
// matrix (B = W^T, as in Linear's forward); TN = A given as a row-major [K,M]
// matrix (A = dY^T, as in a weight gradient).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <time.h>
#include <vector>

#include <chord/backend/cpu/gemm.hpp>
#include <chord/backend/cpu/isa.hpp>
#include <chord/backend/cpu/parallel.hpp>

namespace {

struct Shape {
  std::string name;
  int64_t M, N, K;
  std::string layout;  // NN, NT, TN
};

std::vector<Shape> shapes_of(const std::string& set) {
  std::vector<Shape> s;
  if (set == "square" || set == "all")
    for (int64_t n : {256, 512, 1024, 2048}) s.push_back({"square" + std::to_string(n), n, n, n, "NN"});
  if (set == "train" || set == "all") {
    s.push_back({"S.qkv", 1024, 768, 256, "NT"});      // x [1024,256] @ W_qkv^T
    s.push_back({"S.fc", 1024, 1024, 256, "NT"});      // x @ W_fc^T
    s.push_back({"S.proj", 1024, 256, 1024, "NT"});    // h [1024,1024] @ W_proj^T
    s.push_back({"S.logits", 1024, 256, 256, "NT"});   // x @ wte^T (vocab 256)
    s.push_back({"S.dx_qkv", 1024, 256, 768, "NN"});   // dY [1024,768] @ W_qkv
    s.push_back({"S.dx_fc", 1024, 256, 1024, "NN"});   // dY [1024,1024] @ W_fc
    s.push_back({"S.dx_proj", 1024, 1024, 256, "NN"});  // dY [1024,256] @ W_proj
    s.push_back({"S.dw_qkv", 768, 256, 1024, "TN"});   // dY^T [768,1024] @ x
    s.push_back({"S.dw_fc", 1024, 256, 1024, "TN"});   // dY^T @ x
    s.push_back({"S.dw_proj", 256, 1024, 1024, "TN"});  // dY^T [256,1024] @ h
  }
  if (set == "trainM" || set == "all") {  // config M: B*T = 256 rows, width 768, vocab 50257
    s.push_back({"M.qkv", 256, 2304, 768, "NT"});
    s.push_back({"M.fc", 256, 3072, 768, "NT"});
    s.push_back({"M.proj", 256, 768, 3072, "NT"});
    s.push_back({"M.logits", 256, 50257, 768, "NT"});  // x @ wte^T
    s.push_back({"M.dx_fc", 256, 768, 3072, "NN"});
    s.push_back({"M.dx_logits", 256, 768, 50257, "NN"});  // dlogits @ wte
    s.push_back({"M.dw_fc", 3072, 768, 256, "TN"});
    s.push_back({"M.dw_logits", 50257, 768, 256, "TN"});  // dlogits^T @ x
  }
  if (set == "small" || set == "all") {
    s.push_back({"decode.qkv.B1", 1, 768, 256, "NT"});
    s.push_back({"decode.qkv.B16", 16, 768, 256, "NT"});
    s.push_back({"decode.fc.B16", 16, 1024, 256, "NT"});
    s.push_back({"head.scores", 128, 128, 64, "NT"});   // q [128,64] @ k^T
    s.push_back({"head.values", 128, 64, 128, "NN"});   // p [128,128] @ v
    s.push_back({"decode.scores", 1, 128, 64, "NT"});
    s.push_back({"decode.values", 1, 64, 128, "NN"});
    s.push_back({"gemv.col", 1024, 1, 256, "NN"});
  }
  return s;
}

struct Stats {
  double median, min, max;  // seconds per product
};

double gflops(const Shape& s, double seconds) { return 2.0 * s.M * s.N * s.K / seconds * 1e-9; }

// One product per call of run(); `inner` calls per timed repetition keep each above ~2 ms.
struct Bench {
  const Shape& s;
  std::vector<float> a, b, c;
  int64_t a_rs, a_cs, b_rs, b_cs;
  explicit Bench(const Shape& shape) : s(shape) {
    std::mt19937 gen(42);
    std::normal_distribution<float> nd(0.f, 1.f);
    a.resize(s.M * s.K);
    b.resize(s.K * s.N);
    c.assign(s.M * s.N, 0.f);
    for (float& v : a) v = nd(gen);
    for (float& v : b) v = nd(gen);
    // A[i,k]: NN/NT row-major [M,K]; TN stored [K,M].
    a_rs = s.layout == "TN" ? 1 : s.K;
    a_cs = s.layout == "TN" ? s.M : 1;
    // B[k,j]: NN/TN row-major [K,N]; NT stored [N,K].
    b_rs = s.layout == "NT" ? 1 : s.N;
    b_cs = s.layout == "NT" ? s.K : 1;
  }
  void run() {
    chord::cpu::gemm<float>(s.M, s.N, s.K, 1.f, a.data(), a_rs, a_cs, b.data(), b_rs, b_cs, c.data(), s.N, 1);
  }
};

// Wall time, or with --cpu-time the CPU time of the calling thread: on a busy machine
// that leaves out the time the thread waited for a core (meaningful for 1 thread only).
bool g_cpu_time = false;
double now() {
  if (g_cpu_time) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Stats summarize(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  const std::size_t n = t.size();
  const double med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
  return {med, t.front(), t.back()};
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 15;
  std::vector<int> threads = {1, 2};
  std::string set = "all";
  bool portable = false;
  std::string only;  // ",name,name," or empty for all
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--reps" && i + 1 < argc) reps = std::max(10, std::atoi(argv[++i]));
    else if (arg == "--threads" && i + 1 < argc) {
      threads.clear();
      for (char* t = std::strtok(argv[++i], ","); t; t = std::strtok(nullptr, ",")) threads.push_back(std::atoi(t));
    } else if (arg == "--shapes" && i + 1 < argc) set = argv[++i];
    else if (arg == "--only" && i + 1 < argc) only = "," + std::string(argv[++i]) + ",";
    else if (arg == "--portable") portable = true;
    else if (arg == "--cpu-time") g_cpu_time = true;
    else if (arg == "--isa" && i + 1 < argc) {
      const std::string v = argv[++i];
      if (v != "avx512" && v != "avx2" && v != "portable") {
        std::fprintf(stderr, "--isa must be avx512, avx2 or portable, got '%s'\n", v.c_str());
        return 2;
      }
      chord::cpu::set_isa_limit(v == "avx2" ? chord::cpu::Isa::Avx2
                                : v == "portable" ? chord::cpu::Isa::Portable
                                                  : chord::cpu::Isa::Avx512);
    }
    else {
      std::fprintf(arg == "--help" ? stdout : stderr,
                   "usage: %s [--reps N] [--threads 1,2] [--shapes square|train|trainM|small|all] [--only a,b] [--portable] "
                   "[--isa avx512|avx2|portable] [--cpu-time]\n",
                   argv[0]);
      return arg == "--help" ? 0 : 2;
    }
  }
  const chord::cpu::Isa isa = chord::cpu::active_isa();
  const auto* kn = chord::cpu::gemm_kernel::kernels_for<float>(isa);
  const chord::cpu::CacheSizes& caches = chord::cpu::detected_cache_sizes();
  std::printf("chord cpu::gemm<float>, kernels: %s %dx%d, blocks KC %lld MC %lld NC %lld%s (caches from %s: L1d %lld KB, "
              "L2 %lld KB, L3 %lld KB); median [min-max] of %d reps, GFLOP/s\n",
              chord::cpu::isa_name(isa), kn->MR, kn->NR, static_cast<long long>(kn->KC), static_cast<long long>(kn->MC),
              static_cast<long long>(kn->NC), std::getenv("CHORD_GEMM_BLOCKING") ? " (CHORD_GEMM_BLOCKING)" : "",
              caches.source, static_cast<long long>(caches.l1d >> 10), static_cast<long long>(caches.l2 >> 10),
              static_cast<long long>(caches.l3 >> 10), reps);
  std::printf("%-16s %5s %5s %5s %3s %3s  %-24s%s\n", "shape", "M", "N", "K", "lay", "thr", "chord",
              portable ? "  portable                  chord/portable" : "");
  for (const Shape& s : shapes_of(set)) {
    if (!only.empty() && only.find("," + s.name + ",") == std::string::npos) continue;
    Bench bench(s);
    for (int t : threads) {
      chord::cpu::set_num_threads(t);
      // calls per repetition: about 2 ms of work at 50 GFLOP/s
      const int64_t inner = std::max<int64_t>(1, static_cast<int64_t>(1e8 / (2.0 * s.M * s.N * s.K)));
      auto time_rep = [&](chord::cpu::Isa use) {
        chord::cpu::IsaLimitGuard guard(use);
        const double t0 = now();
        for (int64_t r = 0; r < inner; ++r) bench.run();
        return (now() - t0) / static_cast<double>(inner);
      };
      for (int w = 0; w < 3; ++w) {  // warm-up: caches, thread pool, scratch buffers
        time_rep(isa);
        if (portable) time_rep(chord::cpu::Isa::Portable);
      }
      std::vector<double> tc, te;
      for (int r = 0; r < reps; ++r) {  // alternate the two paths
        tc.push_back(time_rep(isa));
        if (portable) te.push_back(time_rep(chord::cpu::Isa::Portable));
      }
      const Stats sc = summarize(tc);
      char cbuf[64];
      std::snprintf(cbuf, sizeof cbuf, "%7.1f [%6.1f-%6.1f]", gflops(s, sc.median), gflops(s, sc.max),
                    gflops(s, sc.min));
      std::printf("%-16s %5lld %5lld %5lld %3s %3d  %-24s", s.name.c_str(), static_cast<long long>(s.M),
                  static_cast<long long>(s.N), static_cast<long long>(s.K), s.layout.c_str(), t, cbuf);
      if (portable) {
        const Stats se = summarize(te);
        std::printf("  %7.1f [%6.1f-%6.1f]   %5.2f", gflops(s, se.median), gflops(s, se.max), gflops(s, se.min),
                    se.median / sc.median);
      }
      std::printf("\n");
      std::printf("RESULT %s %d %.3f %.3f\n", s.name.c_str(), t, gflops(s, sc.median), gflops(s, sc.min));
      std::fflush(stdout);
    }
  }
  return 0;
}
