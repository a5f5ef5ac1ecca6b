#pragma once
// nn::CausalSelfAttention: GPT-2's multi-head self-attention.
//
//   qkv = c_attn(x)                      x [B, T, C] -> [B, T, 3C], one fused projection
//   q, k, v = views of qkv as [B, H, T, D] (no copies; D = C / H)
//   y = causal_attention(q, k, v)        fused kernel: no T x T graph per head
//   out = c_proj(y as [B, T, C])
//
// Without a cache the middle two lines are one op, causal_self_attention(qkv, H), whose
// backward writes the gradient of qkv in one buffer. With a KVCache the new keys and
// values are written into the cache's slots [length, length + T) and the queries attend
// to every filled slot.

#include "chord/core/grad_mode.hpp"
#include "chord/nn/config.hpp"
#include "chord/nn/dropout.hpp"
#include "chord/nn/kv_cache.hpp"
#include "chord/nn/linear.hpp"
#include "chord/ops/attention.hpp"
#include "chord/ops/view.hpp"

#include <cmath>

namespace chord::nn {

template <FloatingPoint T>
class CausalSelfAttention : public Module<T> {
 public:
  CausalSelfAttention(const GPTConfig& config, Generator& gen)
      : n_head_(config.n_head), n_embd_(config.n_embd) {
    config.validate();
    const int64_t C = config.n_embd;
    c_attn = this->register_module("c_attn", std::make_shared<Linear<T>>(C, 3 * C, gen));
    // GPT-2: residual projections start at std 0.02 / sqrt(2 * n_layer), so the
    // residual stream's variance does not grow with depth.
    c_proj = this->register_module(
        "c_proj", std::make_shared<Linear<T>>(C, C, gen, LinearOptions{.init_std = 0.02 / std::sqrt(2.0 * config.n_layer)}));
    resid_dropout = this->register_module("resid_dropout", std::make_shared<Dropout<T>>(config.dropout, gen.next_u64()));
  }

  // x [B, T, C] -> [B, T, C]. With a cache, layer `layer`'s keys and values go into it.
  Tensor<T> forward(const Tensor<T>& x, KVCache<T>* cache = nullptr, int64_t layer = 0) {
    check(x.dim() == 3 && x.size(2) == n_embd_, "CausalSelfAttention", "expected input [B, T, ", n_embd_,
          "], got ", x.shape());
    const int64_t B = x.size(0), Tn = x.size(1), H = n_head_, D = n_embd_ / n_head_;
    if (!cache)  // training and full forwards: one fused op, one [B, T, 3C] gradient
      return resid_dropout->forward(c_proj->forward(causal_self_attention(c_attn->forward(x), H)));
    const Tensor<T> qkv = c_attn->forward(x).view({B, Tn, 3, H, D});  // contiguous [B, T, 3, H, D]
    const Tensor<T> q = qkv.select(2, 0).permute({0, 2, 1, 3});      // [B, H, T, D] views
    Tensor<T> k = qkv.select(2, 1).permute({0, 2, 1, 3});
    Tensor<T> v = qkv.select(2, 2).permute({0, 2, 1, 3});
    Tensor<int64_t> key_start;
    if (cache) {
      const int64_t start = cache->length();
      {
        NoGradGuard no_grad;  // the cache holds values, not graph
        cache->keys[layer].narrow(2, start, Tn).copy_(k);
        cache->values[layer].narrow(2, start, Tn).copy_(v);
      }
      k = cache->keys[layer].narrow(2, 0, start + Tn);  // [B, H, start + T, D]
      v = cache->values[layer].narrow(2, 0, start + Tn);
      key_start = cache->key_start;
    }
    const Tensor<T> y = causal_attention(q, k, v, key_start);  // [B, H, T, D], laid out as [B, T, H, D]
    return resid_dropout->forward(c_proj->forward(y.transpose(1, 2).reshape({B, Tn, H * D})));
  }

  std::shared_ptr<Linear<T>> c_attn, c_proj;
  std::shared_ptr<Dropout<T>> resid_dropout;

 private:
  int64_t n_head_, n_embd_;
};

}  // namespace chord::nn
