// chord's thread pool (backend/cpu/thread_pool.hpp) and parallel_for: every task runs
// exactly once, loops inside a task run serially, an exception reaches the caller, two
// user threads may start loops at once, resizing works, and results do not depend on
// the thread count or on which thread ran which task.

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include <chord/backend/cpu/parallel.hpp>
#include <chord/backend/cpu/thread_pool.hpp>

#include "test_util.hpp"

using namespace chord;
using chord::testing::ThreadCount;

TEST_CASE("the pool runs every task exactly once, on the caller and its workers") {
  ThreadCount restore;
  cpu::ThreadPool& pool = cpu::ThreadPool::instance();
  for (int threads : {1, 2, 3}) {
    cpu::set_num_threads(threads);
    CHECK(pool.size() == threads);
    for (int64_t tasks : {0, 1, 2, 7, 1000, 20000}) {
      INFO(threads << " threads, " << tasks << " tasks");
      std::vector<std::atomic<int>> runs(static_cast<std::size_t>(tasks));
      std::atomic<int> max_index{0};
      pool.run(tasks, [&](int64_t t) {
        runs[t].fetch_add(1);
        int index = cpu::ThreadPool::thread_index(), seen = max_index.load();
        while (index > seen && !max_index.compare_exchange_weak(seen, index)) {
        }
        if (threads > 1 && tasks > 1) CHECK(cpu::ThreadPool::in_task());
      });
      int wrong = 0;
      for (const auto& r : runs) wrong += r.load() != 1;
      CHECK(wrong == 0);
      CHECK(max_index.load() < threads);
    }
  }
  CHECK_FALSE(cpu::ThreadPool::in_task());
  CHECK(cpu::ThreadPool::thread_index() == 0);
}

TEST_CASE("a loop inside a task runs serially on that task's thread") {
  ThreadCount restore;
  cpu::set_num_threads(2);
  std::vector<std::atomic<int>> cells(64 * 64);
  cpu::parallel_for(64, 1 << 20, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int outer = cpu::ThreadPool::thread_index();
      cpu::parallel_for(64, 1 << 20, [&](int64_t b, int64_t e) {
        CHECK(cpu::ThreadPool::thread_index() == outer);  // no other thread takes part
        for (int64_t j = b; j < e; ++j) cells[i * 64 + j].fetch_add(1);
      });
    }
  });
  int wrong = 0;
  for (const auto& c : cells) wrong += c.load() != 1;
  CHECK(wrong == 0);
}

TEST_CASE("an exception thrown by a task reaches the caller, and the pool keeps working") {
  ThreadCount restore;
  cpu::set_num_threads(2);
  cpu::ThreadPool& pool = cpu::ThreadPool::instance();
  std::atomic<int> ran{0};
  CHECK_THROWS_WITH_AS(pool.run(100,
                                [&](int64_t t) {
                                  ran.fetch_add(1);
                                  if (t == 37) throw Error("task 37 failed");
                                }),
                       "task 37 failed", Error);
  CHECK(ran.load() == 100);  // the other tasks still ran
  std::atomic<int64_t> sum{0};
  pool.run(100, [&](int64_t t) { sum.fetch_add(t); });
  CHECK(sum.load() == 4950);
}

TEST_CASE("two user threads may run loops at the same time") {
  ThreadCount restore;
  cpu::set_num_threads(2);
  auto work = [](std::vector<float>& out) {
    for (int rep = 0; rep < 200; ++rep)
      cpu::parallel_for(static_cast<int64_t>(out.size()), 64, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) out[i] = static_cast<float>(i) * 0.5f + static_cast<float>(rep);
      });
  };
  std::vector<float> a(100000), b(100000);
  std::thread other([&] { work(b); });
  work(a);
  other.join();
  CHECK(a == b);
  CHECK(a[10] == 5.0f + 199.0f);
}

TEST_CASE("parallel_for gives the same bits for 1, 2 and 3 threads") {
  ThreadCount restore;
  auto run = [](int threads) {
    cpu::set_num_threads(threads);
    std::vector<double> out(300000);
    cpu::parallel_for(static_cast<int64_t>(out.size()), 3, [&](int64_t b, int64_t e) {
      double acc = 0;  // a sum whose order is fixed by the chunk, not by the thread
      for (int64_t i = b; i < e; ++i) {
        acc += 1.0 / static_cast<double>(i + 1);
        out[i] = acc;
      }
    });
    return out;
  };
  const std::vector<double> one = run(1), two = run(2), three = run(3);
  CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(double)) == 0);
  CHECK(std::memcmp(one.data(), three.data(), one.size() * sizeof(double)) == 0);
}
