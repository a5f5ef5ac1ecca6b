#pragma once
// chord: everything in one include.
//
//   #include <chord/chord.hpp>
//
// Or only the topic a file uses, which compiles faster (docs/design.md, "Headers by topic"):
//   <chord/tensor.hpp>  Tensor<T>, autograd, every op, the backends' controls
//   <chord/nn.hpp>      modules and the GPT model           (+ tensor)
//   <chord/optim.hpp>   AdamW, SGD, clipping, schedules     (+ tensor)
//   <chord/io.hpp>      checkpoints, tokenizers, JSON, logs, tables, plots   (+ nn)
//   <chord/sample.hpp>  batched generation                  (+ nn)
//   <chord/rl.hpp>      the mixed objective and the Trainer (+ nn, optim, io, sample)
//   <chord/tasks.hpp>   the toy tasks and their suites      (+ rl)
//
// Layers, each using only the ones above it (tools/check_layers.sh checks it):
//   core -> backend (cpu, cuda) -> autograd -> ops -> nn -> optim -> io -> sample -> rl -> tasks
//
// PNG plots: one .cpp file of a program defines CHORD_IMPLEMENTATION before including chord
// (io/png.hpp).

#include "chord/io.hpp"
#include "chord/nn.hpp"
#include "chord/optim.hpp"
#include "chord/rl.hpp"
#include "chord/sample.hpp"
#include "chord/tasks.hpp"
#include "chord/tensor.hpp"
