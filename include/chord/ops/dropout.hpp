#pragma once
// dropout (inverted): in training, each element is zeroed with probability p
// and the survivors are scaled by 1 / (1 - p), so the expected value is
// unchanged and evaluation needs no rescaling.
//
//   y = dropout(x, 0.1, /*train=*/true, gen);
//
// The keep/drop mask is drawn from `gen` sequentially in row-major order, one
// draw per element, so the same seed gives the same mask on every machine and
// for any thread count. p = 1 drops everything (all zeros, zero gradient), as
// PyTorch allows. In eval mode, or with p = 0, x itself is returned (the same
// tensor, no copy, no graph node).
//
// Backward: gx = g * mask * 1 / (1 - p) (the same mask).

#include <vector>

#include "chord/autograd/node.hpp"
#include "chord/core/generator.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/view.hpp"

namespace chord::ops {

template <FloatingPoint T>
Tensor<T> dropout(const Tensor<T>& x, double p, bool train, Generator& gen = default_generator()) {
  const char* op = "dropout";
  check_defined(op, x);
  check(p >= 0.0 && p <= 1.0, op, "probability p must be in [0, 1], got ", p);
  if (!train || p == 0.0) return x;

  // keep [x's shape]: 1 / (1 - p) where the element survives, 0 where dropped. Drawn on
  // the host (the same mask on every device), then moved to x's device.
  const T scale = p < 1.0 ? static_cast<T>(1.0 / (1.0 - p)) : T(0);
  Tensor<T> keep = Tensor<T>::empty(x.shape());
  T* k = keep.data();
  const int64_t n = keep.numel();
  for (int64_t i = 0; i < n; ++i) k[i] = gen.uniform() < p ? T(0) : scale;
  keep = keep.to(x.device());  // the mask is drawn on the host; to() is a no-op on the cpu

  Tensor<T> out = map_new<T>(op, x, keep, fn::Mul{});
  if (autograd::needs_grad(x))
    autograd::record("DropoutBackward", out, {x}, [keep](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{map_new<T>("dropout", g, keep, fn::Mul{})};
    });
  return out;
}

}  // namespace chord::ops

namespace chord {
using ops::dropout;
}  // namespace chord
