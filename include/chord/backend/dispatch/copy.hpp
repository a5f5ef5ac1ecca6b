#pragma once
// Dispatch: copies of raw bytes between devices (ops::to).
//
//   backend::copy_between_devices("to", Device::cuda(0), dst, Device::cpu(), src, bytes);
//
// cpu -> cuda and cuda -> cpu are one copy on the GPU's stream (copy to the host waits
// for it); cuda:i -> cuda:j goes through a host buffer.

#include <cstddef>
#include <cstring>
#include <vector>

#include "chord/backend/cuda/runtime.hpp"
#include "chord/backend/dispatch/common.hpp"

namespace chord::backend {

// dst (bytes on dst_device) = src (bytes on src_device).
inline void copy_between_devices(const char* op, Device dst_device, void* dst, Device src_device, const void* src,
                                 std::size_t bytes) {
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    if (bytes) std::memcpy(dst, src, bytes);
    return;
  }
  if constexpr (built_with_cuda()) {
    if (src_device.is_cpu()) {  // cpu -> cuda
      cuda::copy_to_device(cuda::Context{dst_device.index, op}, dst, src, bytes);
    } else if (dst_device.is_cpu()) {  // cuda -> cpu
      cuda::copy_to_host(cuda::Context{src_device.index, op}, dst, src, bytes);
    } else {  // cuda:i -> cuda:j, through the host
      std::vector<unsigned char> host(bytes);
      cuda::copy_to_host(cuda::Context{src_device.index, op}, host.data(), src, bytes);
      cuda::copy_to_device(cuda::Context{dst_device.index, op}, dst, host.data(), bytes);
    }
  } else {
    fail(op, "copying from ", src_device, " to ", dst_device, " is not supported in this build");
  }
}

}  // namespace chord::backend
