# chord_discover_doctest(<target> [TIMEOUT <seconds>])
#
# Registers every doctest test case of <target> as its own CTest test, named
# after the test case. Like doctest_discover_tests() (doctest's doctest.cmake),
# the list is read from `<target> --list-test-cases` after each build; unlike the
# doctest 2.4.9 one shipped with Debian, test names may hold any character
# (";", "[", "]", ",", ...), which CMake's list handling would otherwise split.
include_guard(GLOBAL)

set(_CHORD_DOCTEST_ADD_TESTS "${CMAKE_CURRENT_LIST_DIR}/ChordDoctestAddTests.cmake")

function(chord_discover_doctest target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "TIMEOUT" "")
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set(tests_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_tests.cmake")
  set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake")

  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${CMAKE_COMMAND}"
      "-DTEST_EXECUTABLE=$<TARGET_FILE:${target}>"
      "-DTEST_WORKING_DIR=${CMAKE_CURRENT_BINARY_DIR}"
      "-DTEST_TIMEOUT=${ARG_TIMEOUT}"
      "-DCTEST_FILE=${tests_file}"
      -P "${_CHORD_DOCTEST_ADD_TESTS}"
    BYPRODUCTS "${tests_file}"
    COMMENT "Listing the test cases of ${target}"
    VERBATIM)

  file(WRITE "${include_file}"
"if(EXISTS \"${tests_file}\")
  include(\"${tests_file}\")
else()
  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)
endif()
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endfunction()
