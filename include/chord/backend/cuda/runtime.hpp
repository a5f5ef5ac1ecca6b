#pragma once
// The CUDA runtime as chord uses it: devices, one stream per device, a caching
// allocator, host/device copies, and the errors.
//
//   chord::cuda::is_available()        // built with CUDA and at least one GPU present
//   chord::cuda::device_count()
//   chord::cuda::synchronize()         // waits for every kernel chord queued on a device
//   chord::cuda::empty_cache()         // returns the allocator's cached blocks to the driver
//   chord::cuda::allocator_stats()     // bytes in tensors, bytes cached, cudaMalloc calls, ...
//
// How the CUDA backend fits a header-only library (docs/design.md, "CUDA without
// making it mandatory"): this header and every other one under backend/cuda/
// declares plain functions on raw pointers (the "launchers"), which compile
// with any C++ compiler. Their definitions, and the kernels, sit in the
// `#ifdef CHORD_CUDA_IMPLEMENTATION` part of each header: exactly one
// translation unit, compiled by nvcc (src/cuda/chord_cuda.cu, built into the
// library chord_cuda when CMake's CHORD_CUDA is ON), defines that macro before
// including them. Ops call a launcher only under `if constexpr
// (built_with_cuda())`, so a build without CUDA never references one.
//
// Streams. Every kernel, copy and cuBLAS call that chord issues for device i
// goes to one stream of device i, created on first use, so they run in the
// order they were issued. Copies to the host wait for the stream; nothing else
// does. Set CHORD_CUDA_SYNC=1 in the environment to wait after every kernel,
// which ties an asynchronous fault to the op that caused it (slow; for
// debugging and compute-sanitizer runs).
//
// The caching allocator. Freed device memory goes back to a free list of its
// device, keyed by its rounded size (a multiple of 512 bytes up to 1 MiB, of
// 2 MiB above), and the next request of that size takes it from there:
// cudaMalloc runs only on a miss. Reuse is safe because every use of a block
// is ordered on its device's one stream. When cudaMalloc runs out of memory,
// the cached blocks are released and the call is tried once more.
//
// Errors. A failing CUDA or cuBLAS call throws chord::Error naming the op:
//   "cuda: cudaMalloc failed: out of memory (tried to allocate 2.0 GiB on cuda:0; ...)"
//   "matmul: cuBLAS error CUBLAS_STATUS_INVALID_VALUE (cublasSgemm)"
// and asking for a CUDA tensor where there is no GPU, or in a build without
// CUDA, throws one that says so.

#include <cstddef>
#include <cstdint>

#include "chord/core/device.hpp"
#include "chord/core/device_memory.hpp"
#include "chord/core/error.hpp"

namespace chord::cuda {

struct AllocatorStats {
  std::size_t allocated_bytes = 0;       // held by live tensors (rounded sizes)
  std::size_t cached_bytes = 0;          // freed, kept for reuse
  std::size_t peak_allocated_bytes = 0;  // the most allocated_bytes ever held
  int64_t cuda_mallocs = 0;              // cudaMalloc calls (misses)
  int64_t cache_hits = 0;                // requests served from the cache
};

// ---- defined by the CUDA implementation unit ----------------------------------------

namespace detail {
int device_count();  // 0 when there is no GPU or no driver
void synchronize(int device);
void empty_cache();
AllocatorStats allocator_stats(int device);
}  // namespace detail

// Throws chord::Error unless `device` names a GPU of this machine.
void check_device(const char* op, int device);

// Context, allocate, deallocate, copy_to_device, copy_to_host, copy_on_device and fill
// are declared in core/device_memory.hpp (core needs them) and defined below.

// The cudaStream_t (as void*) that chord uses on `device`, for interoperating with other CUDA code.
void* stream_handle(int device);

// ---- usable in every build ----------------------------------------------------------

inline int device_count() {
  if constexpr (built_with_cuda()) return detail::device_count();
  else return 0;
}
inline bool is_available() { return device_count() > 0; }
inline void synchronize(int device = 0) {
  if constexpr (built_with_cuda()) detail::synchronize(device);
  else (void)device;
}
inline void empty_cache() {
  if constexpr (built_with_cuda()) detail::empty_cache();
}
inline AllocatorStats allocator_stats(int device = 0) {
  if constexpr (built_with_cuda()) return detail::allocator_stats(device);
  else return ((void)device, AllocatorStats{});
}

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace chord::cuda {

// ---- errors --------------------------------------------------------------------------

inline std::string format_bytes(std::size_t bytes) {
  const double b = static_cast<double>(bytes);
  char text[64];
  if (b >= 1024.0 * 1024 * 1024) std::snprintf(text, sizeof text, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  else if (b >= 1024.0 * 1024) std::snprintf(text, sizeof text, "%.2f MiB", b / (1024.0 * 1024));
  else std::snprintf(text, sizeof text, "%zu bytes", bytes);
  return text;
}

// Throws "op: <call> failed: <CUDA's message> (<error name>)" unless status is cudaSuccess.
inline void check_cuda(cudaError_t status, const char* op, const char* call) {
  if (status == cudaSuccess) return;
  fail(op, call, " failed: ", cudaGetErrorString(status), " (", cudaGetErrorName(status), ")");
}

inline const char* cublas_status_name(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

// Throws "op: cuBLAS error CUBLAS_STATUS_... (<call>)" unless status is CUBLAS_STATUS_SUCCESS.
inline void check_cublas(cublasStatus_t status, const char* op, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  fail(op, "cuBLAS error ", cublas_status_name(status), " (", call, ")");
}

// ---- devices and streams ---------------------------------------------------------------

namespace runtime_detail {

// The result of cudaGetDeviceCount, asked once.
struct DeviceInfo {
  int count = 0;
  std::string error;  // why there is no device, when count is 0
};
inline const DeviceInfo& device_info() {
  static const DeviceInfo info = [] {
    DeviceInfo d;
    const cudaError_t status = cudaGetDeviceCount(&d.count);
    if (status != cudaSuccess) {
      d.count = 0;
      d.error = std::string(cudaGetErrorString(status)) + " (" + cudaGetErrorName(status) + ")";
      cudaGetLastError();  // clear it, so that it does not surface in a later check
    } else if (d.count == 0) {
      d.error = "cudaGetDeviceCount reports 0 devices";
    }
    return d;
  }();
  return info;
}

// Per-device state, created on first use and never destroyed: chord may free a
// tensor after the CUDA runtime has shut down (a static Tensor), so nothing here
// may call CUDA from a destructor.
struct DeviceState {
  cudaStream_t stream = nullptr;
  std::map<std::size_t, std::vector<void*>> free_blocks;  // rounded size -> cached blocks
  AllocatorStats stats;
};
inline std::mutex& state_mutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}
inline std::vector<DeviceState>& states() {
  static std::vector<DeviceState>* s = new std::vector<DeviceState>(static_cast<std::size_t>(device_info().count));
  return *s;
}

// Makes `device` current on this thread (cheap when it already is).
inline void use_device(int device, const char* op) {
  int current = -1;
  check_cuda(cudaGetDevice(&current), op, "cudaGetDevice");
  if (current != device) check_cuda(cudaSetDevice(device), op, "cudaSetDevice");
}

inline bool sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("CHORD_CUDA_SYNC");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return on;
}

// Rounded block sizes: multiples of 512 bytes up to 1 MiB, of 2 MiB above.
inline std::size_t rounded_size(std::size_t bytes) {
  constexpr std::size_t kSmall = 512, kLarge = std::size_t{2} << 20, kSmallLimit = std::size_t{1} << 20;
  const std::size_t step = bytes <= kSmallLimit ? kSmall : kLarge;
  return (bytes + step - 1) / step * step;
}

}  // namespace runtime_detail

void check_device(const char* op, int device) {
  const runtime_detail::DeviceInfo& info = runtime_detail::device_info();
  check(info.count > 0, op, "a CUDA tensor was requested (cuda:", device, ") but no CUDA device is available: ",
        info.error);
  check(device >= 0 && device < info.count, op, "device cuda:", device, " does not exist: this machine has ",
        info.count, " CUDA device(s)");
}

// The stream every kernel for `device` goes to; makes the device current.
inline cudaStream_t stream_for(const Context& ctx) {
  check_device(ctx.op, ctx.device);
  runtime_detail::use_device(ctx.device, ctx.op);
  std::lock_guard<std::mutex> lock(runtime_detail::state_mutex());
  runtime_detail::DeviceState& s = runtime_detail::states()[static_cast<std::size_t>(ctx.device)];
  if (!s.stream) check_cuda(cudaStreamCreate(&s.stream), ctx.op, "cudaStreamCreate");
  return s.stream;
}

// Call after every kernel launch: turns a launch error into chord::Error naming the op
// (and, with CHORD_CUDA_SYNC=1, waits and reports errors of the kernel's execution too).
inline void check_launch(const Context& ctx, cudaStream_t stream, const char* kernel) {
  check_cuda(cudaGetLastError(), ctx.op, kernel);
  if (runtime_detail::sync_after_launch()) check_cuda(cudaStreamSynchronize(stream), ctx.op, kernel);
}

void* stream_handle(int device) { return stream_for(Context{device, "cuda"}); }

namespace detail {
int device_count() { return runtime_detail::device_info().count; }

void synchronize(int device) {
  const Context ctx{device, "synchronize"};
  check_cuda(cudaStreamSynchronize(stream_for(ctx)), ctx.op, "cudaStreamSynchronize");
}
}  // namespace detail

// ---- the caching allocator ---------------------------------------------------------------

void* allocate(std::size_t bytes, int device) {
  if (bytes == 0) return nullptr;
  check_device("cuda", device);
  const std::size_t size = runtime_detail::rounded_size(bytes);
  {
    std::lock_guard<std::mutex> lock(runtime_detail::state_mutex());
    runtime_detail::DeviceState& s = runtime_detail::states()[static_cast<std::size_t>(device)];
    auto it = s.free_blocks.find(size);
    if (it != s.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      s.stats.cached_bytes -= size;
      s.stats.allocated_bytes += size;
      s.stats.peak_allocated_bytes = std::max(s.stats.peak_allocated_bytes, s.stats.allocated_bytes);
      ++s.stats.cache_hits;
      return p;
    }
  }
  runtime_detail::use_device(device, "cuda");
  void* p = nullptr;
  cudaError_t status = cudaMalloc(&p, size);
  if (status == cudaErrorMemoryAllocation) {  // give the cached blocks back and try once more
    cudaGetLastError();
    detail::empty_cache();
    runtime_detail::use_device(device, "cuda");
    status = cudaMalloc(&p, size);
  }
  if (status != cudaSuccess) {
    cudaGetLastError();
    const AllocatorStats st = detail::allocator_stats(device);
    fail("cuda", "cudaMalloc failed: ", cudaGetErrorString(status), " (tried to allocate ", format_bytes(bytes),
         " on cuda:", device, "; chord's tensors hold ", format_bytes(st.allocated_bytes), ", its cache ",
         format_bytes(st.cached_bytes), ")");
  }
  std::lock_guard<std::mutex> lock(runtime_detail::state_mutex());
  runtime_detail::DeviceState& s = runtime_detail::states()[static_cast<std::size_t>(device)];
  s.stats.allocated_bytes += size;
  s.stats.peak_allocated_bytes = std::max(s.stats.peak_allocated_bytes, s.stats.allocated_bytes);
  ++s.stats.cuda_mallocs;
  return p;
}

void deallocate(void* p, std::size_t bytes, int device) noexcept {
  if (!p) return;
  const std::size_t size = runtime_detail::rounded_size(bytes);
  std::lock_guard<std::mutex> lock(runtime_detail::state_mutex());
  runtime_detail::DeviceState& s = runtime_detail::states()[static_cast<std::size_t>(device)];
  s.free_blocks[size].push_back(p);
  s.stats.allocated_bytes -= size;
  s.stats.cached_bytes += size;
}

namespace detail {
void empty_cache() {
  std::lock_guard<std::mutex> lock(runtime_detail::state_mutex());
  auto& all = runtime_detail::states();
  for (std::size_t d = 0; d < all.size(); ++d) {
    runtime_detail::DeviceState& s = all[d];
    if (s.free_blocks.empty()) continue;
    runtime_detail::use_device(static_cast<int>(d), "empty_cache");
    for (auto& [size, blocks] : s.free_blocks)
      for (void* p : blocks) check_cuda(cudaFree(p), "empty_cache", "cudaFree");  // waits for the device
    s.free_blocks.clear();
    s.stats.cached_bytes = 0;
  }
}

AllocatorStats allocator_stats(int device) {
  if (device < 0 || device >= runtime_detail::device_info().count) return {};
  std::lock_guard<std::mutex> lock(runtime_detail::state_mutex());
  return runtime_detail::states()[static_cast<std::size_t>(device)].stats;
}
}  // namespace detail

// ---- copies and fills ------------------------------------------------------------------------

void copy_to_device(const Context& ctx, void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  // From pageable memory this returns once the data is staged: src may be freed right after.
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_for(ctx)), ctx.op,
             "cudaMemcpyAsync (host to device)");
}

void copy_to_host(const Context& ctx, void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  cudaStream_t stream = stream_for(ctx);
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream), ctx.op,
             "cudaMemcpyAsync (device to host)");
  check_cuda(cudaStreamSynchronize(stream), ctx.op, "cudaStreamSynchronize");
}

void copy_on_device(const Context& ctx, void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_for(ctx)), ctx.op,
             "cudaMemcpyAsync (device to device)");
}

namespace runtime_detail {
// dst: [n]
template <class U>
__global__ void fill_kernel(U* dst, int64_t n, U value) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    dst[i] = value;
}

template <class U>
void launch_fill(const Context& ctx, void* dst, int64_t count, const void* value) {
  U v;
  std::memcpy(&v, value, sizeof(U));
  cudaStream_t stream = stream_for(ctx);
  const int threads = 256;
  const int64_t blocks = std::min<int64_t>((count + threads - 1) / threads, 4096);
  fill_kernel<U><<<static_cast<unsigned>(blocks), threads, 0, stream>>>(static_cast<U*>(dst), count, v);
  check_launch(ctx, stream, "fill_kernel");
}
}  // namespace runtime_detail

void fill(const Context& ctx, void* dst, int64_t count, std::size_t element_size, const void* value) {
  if (count <= 0) return;
  bool zero = true;
  for (std::size_t i = 0; i < element_size; ++i) zero = zero && static_cast<const unsigned char*>(value)[i] == 0;
  if (zero) {
    check_cuda(cudaMemsetAsync(dst, 0, static_cast<std::size_t>(count) * element_size, stream_for(ctx)), ctx.op,
               "cudaMemsetAsync");
    return;
  }
  switch (element_size) {
    case 1: return runtime_detail::launch_fill<uint8_t>(ctx, dst, count, value);
    case 2: return runtime_detail::launch_fill<uint16_t>(ctx, dst, count, value);
    case 4: return runtime_detail::launch_fill<uint32_t>(ctx, dst, count, value);
    case 8: return runtime_detail::launch_fill<uint64_t>(ctx, dst, count, value);
    default: fail(ctx.op, "internal: cannot fill elements of ", element_size, " bytes");
  }
}

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
