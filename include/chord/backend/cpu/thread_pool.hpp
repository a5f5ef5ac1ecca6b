#pragma once
// chord's one pool of CPU threads: the caller plus size() - 1 workers that run the
// tasks of one parallel loop at a time.
//
// Why not OpenMP's `parallel for`: its idle threads spin for a long while (libgomp's
// default, about a millisecond) before they sleep, and on a machine where another
// program wants the cores too, a spinning thread that loses its core turns every
// barrier into a stall of a scheduler time slice. A GPT training step has hundreds of
// parallel loops; measured here with a compile job beside it, the step took 20 times
// as long. OpenMP's passive policy avoids the stall but pays a sleep and a wake-up at
// every loop. This pool does what works in both cases:
//   - idle threads spin briefly (kSpin, about 30 microseconds: consecutive loops of a
//     step follow each other faster than that), then sleep on a futex
//     (std::atomic::wait);
//   - tasks are claimed one at a time from a shared counter, so a thread that loses
//     its core delays only the task it is running, and the others (the caller
//     included) take the rest.
// Which thread runs a task never changes a result: callers cut their work into
// tasks by the problem size alone (see parallel_for).
//
// A loop started inside a task, or while another thread's loop holds the pool, runs on
// the calling thread (as does a loop of one task, which leaves the pool free for the
// loops inside it). The pool is made on first use with OMP_NUM_THREADS threads when
// that is set (the variable users already know), else one per hardware thread;
// set_num_threads() changes it.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace chord::cpu {

class ThreadPool {
 public:
  // The process's pool. Never destroyed: its threads are daemons that the OS ends at exit
  // (joining them from a static destructor can deadlock when exit() runs on a worker).
  static ThreadPool& instance() {
    static ThreadPool* pool = new ThreadPool(default_size());
    return *pool;
  }

  // Threads that run a loop's tasks, the caller included (>= 1).
  int size() const { return size_.load(std::memory_order_relaxed); }

  // Starts or stops workers so that loops run on n threads (n < 1 counts as 1).
  void resize(int n) {
    n = std::max(1, n);
    std::lock_guard<std::mutex> run_lock(run_mutex_);  // no loop is running meanwhile
    for (; workers_ < n - 1; ++workers_) {
      const int index = workers_ + 1;
      std::thread([this, index] { worker_loop(index); }).detach();
    }
    // Workers past n - 1 stay parked: they take part in loops only while their index < size.
    size_.store(n, std::memory_order_relaxed);
  }

  // Calls task(t) for every t in [0, tasks), on this thread and the pool's, and returns
  // when all have run. An exception thrown by a task is rethrown here (the first one).
  template <class Task>
  void run(int64_t tasks, Task&& task) {
    if (tasks <= 0) return;
    std::unique_lock<std::mutex> run_lock(run_mutex_, std::defer_lock);
    if (tasks == 1 || size() == 1 || in_task() || tasks > kMaxTasks || !run_lock.try_lock()) {
      for (int64_t t = 0; t < tasks; ++t) task(t);
      return;
    }
    using F = std::remove_reference_t<Task>;
    job_.fn = [](void* ctx, int64_t t) { (*static_cast<F*>(ctx))(t); };
    job_.ctx = &task;
    job_.error = nullptr;
    remaining_.store(tasks, std::memory_order_relaxed);
    const uint32_t epoch = epoch_ + 1;
    epoch_ = epoch;
    // Publishes the job: fn, ctx and remaining_ happen-before any successful claim.
    claim_.store(pack(epoch, static_cast<uint32_t>(tasks), 0), std::memory_order_release);
    wake_.store(epoch, std::memory_order_release);
    wake_.notify_all();

    InTask mark;
    work_on(epoch);
    // Wait for the tasks other threads claimed: spin, then sleep.
    int64_t left = remaining_.load(std::memory_order_acquire);
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    while (left != 0 && std::chrono::steady_clock::now() < spin_until) {
      for (int i = 0; i < 64 && left != 0; ++i) {
        pause();
        left = remaining_.load(std::memory_order_acquire);
      }
    }
    while (left != 0) {
      remaining_.wait(left, std::memory_order_acquire);
      left = remaining_.load(std::memory_order_acquire);
    }
    if (job_.error) std::rethrow_exception(job_.error);
  }

  // 0 on the thread that started the running loop (and outside any loop), 1 .. size() - 1
  // on the workers: an index for per-thread scratch.
  static int thread_index() { return tls().index; }
  // True inside a task of a loop (where a nested loop runs serially).
  static bool in_task() { return tls().in_task; }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

 private:
  static constexpr auto kSpin = std::chrono::microseconds(30);
  static constexpr int64_t kMaxTasks = (int64_t{1} << 24) - 1;

  struct Job {
    void (*fn)(void*, int64_t) = nullptr;
    void* ctx = nullptr;
    std::exception_ptr error;
    std::mutex error_mutex;
  };
  struct ThreadState {
    int index = 0;
    bool in_task = false;
  };
  static ThreadState& tls() {
    thread_local ThreadState state;
    return state;
  }
  struct InTask {  // marks the calling thread as inside a task for a scope
    bool saved = tls().in_task;
    InTask() { tls().in_task = true; }
    ~InTask() { tls().in_task = saved; }
  };

  // The claim word: [epoch: 16 bits][tasks: 24 bits][next task: 24 bits]. A thread claims
  // task `next` by a compare-exchange that also checks the epoch, so a thread that wakes up
  // late can never take a task of a later loop, and it reads the job only after a claim
  // succeeded (the job cannot change until that task is done).
  static uint64_t pack(uint32_t epoch, uint32_t tasks, uint32_t next) {
    return (static_cast<uint64_t>(epoch & 0xffff) << 48) | (static_cast<uint64_t>(tasks) << 24) | next;
  }

  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }

  static int default_size() {
    if (const char* env = std::getenv("OMP_NUM_THREADS")) {
      const int n = std::atoi(env);
      if (n >= 1) return n;
    }
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }

  explicit ThreadPool(int n) { resize(n); }

  // Claims and runs tasks of loop `epoch` until none is left.
  void work_on(uint32_t epoch) {
    uint64_t word = claim_.load(std::memory_order_acquire);
    for (;;) {
      if ((word >> 48) != (epoch & 0xffff)) return;
      const uint64_t tasks = (word >> 24) & 0xffffff, next = word & 0xffffff;
      if (next >= tasks) return;
      if (!claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel, std::memory_order_acquire))
        continue;
      try {
        job_.fn(job_.ctx, static_cast<int64_t>(next));
      } catch (...) {
        std::lock_guard<std::mutex> lock(job_.error_mutex);
        if (!job_.error) job_.error = std::current_exception();
      }
      if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining_.notify_all();
      word = claim_.load(std::memory_order_acquire);
    }
  }

  void worker_loop(int index) {
    tls().index = index;
    uint32_t seen = wake_.load(std::memory_order_acquire);
    for (;;) {
      // Wait for the next loop: spin, then sleep.
      uint32_t now = wake_.load(std::memory_order_acquire);
      const auto spin_until = std::chrono::steady_clock::now() + kSpin;
      while (now == seen && std::chrono::steady_clock::now() < spin_until) {
        for (int i = 0; i < 64 && now == seen; ++i) {
          pause();
          now = wake_.load(std::memory_order_acquire);
        }
      }
      while (now == seen) {
        wake_.wait(seen, std::memory_order_acquire);
        now = wake_.load(std::memory_order_acquire);
      }
      seen = now;
      if (index >= size()) continue;  // parked by resize()
      InTask mark;
      work_on(now);
    }
  }

  std::atomic<int> size_{1};
  int workers_ = 0;                    // threads started (guarded by run_mutex_)
  std::mutex run_mutex_;               // one loop at a time
  uint32_t epoch_ = 0;                 // the last loop's number (guarded by run_mutex_)
  Job job_;                            // the running loop (written under run_mutex_)
  std::atomic<uint64_t> claim_{0};     // see pack()
  std::atomic<int64_t> remaining_{0};  // tasks of the running loop not yet finished
  std::atomic<uint32_t> wake_{0};      // bumped to start a loop; workers wait on it
};

}  // namespace chord::cpu
