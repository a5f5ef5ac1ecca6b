# Script mode, run after each build of a doctest executable by chord_discover_doctest():
#   cmake -DTEST_EXECUTABLE=... -DTEST_WORKING_DIR=... -DTEST_TIMEOUT=... -DCTEST_FILE=... -P ChordDoctestAddTests.cmake
# Writes CTEST_FILE: one add_test() per test case, running `<exe> --test-case=<name>`.
cmake_minimum_required(VERSION 3.21)

execute_process(
  COMMAND "${TEST_EXECUTABLE}" --list-test-cases --no-version
  WORKING_DIRECTORY "${TEST_WORKING_DIR}"
  OUTPUT_VARIABLE output
  ERROR_VARIABLE errors
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "'${TEST_EXECUTABLE} --list-test-cases' failed (${result}):\n${output}\n${errors}")
endif()

# CMake treats ";" as a list separator and "[...]" as a group that keeps
# separators inside it: swap all three for control characters while splitting
# the output into lines, and put them back in each name.
string(ASCII 1 semicolon)
string(ASCII 2 open_bracket)
string(ASCII 3 close_bracket)
string(REPLACE ";" "${semicolon}" output "${output}")
string(REPLACE "[" "${open_bracket}" output "${output}")
string(REPLACE "]" "${close_bracket}" output "${output}")
string(REPLACE "\n" ";" lines "${output}")

set(script "")
set(count 0)
set(seen_keys "")
foreach(line IN LISTS lines)
  string(REPLACE "${semicolon}" ";" name "${line}")
  string(REPLACE "${open_bracket}" "[" name "${name}")
  string(REPLACE "${close_bracket}" "]" name "${name}")
  # Skip doctest's own lines ("[doctest] ...", "=====") and blank lines.
  if(name STREQUAL "" OR name MATCHES "^\\[doctest\\] " OR name MATCHES "^=+$")
    continue()
  endif()
  if(name MATCHES "\\]=====\\]")
    message(FATAL_ERROR "test case name contains ']=====]': ${name}")
  endif()

  # doctest's --test-case takes comma-separated patterns; "\," is a literal comma.
  string(REPLACE "," "\\," filter "${name}")
  # The CTest name: the test case name, unique, without ";" (CTest lists).
  string(REPLACE ";" "," test_name "${name}")
  # Names may hold "[" and "]", which break CMake lists: remember hashes instead.
  set(unique_name "${test_name}")
  string(MD5 key "${unique_name}")
  set(n 2)
  while(key IN_LIST seen_keys)
    set(unique_name "${test_name} (${n})")
    string(MD5 key "${unique_name}")
    math(EXPR n "${n} + 1")
  endwhile()
  list(APPEND seen_keys "${key}")

  string(APPEND script
    "add_test([=====[${unique_name}]=====] [=====[${TEST_EXECUTABLE}]=====] [=====[--test-case=${filter}]=====])\n"
    "set_tests_properties([=====[${unique_name}]=====] PROPERTIES"
    " WORKING_DIRECTORY [=====[${TEST_WORKING_DIR}]=====]"
    " TIMEOUT ${TEST_TIMEOUT}"
    # A test case that cannot run here says so (tests/test_skip.hpp): "Skipped", not "Passed".
    " SKIP_RETURN_CODE 77"
    # A filter that matches nothing makes doctest exit 0 having run nothing.
    " FAIL_REGULAR_EXPRESSION [=====[test cases: +0 [|]]=====])\n")
  math(EXPR count "${count} + 1")
endforeach()

if(count EQUAL 0)
  message(FATAL_ERROR "'${TEST_EXECUTABLE} --list-test-cases' listed no test cases:\n${output}")
endif()
file(WRITE "${CTEST_FILE}" "# ${count} test cases of ${TEST_EXECUTABLE}, written by ChordDoctestAddTests.cmake\n${script}")
