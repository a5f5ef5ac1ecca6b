#pragma once
// chord's neural-network modules: Module, Linear, Embedding, LayerNorm, Dropout, the GPT model
// and its KV cache, initialisation and the language-model loss. Includes <chord/tensor.hpp>.
//
//   #include <chord/nn.hpp>
//
//   chord::nn::GPT<float> model(chord::nn::GPTConfig{.vocab_size = 64, .n_layer = 2});

#include "chord/tensor.hpp"

#include "chord/nn/attention.hpp"
#include "chord/nn/block.hpp"
#include "chord/nn/config.hpp"
#include "chord/nn/dropout.hpp"
#include "chord/nn/embedding.hpp"
#include "chord/nn/gpt.hpp"
#include "chord/nn/init.hpp"
#include "chord/nn/kv_cache.hpp"
#include "chord/nn/layer_norm.hpp"
#include "chord/nn/linear.hpp"
#include "chord/nn/loss.hpp"
#include "chord/nn/mlp.hpp"
#include "chord/nn/module.hpp"
#include "chord/nn/module_list.hpp"
#include "chord/nn/weight_packs.hpp"

// The compiled mode (docs/design.md, "The compiled mode"): where CHORD_COMPILED is defined (CMake's
// chord::compiled defines it), this topic's templates for float and double are only declared here,
// `extern template`, and the library compiled them once.
#ifdef CHORD_COMPILED
#define CHORD_INSTANCE extern template
#include "chord/instances/nn_float.inc"
#include "chord/instances/nn_double.inc"
#undef CHORD_INSTANCE
#endif
