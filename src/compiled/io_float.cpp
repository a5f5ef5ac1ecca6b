// The compiled mode's library (chord::compiled): the io topic's templates for float, compiled
// once here. <chord/io.hpp> declares them extern template (CHORD_COMPILED is defined for this
// library and its users); the explicit instantiations below define them.
#include <chord/io.hpp>

#define CHORD_INSTANCE template
#include <chord/instances/io_float.inc>
#undef CHORD_INSTANCE
