#pragma once
// Per-token log-probabilities and entropies of a temperature-scaled policy,
// fused: one pass over each logits row computes its softmax statistics once,
// with no [..., V] log-softmax tensor or autograd graph in between.
//
//   auto lp = chord::token_log_probs(logits, targets, temperature);  // logits [N, L, V], targets int64 [N, L]
//   auto H  = chord::token_entropy(logits, temperature);             // [N, L]
//   auto [lp, H] = chord::token_log_probs_and_entropy(logits, targets, temperature);  // both, one pass
//
// Logits may have any leading dims, [..., V] with targets [...]. With z = logits / temperature:
//   lp[...] = log_softmax(z)[..., targets[...]]
//   H[...]  = -sum_v softmax(z)_v * log_softmax(z)_v
// Both are differentiable with respect to the logits:
//   d lp / d logits_v = ([v == target] - p_v) / temperature
//   d H  / d logits_v = -p_v (log p_v + H) / temperature   (derived in backend/cpu/token_logprobs.hpp)
//
// The row code is cpu::log_softmax_row_stats / cpu::log_prob_at, the same the
// sampler calls through cpu::token_log_prob_row / cpu::log_softmax_row on one
// row: for identical logits, the sampler's lp_old and the trainer's lp are
// bit-identical, provided the sampler converts the same temperature with
// cpu::inverse_temperature<T>(temperature) (a multiplication by 1 / temperature,
// rounded to the element type, is what both apply).

#include <cmath>
#include <cstdint>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/cpu/token_logprobs.hpp"
#include "chord/backend/dispatch/token_logprobs.hpp"
#include "chord/ops/elementwise.hpp"

namespace chord {

// Both per-token results of one pass (either may be undefined when not asked for).
template <FloatingPoint T>
struct TokenLogProbs {
  Tensor<T> log_probs = {};  // [...]: log p(target)
  Tensor<T> entropy = {};    // [...]: H of the row's distribution
};

}  // namespace chord

namespace chord::ops {

namespace detail {

template <FloatingPoint T>
TokenLogProbs<T> token_log_probs_impl(const char* op, const Tensor<T>& logits, const Tensor<int64_t>* targets,
                                      bool want_entropy, double temperature) {
  check_defined(op, logits, "logits");
  check(logits.dim() >= 1, op, "logits need a vocabulary dim (shape [..., V]), got a 0-d tensor");
  check(std::isfinite(temperature) && temperature > 0.0, op, "temperature must be positive and finite, got ",
        temperature);
  const int64_t V = logits.shape().back();
  check(V > 0, op, "the vocabulary (last) dim of logits of shape ", logits.shape(), " is empty");
  Shape row_shape = logits.shape();  // the shape of the results: logits without the vocabulary dim
  row_shape.erase(row_shape.size() - 1);
  const int64_t R = numel_of(row_shape);

  // rows_target [R]: the targets, dense and checked.
  Tensor<int64_t> rows_target;
  if (targets) {
    check_defined(op, *targets, "targets");
    check_same_device(op, logits.device(), targets->device());
    check(targets->shape() == row_shape, op, "targets of shape ", targets->shape(), " do not match logits of shape ",
          logits.shape(), " (expected targets of shape ", row_shape, ")");
    auto check_target = [&](int64_t v, int64_t r) {
      check(v >= 0 && v < V, op, "target ", v, " at row ", r, " is out of range for a vocabulary of ", V,
            " (expected a token id in [0, ", V, "))");
    };
    // checked on the host (a copy from a GPU), used on the device
    const std::vector<int64_t> values = targets->to_vector();
    for (int64_t r = 0; r < R; ++r) check_target(values[r], r);
    rows_target = dense(*targets);
  }

  const T inv_temperature = cpu::inverse_temperature<T>(temperature);
  const Tensor<T> x = dense(logits);                           // [R, V]
  Tensor<T> row_max = Tensor<T>::empty(Shape{R}, x.device());  // [R]
  Tensor<T> log_sum = Tensor<T>::empty(Shape{R}, x.device());  // [R]
  TokenLogProbs<T> out;
  if (targets) out.log_probs = Tensor<T>::empty(row_shape, x.device());  // [R] (as targets' shape)
  if (want_entropy) out.entropy = Tensor<T>::empty(row_shape, x.device());  // [R]
  backend::token_log_probs_forward(x.device(), op, x.data(), targets ? rows_target.data() : nullptr,
                                   targets ? out.log_probs.data() : nullptr, row_max.data(), log_sum.data(),
                                   want_entropy ? out.entropy.data() : nullptr, R, V, inv_temperature);

  if (!autograd::needs_grad(logits)) return out;
  const autograd::SavedTensor<T> sx(x, op);
  const Shape in_shape = logits.shape();
  if (targets)
    autograd::record("TokenLogProbsBackward", out.log_probs, {logits},
                     [sx, rows_target, row_max, log_sum, R, V, inv_temperature, in_shape](const Tensor<T>& g) {
                       const Tensor<T>& xs = sx.get();
                       const Tensor<T> gr = dense(g);                           // [R]
                       Tensor<T> gx = Tensor<T>::empty(in_shape, xs.device());  // [R, V]
                       backend::token_log_probs_backward(xs.device(), "token_log_probs", xs.data(),
                                                         rows_target.data(), gr.data(), row_max.data(), log_sum.data(),
                                                         static_cast<const T*>(nullptr), static_cast<const T*>(nullptr),
                                                         gx.data(), R, V, inv_temperature);
                       return std::vector<Tensor<T>>{gx};
                     });
  if (want_entropy)
    autograd::record("TokenEntropyBackward", out.entropy, {logits},
                     [sx, row_max, log_sum, sh = autograd::SavedTensor<T>(out.entropy, op), R, V, inv_temperature,
                      in_shape](const Tensor<T>& g) {
                       const Tensor<T>& xs = sx.get();
                       const Tensor<T>& entropy = sh.get();                     // [R] (a detached alias: no cycle)
                       const Tensor<T> gr = dense(g);                           // [R]
                       Tensor<T> gx = Tensor<T>::empty(in_shape, xs.device());  // [R, V]
                       backend::token_log_probs_backward(xs.device(), "token_log_probs", xs.data(),
                                                         static_cast<const int64_t*>(nullptr),
                                                         static_cast<const T*>(nullptr), row_max.data(),
                                                         log_sum.data(), entropy.data(), gr.data(), gx.data(), R, V,
                                                         inv_temperature);
                       return std::vector<Tensor<T>>{gx};
                     });
  return out;
}

}  // namespace detail

// log softmax(logits / temperature) gathered at targets: logits [..., V], targets int64 [...] -> [...].
// A target outside [0, V) is an error.
template <FloatingPoint T>
Tensor<T> token_log_probs(const Tensor<T>& logits, const Tensor<int64_t>& targets, double temperature = 1.0) {
  return detail::token_log_probs_impl("token_log_probs", logits, &targets, false, temperature).log_probs;
}

// Entropy of softmax(logits / temperature) per row: logits [..., V] -> [...].
template <FloatingPoint T>
Tensor<T> token_entropy(const Tensor<T>& logits, double temperature = 1.0) {
  return detail::token_log_probs_impl("token_entropy", logits, nullptr, true, temperature).entropy;
}

// Both of the above from one pass over the logits.
template <FloatingPoint T>
TokenLogProbs<T> token_log_probs_and_entropy(const Tensor<T>& logits, const Tensor<int64_t>& targets,
                                             double temperature = 1.0) {
  return detail::token_log_probs_impl("token_log_probs_and_entropy", logits, &targets, true, temperature);
}

}  // namespace chord::ops

namespace chord {
using ops::token_entropy;
using ops::token_log_probs;
using ops::token_log_probs_and_entropy;
}  // namespace chord
