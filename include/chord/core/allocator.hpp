#pragma once
// The caching allocator behind every CPU tensor's storage.
//
// A training step allocates the same buffers every time (activations, their
// gradients, the parameters' gradients), and frees them again. Straight from
// malloc, each large buffer is a fresh mmap whose pages the kernel must fault in
// and zero on first touch: for the 124M-parameter GPT that was a fifth of the
// step. Here a freed block goes into a free list of its size class and the next
// request of that class takes it back, with its pages still mapped.
//
// Size classes: a request is rounded up to a multiple of 64 bytes (a cache line)
// below 4 KiB, and to one of 4 steps per power of two above (at most 25% slack).
// Blocks below 64 KiB are left to malloc, which caches small blocks itself.
// The cache holds at most `cache_limit()` bytes (default 4 GiB); a block freed
// beyond that goes back to the system. empty_cache() gives everything back, and
// an allocation that fails empties the cache and tries once more.
//
// One mutex guards the free lists: tensors may be freed on any thread.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chord/core/error.hpp"

namespace chord {

inline constexpr std::size_t kCpuAlignment = 64;  // one cache line; AVX-512 friendly

struct CpuAllocatorStats {
  std::size_t cached_bytes = 0;     // held in the free lists
  std::size_t allocated_bytes = 0;  // handed out and not yet freed (cached classes only)
  int64_t hits = 0, misses = 0;     // requests served from the cache / by the system
};

class CpuCachingAllocator {
 public:
  static constexpr std::size_t kMinCachedBytes = 64 * 1024;

  // The process's allocator. Never destroyed: a tensor in a static may be freed after every
  // other static is gone (the OS takes the cached blocks back at exit).
  static CpuCachingAllocator& instance() {
    static CpuCachingAllocator* allocator = new CpuCachingAllocator();
    return *allocator;
  }

  // The size class of a request of `bytes`: what allocate() really reserves.
  static std::size_t size_class(std::size_t bytes) {
    if (bytes <= 4096) return (bytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
    std::size_t power = 4096;
    while (power * 2 < bytes) power *= 2;  // power < bytes <= 2 * power
    const std::size_t step = power / 4;
    return (bytes + step - 1) / step * step;
  }

  // 64-byte aligned memory for `bytes` (nullptr for 0). Throws chord::Error when out of memory.
  void* allocate(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    const std::size_t size = size_class(bytes);
    if (size >= kMinCachedBytes) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        stats_.cached_bytes -= size;
        stats_.allocated_bytes += size;
        ++stats_.hits;
        return p;
      }
      ++stats_.misses;
      stats_.allocated_bytes += size;
    }
    void* p = std::aligned_alloc(kCpuAlignment, size);
    if (!p) {
      empty_cache();
      p = std::aligned_alloc(kCpuAlignment, size);
    }
    if (!p) {
      if (size >= kMinCachedBytes) {
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.allocated_bytes -= size;
      }
      fail("allocate", "out of memory allocating ", bytes, " bytes on the cpu");
    }
    return p;
  }

  // Returns a block from allocate(p's `bytes`, the same count) to the cache or the system.
  void deallocate(void* p, std::size_t bytes) {
    if (!p) return;
    const std::size_t size = size_class(bytes);
    if (size >= kMinCachedBytes) {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.allocated_bytes -= size;
      if (stats_.cached_bytes + size <= limit_) {
        free_[size].push_back(p);
        stats_.cached_bytes += size;
        return;
      }
    }
    std::free(p);
  }

  // Frees every cached block.
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    stats_.cached_bytes = 0;
  }

  // The most bytes the cache holds; lowering it empties the cache.
  void set_cache_limit(std::size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      limit_ = bytes;
    }
    empty_cache();
  }
  std::size_t cache_limit() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return limit_;
  }

  CpuAllocatorStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  CpuCachingAllocator(const CpuCachingAllocator&) = delete;
  CpuCachingAllocator& operator=(const CpuCachingAllocator&) = delete;

 private:
  CpuCachingAllocator() = default;

  mutable std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;  // size class -> free blocks
  std::size_t limit_ = std::size_t{4} << 30;
  CpuAllocatorStats stats_;
};

// 64-byte aligned host memory through the caching allocator. Returns nullptr for zero bytes.
inline void* cpu_allocate(std::size_t bytes) { return CpuCachingAllocator::instance().allocate(bytes); }
// Frees memory from cpu_allocate(bytes) (the same byte count).
inline void cpu_free(void* p, std::size_t bytes) { CpuCachingAllocator::instance().deallocate(p, bytes); }

// An uninitialised scratch array of `count` T from the caching allocator, freed when it goes
// out of scope: what kernels use for temporary buffers (a std::vector would zero it, and a
// large one would be fresh pages every call).
template <class T>
class HostBuffer {
 public:
  HostBuffer() = default;
  explicit HostBuffer(std::size_t count) : count_(count), data_(static_cast<T*>(cpu_allocate(count * sizeof(T)))) {}
  ~HostBuffer() { cpu_free(data_, count_ * sizeof(T)); }
  HostBuffer(HostBuffer&& other) noexcept : count_(other.count_), data_(other.data_) {
    other.count_ = 0;
    other.data_ = nullptr;
  }
  HostBuffer& operator=(HostBuffer&& other) noexcept {
    std::swap(count_, other.count_);
    std::swap(data_, other.data_);
    return *this;
  }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return count_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }

 private:
  std::size_t count_ = 0;
  T* data_ = nullptr;
};

}  // namespace chord
