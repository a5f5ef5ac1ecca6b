#pragma once
// chord's optimizers: AdamW and SGD, gradient-norm clipping, learning-rate schedules, and the
// parameter groups they step. Includes <chord/tensor.hpp>.
//
//   #include <chord/optim.hpp>

#include "chord/tensor.hpp"

#include "chord/optim/adamw.hpp"
#include "chord/optim/clip.hpp"
#include "chord/optim/parameters.hpp"
#include "chord/optim/schedule.hpp"
#include "chord/optim/sgd.hpp"

// The compiled mode (docs/design.md, "The compiled mode"): where CHORD_COMPILED is defined (CMake's
// chord::compiled defines it), this topic's templates for float and double are only declared here,
// `extern template`, and the library compiled them once.
#ifdef CHORD_COMPILED
#define CHORD_INSTANCE extern template
#include "chord/instances/optim_float.inc"
#include "chord/instances/optim_double.inc"
#undef CHORD_INSTANCE
#endif
