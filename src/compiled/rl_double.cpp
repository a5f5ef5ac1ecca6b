// The compiled mode's library (chord::compiled): the rl topic's templates for double, compiled
// once here. <chord/rl.hpp> declares them extern template (CHORD_COMPILED is defined for this
// library and its users); the explicit instantiations below define them.
#include <chord/rl.hpp>

#define CHORD_INSTANCE template
#include <chord/instances/rl_double.inc>
#undef CHORD_INSTANCE
