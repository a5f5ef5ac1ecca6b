#pragma once
// nn::Block: one pre-LayerNorm transformer block of GPT-2,
//   x = x + attn(ln_1(x));   x = x + mlp(ln_2(x)).

#include "chord/nn/attention.hpp"
#include "chord/nn/layer_norm.hpp"
#include "chord/nn/mlp.hpp"
#include "chord/ops/arithmetic.hpp"

namespace chord::nn {

template <FloatingPoint T>
class Block : public Module<T> {
 public:
  Block(const GPTConfig& config, Generator& gen) {
    ln_1 = this->register_module("ln_1", std::make_shared<LayerNorm<T>>(config.n_embd));
    attn = this->register_module("attn", std::make_shared<CausalSelfAttention<T>>(config, gen));
    ln_2 = this->register_module("ln_2", std::make_shared<LayerNorm<T>>(config.n_embd));
    mlp = this->register_module("mlp", std::make_shared<MLP<T>>(config, gen));
  }

  // x [B, T, C] -> [B, T, C]. With a cache, layer `layer`'s keys and values go into it (attention).
  Tensor<T> forward(const Tensor<T>& x, KVCache<T>* cache = nullptr, int64_t layer = 0) {
    const Tensor<T> h = x + attn->forward(ln_1->forward(x), cache, layer);
    return h + mlp->forward(ln_2->forward(h));
  }

  std::shared_ptr<LayerNorm<T>> ln_1, ln_2;
  std::shared_ptr<CausalSelfAttention<T>> attn;
  std::shared_ptr<MLP<T>> mlp;
};

}  // namespace chord::nn
