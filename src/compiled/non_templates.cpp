// The compiled mode's library (chord::compiled): chord's non-template functions, compiled once
// here. Every header that holds such code defines the bodies only where
// CHORD_DEFINES_NON_TEMPLATES is 1 (core/non_templates.hpp): in header-only programs, as inline
// functions, and in this one file of the library, as ordinary ones. The library's other files
// and its users see the declarations only.
#define CHORD_COMPILE_NON_TEMPLATES
#include <chord/chord.hpp>
