#pragma once
// What every dispatch header shares (backend/dispatch/, docs/design.md "Dispatch").
//
// A dispatch function is the one place that picks a kernel family's device:
// ops and optimizers call chord::backend::<family>(device, op, raw pointers...),
// and its body is one switch on device.type, the CPU case calling the cpu:: kernel,
// the CUDA case the cuda:: launcher under `if constexpr (built_with_cuda())`.
// A build without CUDA cannot make a CUDA tensor (Storage refuses), so its CUDA
// case is unreachable; it still fails with a clear chord::Error, never silently.

#include "chord/core/device.hpp"
#include "chord/core/error.hpp"

namespace chord::backend {

// The CUDA case of a dispatch function in a build without the CUDA backend.
[[noreturn]] inline void fail_without_cuda(const char* op, Device device) {
  fail(op, "got a tensor on ", device,
       " but chord was built without CUDA: configure with -DCHORD_CUDA=ON (needs the CUDA toolkit)");
}

}  // namespace chord::backend
