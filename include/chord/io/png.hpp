#pragma once
// RGB pixels as PNG file bytes, encoded by stb_image_write.
//
// stb's implementation is compiled only where a program asks for it, stb-style:
// exactly one .cpp file of the program defines CHORD_IMPLEMENTATION before it
// includes a chord header,
//
//   #define CHORD_IMPLEMENTATION   // in one .cpp file only
//   #include <chord/chord.hpp>
//
// and every other file includes chord as usual. (A program that links the
// compiled library, CMake's chord::compiled, gets it from there and defines
// nothing.) Every other translation unit sees only the declaration below, so it
// neither parses nor compiles stb. A program that saves a PNG without the macro
// fails to link, on a symbol that says what to do:
//   undefined reference to `chord::io::define_CHORD_IMPLEMENTATION_in_one_source_file::encode_rgb_png(...)'
//
// stb's functions stay private to that one file (STB_IMAGE_WRITE_STATIC), so a
// program may also compile its own copy of stb_image_write elsewhere.

#include <cstdint>
#include <string>

namespace chord::io {

// The namespace is the link error's hint (see above).
namespace define_CHORD_IMPLEMENTATION_in_one_source_file {
// rgb: height rows of width pixels, 3 bytes each (top row first). Throws chord::Error when
// stb fails.
std::string encode_rgb_png(const std::uint8_t* rgb, int width, int height);
}  // namespace define_CHORD_IMPLEMENTATION_in_one_source_file

using define_CHORD_IMPLEMENTATION_in_one_source_file::encode_rgb_png;

}  // namespace chord::io

#if defined(CHORD_IMPLEMENTATION) && defined(CHORD_COMPILED) && !defined(CHORD_BUILDING_COMPILED_LIBRARY)
#error "chord: CHORD_IMPLEMENTATION is defined in a program of the compiled mode (CHORD_COMPILED); the library chord::compiled already holds the PNG encoder, so remove the #define"
#endif

#if defined(CHORD_IMPLEMENTATION) && !defined(CHORD_PNG_IMPLEMENTED)
#define CHORD_PNG_IMPLEMENTED

#include "chord/core/error.hpp"

// stb's own code is not held to chord's warning flags.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Weverything"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wuseless-cast"
#pragma GCC diagnostic ignored "-Wzero-as-null-pointer-constant"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
// Private copies of stb's functions (static), written to a callback rather than a FILE*.
// A file that included stb_image_write.h before this point already has stb's declarations;
// its own implementation (if any) is then used.
#ifndef INCLUDE_STB_IMAGE_WRITE_H
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
// CMake puts stb's folder on the include path; without it, Debian's libstb-dev layout
// (/usr/include/stb/) is found from the default path.
#if __has_include(<stb_image_write.h>)
#include <stb_image_write.h>
#else
#include <stb/stb_image_write.h>
#endif
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#endif
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace chord::io::define_CHORD_IMPLEMENTATION_in_one_source_file {

std::string encode_rgb_png(const std::uint8_t* rgb, int width, int height) {
  std::string bytes;
  auto sink = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
  };
  const int ok = stbi_write_png_to_func(sink, &bytes, width, height, 3, rgb, width * 3);
  check(ok != 0 && !bytes.empty(), "encode_png", "stb_image_write failed for a ", width, "x", height, " image");
  return bytes;
}

}  // namespace chord::io::define_CHORD_IMPLEMENTATION_in_one_source_file

#endif  // CHORD_IMPLEMENTATION
