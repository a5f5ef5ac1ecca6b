#pragma once
// chord: everything in one include.
//
//   #include <chord/chord.hpp>
//
// Layers, each using only the ones above it (see DESIGN.md):
//   core -> backend/cpu -> autograd -> ops -> nn -> optim -> io -> sample -> rl -> tasks

#include "chord/core/device.hpp"
#include "chord/core/dtype.hpp"
#include "chord/core/error.hpp"
#include "chord/core/generator.hpp"
#include "chord/core/grad_mode.hpp"
#include "chord/core/shape.hpp"
#include "chord/core/storage.hpp"
#include "chord/core/tensor.hpp"

#include "chord/backend/cpu/adamw.hpp"
#include "chord/backend/cpu/elementwise.hpp"
#include "chord/backend/cpu/gemm.hpp"
#include "chord/backend/cpu/layer_norm.hpp"
#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cpu/reduce.hpp"
#include "chord/backend/cpu/softmax.hpp"

#include "chord/autograd/engine.hpp"
#include "chord/autograd/gradcheck.hpp"
#include "chord/autograd/node.hpp"

#include "chord/ops/arithmetic.hpp"
#include "chord/ops/compare.hpp"
#include "chord/ops/dropout.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/indexing.hpp"
#include "chord/ops/inplace.hpp"
#include "chord/ops/join.hpp"
#include "chord/ops/linalg.hpp"
#include "chord/ops/loss.hpp"
#include "chord/ops/normalization.hpp"
#include "chord/ops/pointwise.hpp"
#include "chord/ops/reduction.hpp"
#include "chord/ops/softmax.hpp"
#include "chord/ops/triangular.hpp"
#include "chord/ops/view.hpp"

#include "chord/nn/module.hpp"

#include "chord/optim/adamw.hpp"
#include "chord/optim/clip.hpp"
#include "chord/optim/parameters.hpp"
#include "chord/optim/schedule.hpp"
#include "chord/optim/sgd.hpp"

#include "chord/io/atomic_file.hpp"
#include "chord/io/json.hpp"
#include "chord/io/safetensors.hpp"
#include "chord/io/tokenizer.hpp"
#include "chord/io/utf8.hpp"
