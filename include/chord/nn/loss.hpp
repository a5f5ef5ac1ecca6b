#pragma once
// The language-model loss: token-mean next-token cross-entropy over the
// positions a mask selects (e.g. only the response of a prompt + response row).
//
//   loss = sum_{b,t} mask[b,t] * -log softmax(logits[b,t])[targets[b,t]] / sum mask

#include "chord/core/tensor.hpp"
#include "chord/ops/loss.hpp"

namespace chord::nn {

// logits [B, T, V], targets int64 [B, T], mask (optional) bool [B, T]: true where the loss counts.
// With no counted position the loss is 0 (and so is its gradient).
template <FloatingPoint T>
Tensor<T> lm_loss(const Tensor<T>& logits, const Tensor<int64_t>& targets, const Tensor<bool>& mask = Tensor<bool>()) {
  if (!mask.defined()) return cross_entropy(logits, targets);
  check(mask.shape() == targets.shape(), "lm_loss", "mask of shape ", mask.shape(), " does not match targets of shape ",
        targets.shape());
  constexpr int64_t kIgnored = -1;
  // kept [B, T]: the targets with kIgnored where the mask is false, made on the host
  Tensor<int64_t> kept = targets.to(Device::cpu()).contiguous().clone();
  const Tensor<bool> m = mask.to(Device::cpu()).contiguous();
  for (int64_t i = 0; i < kept.numel(); ++i)
    if (!m.data()[i]) kept.data()[i] = kIgnored;
  return cross_entropy(logits, kept.to(targets.device()), CrossEntropyOptions{.ignore_index = kIgnored});
}

}  // namespace chord::nn
