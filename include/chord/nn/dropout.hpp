#pragma once
// nn::Dropout: zeroes each element with probability p in training mode and
// scales the survivors by 1 / (1 - p); the identity in eval mode. Its masks
// come from its own Generator, so a seeded run is reproducible.

#include "chord/nn/module.hpp"
#include "chord/ops/dropout.hpp"

namespace chord::nn {

template <FloatingPoint T>
class Dropout : public Module<T> {
 public:
  explicit Dropout(double p, uint64_t seed = 0xd50) : p_(p), gen_(seed) {
    check(p >= 0.0 && p < 1.0, "Dropout", "p must be in [0, 1), got ", p);
  }

  Tensor<T> forward(const Tensor<T>& x) { return dropout(x, p_, this->is_training(), gen_); }
  Tensor<T> operator()(const Tensor<T>& x) { return forward(x); }

  double p() const { return p_; }

 private:
  double p_;
  Generator gen_;
};

}  // namespace chord::nn
