// The version macros (chord/version.hpp) and the CMake package version agree.
#include <doctest/doctest.h>

#include <chord/chord.hpp>

#include <string>

TEST_CASE("version: the headers' macros match CMake's project version") {
  const std::string from_macros = std::to_string(CHORD_VERSION_MAJOR) + "." + std::to_string(CHORD_VERSION_MINOR) +
                                  "." + std::to_string(CHORD_VERSION_PATCH);
  CHECK(from_macros == CHORD_VERSION_STRING);
  CHECK(std::string(chord::version_string) == CHORD_VERSION_STRING);
  CHECK(CHORD_VERSION == CHORD_VERSION_MAJOR * 10000 + CHORD_VERSION_MINOR * 100 + CHORD_VERSION_PATCH);
  // Passed by tests/CMakeLists.txt from PROJECT_VERSION, which CMakeLists.txt reads from the header.
  CHECK(std::string(CHORD_CMAKE_PROJECT_VERSION) == CHORD_VERSION_STRING);
}
