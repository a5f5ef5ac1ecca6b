#pragma once
// Where chord's non-template functions are compiled (docs/design.md, "The compiled mode").
//
// A header that holds non-template code (a JSON parser, a plot renderer, a file format) declares
// it first and defines the bodies after, in a block of their own:
//
//   class Json { ... std::string dump() const; ... };        // declarations: always seen
//
//   #if CHORD_DEFINES_NON_TEMPLATES
//   CHORD_INLINE std::string Json::dump() const { ... }       // bodies
//   #endif
//
// Header-only (the default), every file that includes the header compiles the bodies, as
// inline functions. In the compiled mode (CHORD_COMPILED), a program's files see only the
// declarations: they neither parse the bodies nor instantiate the standard-library templates
// the bodies use (at -O2, g++ instantiates those at the end of every file, used or not). The
// library chord::compiled compiles the bodies once, in src/compiled/non_templates.cpp, the
// one file that defines CHORD_COMPILE_NON_TEMPLATES.
//
// Templates stay in the headers either way (the instances/*.inc lists handle them), and so do
// the small members worth inlining (accessors, one-line checks).

//
// A virtual function whose body moves into the block is declared CHORD_INLINE_VIRTUAL in its
// class. Header-only that says `inline`: the class then has no key function (the first virtual
// function not inline where the class is defined), so its vtable, and with it every virtual
// body, is compiled only in the files that construct the class. Without it each file that
// includes the header compiles them all, empty main or not. In the compiled mode it says nothing,
// and the vtable is compiled once, with the bodies, in the library.

#if !defined(CHORD_COMPILED)
#define CHORD_DEFINES_NON_TEMPLATES 1
#define CHORD_INLINE inline
#define CHORD_INLINE_VIRTUAL inline
#elif defined(CHORD_COMPILE_NON_TEMPLATES)
#define CHORD_DEFINES_NON_TEMPLATES 1
#define CHORD_INLINE
#define CHORD_INLINE_VIRTUAL
#else
#define CHORD_DEFINES_NON_TEMPLATES 0
#define CHORD_INLINE inline
#define CHORD_INLINE_VIRTUAL
#endif
