// The CPU caching allocator (core/allocator.hpp): size classes, reuse of freed
// blocks, the cache limit, alignment; and the engine handing a gradient to a
// leaf without a copy only when nothing else sees it.

#include <cstdint>
#include <vector>

#include "test_util.hpp"

using namespace chord;

namespace {

// Restores the cache limit when a test ends.
struct CacheLimit {
  std::size_t saved = CpuCachingAllocator::instance().cache_limit();
  ~CacheLimit() { CpuCachingAllocator::instance().set_cache_limit(saved); }
};

}  // namespace

TEST_CASE("size classes: 64-byte multiples up to 4 KiB, then 4 steps per power of two") {
  using A = CpuCachingAllocator;
  CHECK(A::size_class(1) == 64);
  CHECK(A::size_class(64) == 64);
  CHECK(A::size_class(65) == 128);
  CHECK(A::size_class(4096) == 4096);
  CHECK(A::size_class(4097) == 5120);  // 4096 + 1024
  CHECK(A::size_class(8192) == 8192);
  CHECK(A::size_class(1 << 20) == (1 << 20));
  CHECK(A::size_class((1 << 20) + 1) == (1 << 20) + (1 << 18));
  for (std::size_t bytes = 1; bytes < (std::size_t{1} << 26); bytes = bytes * 3 / 2 + 7) {
    const std::size_t c = A::size_class(bytes);
    INFO("bytes ", bytes, " -> class ", c);
    CHECK(c >= bytes);
    CHECK(c % 64 == 0);
    CHECK((bytes <= 4096 || c <= bytes + bytes / 4));
    CHECK(A::size_class(c) == c);  // a class is its own class
  }
}

TEST_CASE("a freed large block is handed out again; small blocks and the limit bypass the cache") {
  CacheLimit restore;
  CpuCachingAllocator& a = CpuCachingAllocator::instance();
  a.set_cache_limit(std::size_t{1} << 30);
  const std::size_t bytes = 3 * 1024 * 1024 + 4096;  // class: 3.5 MiB
  void* p = a.allocate(bytes);
  REQUIRE(p != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(p) % kCpuAlignment == 0);
  const CpuAllocatorStats before = a.stats();
  a.deallocate(p, bytes);
  CHECK(a.stats().cached_bytes == before.cached_bytes + CpuCachingAllocator::size_class(bytes));
  void* q = a.allocate(bytes - 100);  // the same size class
  CHECK(q == p);
  CHECK(a.stats().hits == before.hits + 1);
  a.deallocate(q, bytes - 100);

  // A limit of 0 caches nothing (and empties the cache).
  a.set_cache_limit(0);
  CHECK(a.stats().cached_bytes == 0);
  void* r = a.allocate(bytes);
  a.deallocate(r, bytes);
  CHECK(a.stats().cached_bytes == 0);

  // Tensors go through it: a freed tensor's storage is reused by the next of its size.
  a.set_cache_limit(std::size_t{1} << 30);
  const float* first = nullptr;
  {
    Tensor<float> t = Tensor<float>::zeros({512, 512});
    first = t.data();
  }
  Tensor<float> u = Tensor<float>::empty({512, 511});
  CHECK(u.data() == first);
  CHECK(reinterpret_cast<std::uintptr_t>(u.data()) % kCpuAlignment == 0);
  CHECK(a.allocate(0) == nullptr);
}

TEST_CASE("backward gives a leaf its gradient without a copy only when nothing else sees it") {
  Tensor<float> x = Tensor<float>::ones({64, 64});
  x.set_requires_grad();
  Tensor<float> w = Tensor<float>::full({64, 64}, 3.0f);
  w.set_requires_grad();
  // x's gradient (2 w) and w's (2 x) are new tensors nothing else holds: they are taken.
  (x * w * 2.0f).sum().backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().to_vector() == std::vector<float>(64 * 64, 6.0f));
  CHECK(w.grad().to_vector() == std::vector<float>(64 * 64, 2.0f));
  // A gradient that the caller still holds is copied: changing the caller's tensor later
  // must not change the leaf's grad.
  Tensor<float> y = Tensor<float>::zeros({3});
  y.set_requires_grad();
  Tensor<float> g = Tensor<float>::from_vector({1, 2, 3});
  y.backward(g);
  g.data()[0] = 100;
  CHECK(y.grad().to_vector() == std::vector<float>{1, 2, 3});
  // Two paths into one leaf (x + x): the sum, not one path's tensor reused twice.
  Tensor<float> z = Tensor<float>::ones({4});
  z.set_requires_grad();
  (z + z).sum().backward();
  CHECK(z.grad().to_vector() == std::vector<float>(4, 2.0f));
  // And a second backward accumulates into the first one's grad.
  (z * 3.0f).sum().backward();
  CHECK(z.grad().to_vector() == std::vector<float>(4, 5.0f));
}
