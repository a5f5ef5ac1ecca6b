// The compiled mode's library (chord::compiled): the optim topic's templates for double, compiled
// once here. <chord/optim.hpp> declares them extern template (CHORD_COMPILED is defined for this
// library and its users); the explicit instantiations below define them.
#include <chord/optim.hpp>

#define CHORD_INSTANCE template
#include <chord/instances/optim_double.inc>
#undef CHORD_INSTANCE
