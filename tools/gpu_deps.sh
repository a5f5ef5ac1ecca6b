#!/usr/bin/env bash
# Copies the header-only libraries chord builds against (doctest, stb) from this
# machine into .deps/ (git-ignored), with small relocatable CMake package files, for a GPU
# machine that has CMake and the CUDA toolkit but cannot install packages. Pass .deps to the
# device machine with the working tree (the device tool's `carry: [".deps"]`);
# tools/gpu_check.sh uses it when it is there.
#
#   bash tools/gpu_deps.sh        # about 1 MB
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

find_dir() {  # the first existing directory among the arguments
  local d
  for d in "$@"; do [[ -d $d ]] && { echo "$d"; return; }; done
  echo "tools/gpu_deps.sh: none of $* exists; install the package (tools/test.sh does)" >&2
  exit 1
}
doctest=$(find_dir /usr/include/doctest /usr/local/include/doctest)
stb=$(find_dir /usr/include/stb /usr/local/include/stb)

rm -rf .deps
mkdir -p .deps/include/stb .deps/lib/cmake/doctest
cp -r "$doctest" .deps/include/
cp "$stb/stb_image_write.h" .deps/include/stb/
cat >.deps/lib/cmake/doctest/doctestConfig.cmake <<'CMAKE'
# A relocatable stand-in for doctest's package file (tools/gpu_deps.sh).
if(NOT TARGET doctest::doctest)
  add_library(doctest::doctest INTERFACE IMPORTED)
  set_target_properties(doctest::doctest PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${CMAKE_CURRENT_LIST_DIR}/../../../include")
endif()
CMAKE
echo "tools/gpu_deps.sh: wrote .deps/ (doctest, stb; $(du -sh .deps | cut -f1))"
