#pragma once
// Parallel loops on the CPU, run by chord's one thread pool (thread_pool.hpp).
//
// Work is split into chunks whose boundaries depend only on the problem size,
// never on the thread count, and every output element is computed by exactly
// one chunk: results are bit-identical for any number of threads, whichever
// thread runs which chunk.

#include <algorithm>
#include <cstdint>

#include "chord/backend/cpu/thread_pool.hpp"

namespace chord::cpu {

// Below this many elements of work a loop runs on the calling thread: starting
// the pool's threads costs about a microsecond.
inline constexpr int64_t kParallelGrain = 32768;

// The threads loops run on (the caller included), and setting it.
inline int num_threads() { return ThreadPool::instance().size(); }
inline void set_num_threads(int n) { ThreadPool::instance().resize(n); }
// True inside a task of a parallel loop, where nested loops run serially.
inline bool in_parallel_region() { return ThreadPool::in_task(); }

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
  ThreadPool::instance().run(chunks, [&](int64_t c) {
    const int64_t begin = c * per_chunk;
    body(begin, std::min(n, begin + per_chunk));
  });
}

}  // namespace chord::cpu
