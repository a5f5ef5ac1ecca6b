#pragma once
// A compile-time note when chord is compiled without optimisation.
//
// chord's kernels are templates compiled in the user's own translation units, so the user's
// flags decide their speed: at -O0 (CMake's default when CMAKE_BUILD_TYPE is empty) a training
// step runs about 20 times slower, with nothing else to say why. GCC and Clang define
// __OPTIMIZE__ at -O1 and above. Define CHORD_NO_OPTIMIZATION_NOTE to silence the note (chord's
// own -O0 builds, the sanitizer pass and the header check, do).

#if defined(__GNUC__) && !defined(__OPTIMIZE__) && !defined(CHORD_NO_OPTIMIZATION_NOTE) && !defined(__CUDACC__)
#pragma message( \
    "chord is compiled without optimisation (-O0): its kernels run about 20x slower. Build in Release (cmake -DCMAKE_BUILD_TYPE=Release, or -O2), or define CHORD_NO_OPTIMIZATION_NOTE to silence this note.")
#endif
