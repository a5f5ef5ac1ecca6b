#pragma once
// nn::LayerNorm over the last dim, with a learned gain (1) and bias (0), as torch.nn.LayerNorm.

#include "chord/nn/module.hpp"
#include "chord/ops/normalization.hpp"

namespace chord::nn {

template <FloatingPoint T>
class LayerNorm : public Module<T> {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5) : eps_(eps) {
    check(dim > 0, "LayerNorm", "dim must be positive, got ", dim);
    check(eps >= 0, "LayerNorm", "eps must be >= 0, got ", eps);
    weight = this->register_parameter("weight", Tensor<T>::ones({dim}));
    bias = this->register_parameter("bias", Tensor<T>::zeros({dim}));
  }

  // x [..., dim] -> [..., dim]
  Tensor<T> forward(const Tensor<T>& x) const { return layer_norm(x, weight, bias, eps_); }
  Tensor<T> operator()(const Tensor<T>& x) const { return forward(x); }

  Tensor<T> weight, bias;  // [dim] each

 private:
  double eps_;
};

}  // namespace chord::nn
