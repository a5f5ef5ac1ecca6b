#pragma once
// nn::MLP: GPT-2's feed-forward block, c_proj(gelu(c_fc(x))) with a 4x wider
// hidden layer and the tanh form of GELU.

#include <cmath>

#include "chord/nn/config.hpp"
#include "chord/nn/dropout.hpp"
#include "chord/nn/linear.hpp"
#include "chord/nn/weight_packs.hpp"
#include "chord/ops/mlp.hpp"
#include "chord/ops/pointwise.hpp"

namespace chord::nn {

template <FloatingPoint T>
class MLP : public Module<T> {
 public:
  MLP(const GPTConfig& config, Generator& gen) {
    const int64_t C = config.n_embd;
    c_fc = this->register_module("c_fc", std::make_shared<Linear<T>>(C, 4 * C, gen));
    c_proj = this->register_module(
        "c_proj", std::make_shared<Linear<T>>(4 * C, C, gen, LinearOptions{.init_std = 0.02 / std::sqrt(2.0 * config.n_layer)}));
    dropout = this->register_module("dropout", std::make_shared<Dropout<T>>(config.dropout, gen.next_u64()));
  }

  // x [B, T, C] -> [B, T, C]: one gelu_mlp (ops/mlp.hpp), whose products do GELU and its backward
  // on the way. A decoding step (the model's weight packs in use, nn/weight_packs.hpp) runs the
  // layers one by one instead, so that each product reads its packed weight.
  Tensor<T> forward(const Tensor<T>& x) {
    if (WeightPacks<T>::current()) return dropout->forward(c_proj->forward(gelu(c_fc->forward(x))));
    return dropout->forward(gelu_mlp(x, c_fc->weight, c_fc->bias, c_proj->weight, c_proj->bias));
  }

  std::shared_ptr<Linear<T>> c_fc, c_proj;
  std::shared_ptr<Dropout<T>> dropout;
};

}  // namespace chord::nn
