#pragma once
// Raw device memory, as core needs it: Storage<T> allocates and frees a CUDA
// tensor's buffer, Tensor<T> fills one and reads its elements back. Only the
// declarations live here, so that core includes no backend; the CUDA
// implementation unit (src/cuda/chord_cuda.cu, through the implementation part
// of backend/cuda/runtime.hpp) defines them. backend/cuda/runtime.hpp includes
// this header: these are also its public names (chord::cuda::allocate, ...).
//
// Call them only under `if constexpr (chord::built_with_cuda())`: a build
// without CUDA has no definitions, and never references them there.

#include <cstddef>
#include <cstdint>

namespace chord::cuda {

// Where a kernel or copy runs (a GPU's index), and the op its errors name.
struct Context {
  int device = 0;
  const char* op = "cuda";
};

// Device memory from the caching allocator (nullptr for 0 bytes); give it back
// with the same size and device.
void* allocate(std::size_t bytes, int device);
void deallocate(void* p, std::size_t bytes, int device) noexcept;

// Copies on the device's stream. copy_to_host waits for the copy (and for
// everything queued before it); the other two return at once.
void copy_to_device(const Context& ctx, void* dst, const void* src, std::size_t bytes);
void copy_to_host(const Context& ctx, void* dst, const void* src, std::size_t bytes);
void copy_on_device(const Context& ctx, void* dst, const void* src, std::size_t bytes);

// dst[0, count) = *value, for elements of 1, 2, 4 or 8 bytes.
void fill(const Context& ctx, void* dst, int64_t count, std::size_t element_size, const void* value);

}  // namespace chord::cuda
