#pragma once
// Storage<T>: one reference-counted buffer of elements, shared by every view
// of it (as in PyTorch). It also carries the version counter that autograd
// uses to notice in-place changes to a tensor saved for backward: every view
// of a storage sees the same counter.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "chord/core/allocator.hpp"
#include "chord/core/device.hpp"
#include "chord/core/device_memory.hpp"
#include "chord/core/error.hpp"

namespace chord {

template <class T>
class Storage {
 public:
  // Uninitialised storage for `count` elements on `device`. CUDA storage comes
  // from the caching allocator of backend/cuda/runtime.hpp (declared in core/device_memory.hpp).
  Storage(int64_t count, Device device) : count_(count), device_(device) {
    check(count >= 0, "empty", "negative element count ", count);
    if (device.is_cuda()) {
      if constexpr (built_with_cuda()) {
        data_ = static_cast<T*>(cuda::allocate(bytes(), device.index));
        return;
      } else {
        fail("cuda", "a CUDA tensor was requested (", device,
             ") but chord was built without CUDA: configure with -DCHORD_CUDA=ON (needs the CUDA toolkit)");
      }
    }
    data_ = static_cast<T*>(cpu_allocate(bytes()));
  }
  ~Storage() {
    if constexpr (built_with_cuda()) {
      if (device_.is_cuda()) {
        cuda::deallocate(data_, bytes(), device_.index);
        return;
      }
    }
    cpu_free(data_, bytes());
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  int64_t size() const { return count_; }
  Device device() const { return device_; }

  std::size_t bytes() const { return static_cast<std::size_t>(count_) * sizeof(T); }

  // Bumped by every in-place operation on any view of this storage.
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  T* data_ = nullptr;
  int64_t count_ = 0;
  Device device_;
  uint64_t version_ = 0;
};

}  // namespace chord
