#pragma once
// nn::GPT: the GPT-2 architecture.
//
//   tokens [B, T] -> wte(tokens) + wpe(positions) -> dropout -> n_layer x Block -> ln_f
//                 -> logits [B, T, vocab] = x wte^T   (tied head; lm_head when untied)
//
// Parameter names are Hugging Face GPT-2's ("wte.weight", "h.0.attn.c_attn.weight", ...), so
// named_parameters() is also the checkpoint's table of contents (chord/io/gpt_checkpoint.hpp).
// Initialisation is GPT-2's: weights N(0, 0.02), residual projections N(0, 0.02 / sqrt(2 n_layer)),
// biases 0, LayerNorm gains 1.

#include <memory>
#include <vector>

#include "chord/nn/block.hpp"
#include "chord/nn/config.hpp"
#include "chord/nn/embedding.hpp"
#include "chord/nn/kv_cache.hpp"
#include "chord/nn/layer_norm.hpp"
#include "chord/nn/module_list.hpp"
#include "chord/nn/weight_packs.hpp"

namespace chord::nn {

template <FloatingPoint T>
class GPT : public Module<T> {
 public:
  GPT(const GPTConfig& config, Generator& gen) : config_(config) {
    config.validate();
    wte = this->register_module("wte", std::make_shared<Embedding<T>>(config.vocab_size, config.n_embd, gen));
    wpe = this->register_module("wpe", std::make_shared<Embedding<T>>(config.context_length, config.n_embd, gen));
    drop = this->register_module("drop", std::make_shared<Dropout<T>>(config.dropout, gen.next_u64()));
    h = this->register_module("h", std::make_shared<ModuleList<Block<T>>>());
    for (int64_t l = 0; l < config.n_layer; ++l) h->push_back(std::make_shared<Block<T>>(config, gen));
    ln_f = this->register_module("ln_f", std::make_shared<LayerNorm<T>>(config.n_embd));
    if (!config.tie_embeddings)
      lm_head = this->register_module(
          "lm_head", std::make_shared<Linear<T>>(config.n_embd, config.vocab_size, gen, LinearOptions{.bias = false}));
  }
  explicit GPT(const GPTConfig& config, uint64_t seed = 1337) : GPT(config, seed_generator(seed)) {}

  const GPTConfig& config() const { return config_; }

  // The device the parameters live on (Module::to moves them).
  Device device() const { return wte->weight.device(); }

  // tokens [B, T] (T <= context_length) -> logits [B, T, vocab]; token t sits at position t.
  // The tokens may be on the cpu or on the model's device (embedding() uploads host ids itself,
  // after checking them on the host).
  Tensor<T> forward(const Tensor<int64_t>& tokens) {
    check_tokens(tokens);
    const int64_t T_len = tokens.size(1);
    const Tensor<int64_t> positions = Tensor<int64_t>::arange(0, T_len);                  // [T], on the cpu
    const Tensor<T> x = drop->forward(wte->forward(tokens) + wpe->forward(positions));  // [B, T, C]
    return head(run_blocks(x, nullptr));
  }

  // Appends tokens [B, Tn] to `cache` (slots length() .. length() + Tn - 1) and returns their
  // logits [B, Tn, vocab]. Row b's token in slot s sits at position s - key_start[b]; left-padding
  // slots (s < key_start[b]) are masked out of attention, and their logits are meaningless.
  // Without a graph on the cpu, the products use the model's packed weights (weight_packs()).
  Tensor<T> forward(const Tensor<int64_t>& tokens, KVCache<T>& cache) {
    check_tokens(tokens);
    const auto decoding = weight_packs_.use();
    const int64_t B = tokens.size(0), Tn = tokens.size(1), start = cache.length();
    check(cache.batch() == B, "GPT::forward", "the cache holds ", cache.batch(), " rows, tokens have ", B);
    check(static_cast<int64_t>(cache.keys.size()) == config_.n_layer, "GPT::forward", "the cache has ",
          cache.keys.size(), " layers, the model ", config_.n_layer);
    check(Tn <= cache.free_slots(), "GPT::forward", Tn, " new tokens do not fit in the cache: ", start, " of ",
          cache.max_length(), " slots are used");
    Tensor<int64_t> positions = Tensor<int64_t>::empty({B, Tn});  // [B, Tn]
    for (int64_t b = 0; b < B; ++b) {
      const int64_t first = cache.key_start.data()[b];
      check(first >= 0 && first <= cache.max_length(), "GPT::forward", "key_start[", b, "] = ", first,
            " is outside [0, ", cache.max_length(), "]");
      for (int64_t t = 0; t < Tn; ++t) positions.data()[b * Tn + t] = std::max<int64_t>(0, start + t - first);
    }
    const Tensor<T> x = drop->forward(wte->forward(tokens) + wpe->forward(positions));  // [B, Tn, C]
    const Tensor<T> out = head(run_blocks(x, &cache));  // [B, Tn, vocab]
    cache.advance(Tn);
    return out;
  }
  Tensor<T> operator()(const Tensor<int64_t>& tokens) { return forward(tokens); }

  // An empty cache for `batch` rows of up to `max_length` tokens (the context length by default),
  // on the model's device.
  KVCache<T> make_cache(int64_t batch, int64_t max_length = 0) const {
    return KVCache<T>(config_, batch, max_length > 0 ? max_length : config_.context_length, device());
  }

  // The weights packed for the cpu's decoding steps (nn/weight_packs.hpp): made on the first
  // forward with a cache, remade after the weights change; clear() frees them.
  WeightPacks<T>& weight_packs() { return weight_packs_; }

  std::shared_ptr<Embedding<T>> wte, wpe;
  std::shared_ptr<Dropout<T>> drop;
  std::shared_ptr<ModuleList<Block<T>>> h;
  std::shared_ptr<LayerNorm<T>> ln_f;
  std::shared_ptr<Linear<T>> lm_head;  // only when tie_embeddings is false

 private:
  static Generator& seed_generator(uint64_t seed) {
    thread_local Generator gen;
    gen.manual_seed(seed);
    return gen;
  }
  void check_tokens(const Tensor<int64_t>& tokens) const {
    check(tokens.defined() && tokens.dim() == 2, "GPT::forward", "expected tokens [batch, time], got ",
          tokens.defined() ? tokens.shape() : Shape{});
    check(tokens.size(0) > 0 && tokens.size(1) > 0, "GPT::forward", "tokens of shape ", tokens.shape(), " are empty");
    check(tokens.size(1) <= config_.context_length, "GPT::forward", "sequence of ", tokens.size(1),
          " tokens is longer than the context length ", config_.context_length);
  }
  Tensor<T> run_blocks(Tensor<T> x, KVCache<T>* cache) {
    for (int64_t l = 0; l < config_.n_layer; ++l) x = (*h)[l].forward(x, cache, l);
    return ln_f->forward(x);
  }
  // x [B, T, C] -> logits [B, T, vocab]
  Tensor<T> head(const Tensor<T>& x) const {
    return config_.tie_embeddings ? WeightPacks<T>::linear(x, wte->weight) : lm_head->forward(x);
  }

  GPTConfig config_;
  WeightPacks<T> weight_packs_;
};

}  // namespace chord::nn
