#!/usr/bin/env bash
# Copies the header-only libraries chord builds against (Eigen, doctest, stb) from this
# machine into .deps/ (git-ignored), with small relocatable CMake package files, for a GPU
# machine that has CMake and the CUDA toolkit but cannot install packages. Pass .deps to the
# device machine with the working tree (the device tool's `carry: [".deps"]`);
# tools/gpu_check.sh uses it when it is there.
#
#   bash tools/gpu_deps.sh        # about 10 MB
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

find_dir() {  # the first existing directory among the arguments
  local d
  for d in "$@"; do [[ -d $d ]] && { echo "$d"; return; }; done
  echo "tools/gpu_deps.sh: none of $* exists; install the package (tools/test.sh does)" >&2
  exit 1
}
eigen=$(find_dir /usr/include/eigen3 /usr/local/include/eigen3)
doctest=$(find_dir /usr/include/doctest /usr/local/include/doctest)
stb=$(find_dir /usr/include/stb /usr/local/include/stb)

rm -rf .deps
mkdir -p .deps/include/eigen3 .deps/include/stb .deps/share/eigen3/cmake .deps/lib/cmake/doctest
cp -r "$eigen/Eigen" .deps/include/eigen3/
cp -r "$doctest" .deps/include/
cp "$stb/stb_image_write.h" .deps/include/stb/
eigen_version=$(sed -n 's/^#define EIGEN_\(WORLD\|MAJOR\|MINOR\)_VERSION \([0-9]*\).*/\2/p' \
  .deps/include/eigen3/Eigen/src/Core/util/Macros.h | paste -sd.)

cat >.deps/share/eigen3/cmake/Eigen3Config.cmake <<'CMAKE'
# A relocatable stand-in for Eigen's package file (tools/gpu_deps.sh).
if(NOT TARGET Eigen3::Eigen)
  add_library(Eigen3::Eigen INTERFACE IMPORTED)
  set_target_properties(Eigen3::Eigen PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${CMAKE_CURRENT_LIST_DIR}/../../../include/eigen3")
endif()
CMAKE
cat >.deps/share/eigen3/cmake/Eigen3ConfigVersion.cmake <<CMAKE
set(PACKAGE_VERSION "$eigen_version")
set(PACKAGE_VERSION_COMPATIBLE TRUE)
if(PACKAGE_FIND_VERSION AND PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
CMAKE
cat >.deps/lib/cmake/doctest/doctestConfig.cmake <<'CMAKE'
# A relocatable stand-in for doctest's package file (tools/gpu_deps.sh).
if(NOT TARGET doctest::doctest)
  add_library(doctest::doctest INTERFACE IMPORTED)
  set_target_properties(doctest::doctest PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${CMAKE_CURRENT_LIST_DIR}/../../../include")
endif()
CMAKE
echo "tools/gpu_deps.sh: wrote .deps/ (Eigen $eigen_version, doctest, stb; $(du -sh .deps | cut -f1))"
