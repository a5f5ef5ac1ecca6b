#pragma once
// Sampling from a model: batched generation with a KV cache, temperature, top-k, top-p, min-p,
// stop strings and per-row seeds, on the CPU or the GPU. Includes <chord/nn.hpp>.
//
//   #include <chord/sample.hpp>

#include "chord/nn.hpp"

#include "chord/sample/device_sampler.hpp"
#include "chord/sample/filters.hpp"
#include "chord/sample/generate.hpp"
#include "chord/sample/sampler.hpp"

// The compiled mode (docs/design.md, "The compiled mode"): where CHORD_COMPILED is defined (CMake's
// chord::compiled defines it), this topic's templates for float and double are only declared here,
// `extern template`, and the library compiled them once.
#ifdef CHORD_COMPILED
#define CHORD_INSTANCE extern template
#include "chord/instances/sample_float.inc"
#include "chord/instances/sample_double.inc"
#undef CHORD_INSTANCE
#endif
