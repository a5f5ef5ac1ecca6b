#pragma once
// KVCache: the keys and values of every layer for the tokens a batch has seen
// so far, preallocated for max_length slots, so that generating one more
// token costs one query against the cache instead of a full recompute.
//
//   keys[l], values[l]: [batch, n_head, max_length, head_dim], slots [0, length()) filled, on the
//   model's device (GPT::make_cache).
//   key_start stays on the cpu: it is bookkeeping that the host reads and writes.
//   key_start: [batch], int64. Row b's slots before key_start[b] are left padding (prompts of
//   different lengths are right-aligned so that every row's next token lands in the same slot);
//   attention never looks at them, and the token in slot s of row b sits at position s - key_start[b].
//
// The cache holds only what decoding needs from the tokens seen so far. The weights the model
// packs for a cpu decoding step live with the model (nn/weight_packs.hpp), not here.

#include <cstdint>
#include <vector>

#include "chord/core/grad_mode.hpp"
#include "chord/core/tensor.hpp"
#include "chord/nn/config.hpp"
#include "chord/ops/indexing.hpp"
#include "chord/ops/inplace.hpp"
#include "chord/ops/view.hpp"

namespace chord::nn {

template <FloatingPoint T>
struct KVCache {
  KVCache(const GPTConfig& config, int64_t batch, int64_t max_length, Device device = Device::cpu())
      : max_length_(max_length) {
    config.validate();
    check(batch > 0, "KVCache", "batch must be positive, got ", batch);
    check(max_length > 0 && max_length <= config.context_length, "KVCache", "max_length ", max_length,
          " must be in [1, context_length = ", config.context_length, "]");
    const Shape shape{batch, config.n_head, max_length, config.head_dim()};
    for (int64_t l = 0; l < config.n_layer; ++l) {
      keys.push_back(Tensor<T>::zeros(shape, device));
      values.push_back(Tensor<T>::zeros(shape, device));
    }
    key_start = Tensor<int64_t>::zeros({batch});
  }

  int64_t batch() const { return key_start.size(0); }
  int64_t length() const { return length_; }
  int64_t max_length() const { return max_length_; }
  int64_t free_slots() const { return max_length_ - length_; }

  // Marks `count` more slots as filled (the model calls this after writing them).
  void advance(int64_t count) {
    check(count >= 0 && length_ + count <= max_length_, "KVCache", "cannot fill ", count, " more slots: ",
          length_, " of ", max_length_, " are used");
    length_ += count;
  }
  // Forgets every token (the buffers are kept for reuse).
  void reset() { length_ = 0; }

  // A new cache whose row i is this cache's row rows[i] (e.g. each prompt's row repeated n times
  // after one prefill, so that n samples share it). Copies the filled slots.
  KVCache index_rows(const std::vector<int64_t>& rows) const {
    check(!rows.empty(), "KVCache::index_rows", "needs at least one row");
    const Tensor<int64_t> index = Tensor<int64_t>::from_vector(rows);
    NoGradGuard no_grad;
    KVCache out;
    out.max_length_ = max_length_;
    out.length_ = length_;
    const Tensor<int64_t> on_device = keys.empty() ? index : index.to(keys.front().device());
    for (std::size_t l = 0; l < keys.size(); ++l) {
      out.keys.push_back(index_select(keys[l], 0, on_device).contiguous());
      out.values.push_back(index_select(values[l], 0, on_device).contiguous());
    }
    out.key_start = index_select(key_start, 0, index).contiguous();
    return out;
  }

  std::vector<Tensor<T>> keys, values;  // per layer: [batch, n_head, max_length, head_dim]
  Tensor<int64_t> key_start;            // [batch]

 private:
  KVCache() = default;
  int64_t max_length_ = 0;
  int64_t length_ = 0;
};

}  // namespace chord::nn
