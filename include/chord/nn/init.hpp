#pragma once
// Parameter initialisation, as torch.nn.init: values drawn from a chord::Generator,
// so a model built from the same seed is bit-identical.

#include "chord/core/generator.hpp"
#include "chord/core/tensor.hpp"

namespace chord::nn::init {

// A new [shape] tensor with values from N(0, std^2).
template <FloatingPoint T>
Tensor<T> normal(const Shape& shape, double std, Generator& gen) {
  return Tensor<T>::randn(shape, gen, T(0), static_cast<T>(std));
}

}  // namespace chord::nn::init
