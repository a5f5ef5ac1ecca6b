#pragma once
// Post-training: the mixed policy objective (SFT, GRPO, CHORD-mu, CHORD-phi, LUFFY as its
// configurations), advantages, mu schedules, rollouts, evaluation and the Trainer.
// Includes <chord/nn.hpp>, <chord/optim.hpp>, <chord/io.hpp> and <chord/sample.hpp>.
//
//   #include <chord/rl.hpp>

#include "chord/io.hpp"
#include "chord/nn.hpp"
#include "chord/optim.hpp"
#include "chord/sample.hpp"

#include "chord/rl/advantages.hpp"
#include "chord/rl/aggregation.hpp"
#include "chord/rl/environment.hpp"
#include "chord/rl/evaluate.hpp"
#include "chord/rl/methods.hpp"
#include "chord/rl/mu_schedule.hpp"
#include "chord/rl/objective.hpp"
#include "chord/rl/policy_losses.hpp"
#include "chord/rl/rows.hpp"
#include "chord/rl/token_losses.hpp"
#include "chord/rl/trainer.hpp"

// The compiled mode (docs/design.md, "The compiled mode"): where CHORD_COMPILED is defined (CMake's
// chord::compiled defines it), this topic's templates for float and double are only declared here,
// `extern template`, and the library compiled them once.
#ifdef CHORD_COMPILED
#define CHORD_INSTANCE extern template
#include "chord/instances/rl_float.inc"
#include "chord/instances/rl_double.inc"
#undef CHORD_INSTANCE
#endif
