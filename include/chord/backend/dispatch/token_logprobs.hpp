#pragma once
// Dispatch: the fused per-token log-prob / entropy row kernels (ops/token_logprobs.hpp;
// formulas in backend/cpu/token_logprobs.hpp).
//
// logits, gx: [R, V] dense; targets: [R] or null (no log-probs); log_probs, entropy: [R] or null
// (not wanted); row_max, log_sum: [R], written by the forward and read by the backward.
// The backward takes the gradient of one result: g_lp [R] with targets, or g_h [R] with entropy.

#include <cstdint>

#include "chord/backend/cpu/token_logprobs.hpp"
#include "chord/backend/cuda/token_logprobs.hpp"
#include "chord/backend/dispatch/common.hpp"
#include "chord/core/dtype.hpp"

namespace chord::backend {

template <FloatingPoint T>
void token_log_probs_forward(Device device, const char* op, const T* logits, const int64_t* targets, T* log_probs,
                             T* row_max, T* log_sum, T* entropy, int64_t R, int64_t V, T inv_temperature) {
  switch (device.type) {
    case DeviceType::CPU:
      return cpu::token_log_probs_forward_rows(logits, targets, log_probs, row_max, log_sum, entropy, R, V,
                                               inv_temperature);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::token_log_probs_forward_rows<T>(cuda::Context{device.index, op}, logits, targets, log_probs,
                                                     row_max, log_sum, entropy, R, V, inv_temperature);
      else fail_without_cuda(op, device);
  }
}

template <FloatingPoint T>
void token_log_probs_backward(Device device, const char* op, const T* logits, const int64_t* targets, const T* g_lp,
                              const T* row_max, const T* log_sum, const T* entropy, const T* g_h, T* gx, int64_t R,
                              int64_t V, T inv_temperature) {
  switch (device.type) {
    case DeviceType::CPU:
      return cpu::token_log_probs_backward_rows(logits, targets, g_lp, row_max, log_sum, entropy, g_h, gx, R, V,
                                                inv_temperature);
    case DeviceType::CUDA:
      if constexpr (built_with_cuda())
        return cuda::token_log_probs_backward_rows<T>(cuda::Context{device.index, op}, logits, targets, g_lp, row_max,
                                                      log_sum, entropy, g_h, gx, R, V, inv_temperature);
      else fail_without_cuda(op, device);
  }
}

}  // namespace chord::backend
