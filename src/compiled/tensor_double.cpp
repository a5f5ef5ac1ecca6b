// The compiled mode's library (chord::compiled): the tensor topic's templates for double, compiled
// once here. <chord/tensor.hpp> declares them extern template (CHORD_COMPILED is defined for this
// library and its users); the explicit instantiations below define them.
#include <chord/tensor.hpp>

#define CHORD_INSTANCE template
#include <chord/instances/tensor_double.inc>
#undef CHORD_INSTANCE
