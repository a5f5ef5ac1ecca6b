#pragma once
// Losses: cross_entropy, fused (log-softmax + negative log-likelihood + label
// smoothing + reduction in one forward kernel and one backward kernel, with no
// [N, C] autograd graph in between).
//
//   auto loss = chord::cross_entropy(logits, targets);  // logits [N, C], targets int64 [N]
//   auto loss = chord::cross_entropy(logits, targets,
//                   {.ignore_index = -1, .label_smoothing = 0.1, .reduction = chord::Reduction::Sum});
//
// Logits may have any leading dims, [..., C] with targets [...] (e.g. [B, T, V]
// with [B, T]); they are flattened to rows.
//
// Per row with target t, C classes and label smoothing eps (PyTorch's definition):
//   loss = (1 - eps) * (-log p_t) + eps * mean_c(-log p_c),  p = softmax(logits row)
//   d loss / d logits_c = p_c - (1 - eps) [c == t] - eps / C
// Rows whose target equals ignore_index have loss 0 and gradient 0.
//
// Reductions: None gives the per-row losses (shape of targets, ignored rows 0);
// Sum adds them; Mean divides the sum by the number of non-ignored rows. When
// every row is ignored, Mean gives 0 with a zero gradient (PyTorch gives NaN:
// 0 / 0). We choose 0 so that a batch whose rows are all masked out, which
// happens in RL with token masks, adds nothing instead of poisoning the step.

#include <cstdint>
#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/backend/dispatch/loss.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/reduction.hpp"
#include "chord/ops/view.hpp"

namespace chord {

enum class Reduction { None, Mean, Sum };

struct CrossEntropyOptions {
  int64_t ignore_index = -100;   // rows with this target are skipped
  double label_smoothing = 0.0;  // eps in [0, 1]
  Reduction reduction = Reduction::Mean;
};

}  // namespace chord

namespace chord::ops {

template <FloatingPoint T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<int64_t>& targets,
                        const CrossEntropyOptions& options = {}) {
  const char* op = "cross_entropy";
  check_defined(op, logits, "logits");
  check_defined(op, targets, "targets");
  check_same_device(op, logits.device(), targets.device());
  check(logits.dim() >= 1, op, "logits need a class dim (shape [..., C]), got a 0-d tensor");
  Shape row_shape = logits.shape();  // the targets' expected shape: logits without the class dim
  row_shape.erase(row_shape.size() - 1);
  check(targets.shape() == row_shape, op, "targets of shape ", targets.shape(), " do not match logits of shape ",
        logits.shape(), " (expected targets of shape ", row_shape, ")");
  const double eps = options.label_smoothing;
  check(eps >= 0.0 && eps <= 1.0, op, "label_smoothing must be in [0, 1], got ", eps);

  const int64_t C = logits.shape().back();
  const int64_t N = numel_of(row_shape);
  const Device device = logits.device();

  // rows_target [N] on the device: the class of each row, -1 for an ignored row. The targets
  // are checked on the host (a copy from a GPU).
  const std::vector<int64_t> values = targets.to_vector();  // [N], row-major
  std::vector<int64_t> rows(static_cast<std::size_t>(N));    // [N]
  int64_t kept = 0;
  for (int64_t r = 0; r < N; ++r) {
    const int64_t v = values[r];
    if (v == options.ignore_index) {
      rows[r] = -1;
      continue;
    }
    check(v >= 0 && v < C, op, "target ", v, " at row ", r, " is out of range for ", C,
          " classes (expected a class in [0, ", C, ") or ignore_index ", options.ignore_index, ")");
    rows[r] = v;
    ++kept;
  }
  const Tensor<int64_t> rows_target = Tensor<int64_t>::from_vector(rows, Shape{N}).to(device);  // [N]

  const T eps_t = static_cast<T>(eps);
  const Tensor<T> x = dense(logits);                         // [N, C]
  Tensor<T> row_loss = Tensor<T>::empty(row_shape, device);  // [N] (as targets' shape)
  Tensor<T> row_max = Tensor<T>::empty(Shape{N}, device);    // [N]
  Tensor<T> log_sum = Tensor<T>::empty(Shape{N}, device);    // [N]
  backend::cross_entropy_forward(device, op, x.data(), rows_target.data(), row_loss.data(), row_max.data(),
                                 log_sum.data(), N, C, eps_t);

  Tensor<T> out = row_loss;
  if (options.reduction != Reduction::None) {
    out = Tensor<T>::empty(Shape{}, device);  // []
    backend::cross_entropy_total(device, op, row_loss.data(), row_shape, kept, options.reduction == Reduction::Mean,
                                 out.data());
  }

  if (autograd::needs_grad(logits))
    autograd::record("CrossEntropyBackward", out, {logits},
                     [sx = autograd::SavedTensor<T>(x, op), rows_target, row_max, log_sum, kept, N, C, eps_t,
                      reduction = options.reduction, in_shape = logits.shape()](const Tensor<T>& g) {
                       const Tensor<T>& xs = sx.get();
                       const Tensor<T> gc = dense(g);  // [N] (None) or [] (Sum, Mean)
                       Tensor<T> gx = Tensor<T>::empty(in_shape, xs.device());  // [N, C]
                       backend::cross_entropy_backward(xs.device(), "cross_entropy", xs.data(), rows_target.data(),
                                                       row_max.data(), log_sum.data(), gc.data(),
                                                       reduction == Reduction::None, reduction == Reduction::Mean,
                                                       kept, gx.data(), N, C, eps_t);
                       return std::vector<Tensor<T>>{gx};
                     });
  return out;
}

}  // namespace chord::ops

namespace chord {
using ops::cross_entropy;
}  // namespace chord
