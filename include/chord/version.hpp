#pragma once
// chord's version. CMakeLists.txt reads these three numbers for project(VERSION), so the
// package version (find_package(chord 0.2)) and the headers can never disagree; CHANGELOG.md
// says what changed in each version.

#define CHORD_VERSION_MAJOR 0
#define CHORD_VERSION_MINOR 2
#define CHORD_VERSION_PATCH 0

#define CHORD_VERSION_STRINGIFY_(x) #x
#define CHORD_VERSION_STRINGIFY(x) CHORD_VERSION_STRINGIFY_(x)
// "0.2.0"
#define CHORD_VERSION_STRING                                                           \
  CHORD_VERSION_STRINGIFY(CHORD_VERSION_MAJOR) "." CHORD_VERSION_STRINGIFY(CHORD_VERSION_MINOR) "." \
      CHORD_VERSION_STRINGIFY(CHORD_VERSION_PATCH)
// One number that grows with every release: 200 for 0.2.0, 10203 for 1.2.3.
#define CHORD_VERSION (CHORD_VERSION_MAJOR * 10000 + CHORD_VERSION_MINOR * 100 + CHORD_VERSION_PATCH)

namespace chord {
inline constexpr int version_major = CHORD_VERSION_MAJOR;
inline constexpr int version_minor = CHORD_VERSION_MINOR;
inline constexpr int version_patch = CHORD_VERSION_PATCH;
inline constexpr const char* version_string = CHORD_VERSION_STRING;
}  // namespace chord
