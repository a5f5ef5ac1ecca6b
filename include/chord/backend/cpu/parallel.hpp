#pragma once
// Parallel loops on the CPU. chord uses OpenMP's one thread pool for its own
// loops and for Eigen's GEMM, so two pools never compete for the cores.
//
// Work is split into chunks whose boundaries depend only on the problem size,
// never on the thread count, and every output element is computed by exactly
// one thread: results are bit-identical for any number of threads.

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace chord::cpu {

// Below this many elements of work a loop runs on the calling thread: the
// fork/join of a parallel region costs a few microseconds.
inline constexpr int64_t kParallelGrain = 32768;

inline int num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
inline void set_num_threads(int n) {
#ifdef _OPENMP
  omp_set_num_threads(std::max(1, n));
#else
  (void)n;
#endif
}
inline bool in_parallel_region() {
#ifdef _OPENMP
  return omp_in_parallel();
#else
  return false;
#endif
}

// Calls body(begin, end) over [0, n) split into ranges of about `grain`
// elements' worth of work; `cost_per_item` is the work of one index.
template <class Body>
void parallel_for(int64_t n, int64_t cost_per_item, Body&& body) {
  if (n <= 0) return;
  const int64_t total = n * std::max<int64_t>(cost_per_item, 1);
  if (total < 2 * kParallelGrain || n == 1 || in_parallel_region()) {
    body(int64_t{0}, n);
    return;
  }
  const int64_t per_chunk = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(cost_per_item, 1));
  const int64_t chunks = (n + per_chunk - 1) / per_chunk;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * per_chunk;
    body(begin, std::min(n, begin + per_chunk));
  }
}

}  // namespace chord::cpu
