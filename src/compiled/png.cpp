// The compiled mode's library (chord::compiled): the PNG encoder (io/png.hpp), so that its users
// define no CHORD_IMPLEMENTATION of their own.
#define CHORD_BUILDING_COMPILED_LIBRARY
#define CHORD_IMPLEMENTATION
#include <chord/io/png.hpp>
