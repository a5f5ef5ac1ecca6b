// The compiled mode's library (chord::compiled): the sample topic's templates for double, compiled
// once here. <chord/sample.hpp> declares them extern template (CHORD_COMPILED is defined for this
// library and its users); the explicit instantiations below define them.
#include <chord/sample.hpp>

#define CHORD_INSTANCE template
#include <chord/instances/sample_double.inc>
#undef CHORD_INSTANCE
