// The compiled mode's library (chord::compiled): the rl topic's templates for float, compiled
// once here. <chord/rl.hpp> declares them extern template (CHORD_COMPILED is defined for this
// library and its users); the explicit instantiations below define them.
#include <chord/rl.hpp>

#define CHORD_INSTANCE template
#include <chord/instances/rl_float.inc>
#undef CHORD_INSTANCE
