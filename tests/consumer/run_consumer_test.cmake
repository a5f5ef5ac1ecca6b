# Builds and runs tests/consumer against chord, as a user's project would use it.
#
#   cmake -DCHORD_CONSUMER_MODE=package|subdir -DCHORD_SOURCE_DIR=... -DCHORD_BINARY_DIR=...
#         -DCONSUMER_SOURCE_DIR=... -DWORK_DIR=... [-DGENERATOR=...] [-DCXX_COMPILER=...]
#         [-DCONFIG=...] [-DCHORD_CONSUMER_COMPILED=ON|OFF] -P run_consumer_test.cmake
#
# CHORD_CONSUMER_COMPILED (default ON): also build and check the compiled mode (chord::compiled);
# OFF where the chord build was configured without it (CHORD_BUILD_COMPILED=OFF).
#
# package: `cmake --install` the chord build in CHORD_BINARY_DIR into WORK_DIR/prefix,
#          then configure the consumer with find_package(chord) and CMAKE_PREFIX_PATH.
# subdir:  configure the consumer with add_subdirectory(CHORD_SOURCE_DIR), CHORD_CUDA=OFF.
cmake_minimum_required(VERSION 3.21)

foreach(var CHORD_CONSUMER_MODE CHORD_SOURCE_DIR CHORD_BINARY_DIR CONSUMER_SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer_test.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run_step what)
  message(STATUS "consumer (${CHORD_CONSUMER_MODE}): ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer (${CHORD_CONSUMER_MODE}): ${what} failed (${rc}): ${ARGN}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

include("${CMAKE_CURRENT_LIST_DIR}/toolchain_args.cmake")
if(NOT DEFINED CHORD_CONSUMER_COMPILED)
  set(CHORD_CONSUMER_COMPILED ON)
endif()
set(configure_args -S "${CONSUMER_SOURCE_DIR}"
  "-DCHORD_CONSUMER_MODE=${CHORD_CONSUMER_MODE}" "-DCHORD_CONSUMER_COMPILED=${CHORD_CONSUMER_COMPILED}")
chord_append_toolchain_args(configure_args)

if(CHORD_CONSUMER_MODE STREQUAL "package")
  set(prefix "${WORK_DIR}/prefix")
  set(install_args --install "${CHORD_BINARY_DIR}" --prefix "${prefix}")
  if(CONFIG)
    list(APPEND install_args --config "${CONFIG}")
  endif()
  run_step("install chord into ${prefix}" "${CMAKE_COMMAND}" ${install_args})
  # Only the fresh prefix may satisfy find_package(chord): not the package
  # registry, not a chord installed system-wide.
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${prefix}" "-Dchord_ROOT=${prefix}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON)
elseif(CHORD_CONSUMER_MODE STREQUAL "subdir")
  list(APPEND configure_args "-DCHORD_SOURCE_DIR=${CHORD_SOURCE_DIR}" -DCHORD_CUDA=OFF)
else()
  message(FATAL_ERROR "CHORD_CONSUMER_MODE must be package or subdir, not '${CHORD_CONSUMER_MODE}'")
endif()

# Without a build type the user's program would be compiled at -O0: chord must say so.
execute_process(COMMAND "${CMAKE_COMMAND}" ${configure_args} -B "${WORK_DIR}/build-no-build-type"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "consumer (${CHORD_CONSUMER_MODE}): configure without a build type failed:\n${out}${err}")
endif()
if(NOT "${out}${err}" MATCHES "compiled without optimisation")
  message(FATAL_ERROR "consumer (${CHORD_CONSUMER_MODE}): no warning about the missing build type:\n${out}${err}")
endif()
message(STATUS "consumer (${CHORD_CONSUMER_MODE}): configuring without a build type warns, as it should")
file(REMOVE_RECURSE "${WORK_DIR}/build-no-build-type")

# The real build: Release, as the README tells users to build.
run_step("configure" "${CMAKE_COMMAND}" ${configure_args} -B "${WORK_DIR}/build" -DCMAKE_BUILD_TYPE=Release)
# In parallel: with add_subdirectory the build compiles the compiled mode's library too.
cmake_host_system_information(RESULT _cores QUERY NUMBER_OF_LOGICAL_CORES)
run_step("build" "${CMAKE_COMMAND}" --build "${WORK_DIR}/build" --parallel ${_cores})
run_step("run (header-only)" "${WORK_DIR}/build/chord_consumer")
if(NOT CHORD_CONSUMER_COMPILED)
  message(STATUS "consumer (${CHORD_CONSUMER_MODE}): passed (header-only; chord was built without the compiled mode)")
  return()
endif()
run_step("run (compiled mode)" "${WORK_DIR}/build/chord_consumer_compiled")

# The compiled mode must really take the templates from the library: the compiled program's own
# object file defines no run_backward<float> (declared extern template), the header-only one does.
find_program(NM nm)
if(NM)
  foreach(_target IN ITEMS chord_consumer chord_consumer_compiled)
    file(GLOB_RECURSE _object "${WORK_DIR}/build/CMakeFiles/${_target}.dir/*main.cpp.o")
    if(NOT _object)
      message(FATAL_ERROR "consumer (${CHORD_CONSUMER_MODE}): no object file of ${_target}")
    endif()
    execute_process(COMMAND "${NM}" -C --defined-only ${_object} OUTPUT_VARIABLE _symbols RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "consumer (${CHORD_CONSUMER_MODE}): nm failed on ${_object}")
    endif()
    string(FIND "${_symbols}" "chord::autograd::run_backward<float>" _at)
    if(_target STREQUAL "chord_consumer_compiled" AND NOT _at EQUAL -1)
      message(FATAL_ERROR "consumer (${CHORD_CONSUMER_MODE}): the compiled-mode program compiled "
                          "run_backward<float> itself; the extern template declarations did not apply")
    elseif(_target STREQUAL "chord_consumer" AND _at EQUAL -1)
      message(FATAL_ERROR "consumer (${CHORD_CONSUMER_MODE}): the header-only program has no "
                          "run_backward<float> of its own; this check cannot tell the modes apart")
    endif()
  endforeach()
  message(STATUS "consumer (${CHORD_CONSUMER_MODE}): the compiled-mode program takes the templates from the library")
else()
  message(STATUS "consumer (${CHORD_CONSUMER_MODE}): no nm on PATH; the extern-template check is skipped")
endif()
message(STATUS "consumer (${CHORD_CONSUMER_MODE}): passed")
