#pragma once
// chord's tensors: Tensor<T>, autograd and every op, on the CPU and (built with CUDA) the GPU.
//
//   #include <chord/tensor.hpp>
//
//   auto x = chord::Tensor<float>::randn({4, 3}).requires_grad_();
//   auto y = chord::sum(chord::mul(x, x));
//   y.backward();                           // x.grad() == 2 x
//
// The other topics build on this one: <chord/nn.hpp>, <chord/optim.hpp>, <chord/io.hpp>,
// <chord/sample.hpp>, <chord/rl.hpp>, <chord/tasks.hpp>; <chord/chord.hpp> is all of them.
// The backends' kernels come in with the ops that use them; the two backends' controls are
// here: chord::cpu::set_num_threads / set_isa_limit, chord::cuda::is_available / synchronize.

#include "chord/core/allocator.hpp"
#include "chord/core/device_memory.hpp"
#include "chord/core/device.hpp"
#include "chord/core/dtype.hpp"
#include "chord/core/error.hpp"
#include "chord/core/generator.hpp"
#include "chord/core/grad_mode.hpp"
#include "chord/core/shape.hpp"
#include "chord/core/storage.hpp"
#include "chord/core/tensor.hpp"
#include "chord/core/print.hpp"
#include "chord/version.hpp"

#include "chord/backend/cpu/isa.hpp"
#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cuda/runtime.hpp"

#include "chord/autograd/engine.hpp"
#include "chord/autograd/gradcheck.hpp"
#include "chord/autograd/node.hpp"

#include "chord/ops/arithmetic.hpp"
#include "chord/ops/attention.hpp"
#include "chord/ops/compare.hpp"
#include "chord/ops/dropout.hpp"
#include "chord/ops/elementwise.hpp"
#include "chord/ops/indexing.hpp"
#include "chord/ops/inplace.hpp"
#include "chord/ops/join.hpp"
#include "chord/ops/linalg.hpp"
#include "chord/ops/loss.hpp"
#include "chord/ops/mlp.hpp"
#include "chord/ops/normalization.hpp"
#include "chord/ops/pointwise.hpp"
#include "chord/ops/reduction.hpp"
#include "chord/ops/softmax.hpp"
#include "chord/ops/token_logprobs.hpp"
#include "chord/ops/triangular.hpp"
#include "chord/ops/view.hpp"

// The compiled mode (docs/design.md, "The compiled mode"): where CHORD_COMPILED is defined (CMake's
// chord::compiled defines it), this topic's templates for float and double are only declared here,
// `extern template`, and the library compiled them once.
#ifdef CHORD_COMPILED
#define CHORD_INSTANCE extern template
#include "chord/instances/tensor_float.inc"
#include "chord/instances/tensor_double.inc"
#undef CHORD_INSTANCE
#endif
