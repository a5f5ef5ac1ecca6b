// The compiled mode's library (chord::compiled): the nn topic's templates for double, compiled
// once here. <chord/nn.hpp> declares them extern template (CHORD_COMPILED is defined for this
// library and its users); the explicit instantiations below define them.
#include <chord/nn.hpp>

#define CHORD_INSTANCE template
#include <chord/instances/nn_double.inc>
#undef CHORD_INSTANCE
