# `cmake --install` straight after a fresh configure, before any build (what a user who
# skips the build step does). Configured without the compiled mode's library
# (CHORD_BUILD_COMPILED=OFF) and without CUDA, chord is headers only: the install must work.
# With CUDA, libchord_cuda.a is not built yet: the install must fail with a message that says
# so, before it copies anything (no half install).
#
#   cmake -DCHORD_SOURCE_DIR=... -DWORK_DIR=... -DCHORD_CUDA=ON|OFF [-DGENERATOR=...]
#         [-DCXX_COMPILER=...] -P install_before_build.cmake
cmake_minimum_required(VERSION 3.21)

foreach(var CHORD_SOURCE_DIR WORK_DIR CHORD_CUDA)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "install_before_build.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
set(build "${WORK_DIR}/build")
set(prefix "${WORK_DIR}/prefix")
set(args -S "${CHORD_SOURCE_DIR}" -B "${build}" -DCHORD_CUDA=${CHORD_CUDA}
  -DCHORD_BUILD_TESTS=OFF -DCHORD_BUILD_EXAMPLES=OFF -DCHORD_BUILD_BENCH=OFF
  -DCHORD_BUILD_COMPILED=OFF)  # headers only: chord::compiled's library would have to be built first
include("${CMAKE_CURRENT_LIST_DIR}/toolchain_args.cmake")
chord_append_toolchain_args(args)
execute_process(COMMAND "${CMAKE_COMMAND}" ${args} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configure failed: ${err}")
endif()

execute_process(COMMAND "${CMAKE_COMMAND}" --install "${build}" --prefix "${prefix}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(GLOB_RECURSE installed "${prefix}/*")
list(LENGTH installed count)
if(CHORD_CUDA)
  if(rc EQUAL 0)
    message(FATAL_ERROR "install before build succeeded with CUDA on: libchord_cuda.a cannot be there")
  endif()
  string(REGEX REPLACE "[ \t\r\n]+" " " message "${err}")  # CMake wraps long messages
  if(NOT message MATCHES "is not built yet")
    message(FATAL_ERROR "install before build failed without saying why:\n${out}${err}")
  endif()
  if(count GREATER 0)
    message(FATAL_ERROR "install before build failed but left ${count} files in ${prefix}")
  endif()
  message(STATUS "install before build (CUDA): refused before copying anything, as it should")
else()
  if(NOT rc EQUAL 0 OR NOT EXISTS "${prefix}/share/cmake/chord/chordConfig.cmake")
    message(FATAL_ERROR "install before build failed for a headers-only chord:\n${out}${err}")
  endif()
  message(STATUS "install before build (CPU only): installed ${count} files")
endif()
