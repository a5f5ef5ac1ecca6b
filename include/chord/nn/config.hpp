#pragma once
// GPTConfig: the shape of a GPT-2-architecture model.

#include <cstdint>

#include "chord/core/error.hpp"

namespace chord::nn {

struct GPTConfig {
  int64_t vocab_size = 256;
  int64_t context_length = 128;  // the most positions the model has embeddings for (HF: n_positions)
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_embd = 256;  // the width; each head has n_embd / n_head dims
  double dropout = 0.0;  // on the embeddings, the attention output and the MLP output
  bool tie_embeddings = true;  // the output head is the token embedding (no separate lm_head)

  int64_t head_dim() const { return n_embd / n_head; }

  // How many numbers the model holds, from the config alone (no model built): a loader compares it
  // with the file before allocating anything. With V = vocab_size, T = context_length, C = n_embd,
  // L = n_layer: wte V*C + wpe T*C + L blocks of (2 layer norms 4C, c_attn 3C*C + 3C, attn c_proj
  // C*C + C, c_fc 4C*C + 4C, mlp c_proj 4C*C + C) = L*(12C^2 + 13C), + ln_f 2C, + lm_head V*C when
  // untied. In double, so that an absurd config gives a huge number rather than an overflow.
  double num_parameters() const {
    const double V = static_cast<double>(vocab_size), T = static_cast<double>(context_length),
                 C = static_cast<double>(n_embd), L = static_cast<double>(n_layer);
    return V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C + (tie_embeddings ? 0.0 : V * C);
  }

  void validate() const {
    const char* op = "GPTConfig";
    check(vocab_size > 0, op, "vocab_size must be positive, got ", vocab_size);
    check(context_length > 0, op, "context_length must be positive, got ", context_length);
    check(n_layer > 0, op, "n_layer must be positive, got ", n_layer);
    check(n_head > 0, op, "n_head must be positive, got ", n_head);
    check(n_embd > 0 && n_embd % n_head == 0, op, "n_embd (", n_embd, ") must be a positive multiple of n_head (",
          n_head, ")");
    check(dropout >= 0.0 && dropout < 1.0, op, "dropout must be in [0, 1), got ", dropout);
  }
};

}  // namespace chord::nn
