#pragma once
// Skipping a test case honestly: a test that cannot run here (no GPU, no AVX2) says so to CTest
// instead of passing having checked nothing.
//
//   if (!cpu_has_avx2) CHORD_SKIP_TEST("no AVX2 on this CPU");
//
// CHORD_SKIP_TEST prints the reason, counts the skip and leaves the test case. The runner
// (test_main.cpp) then exits with kSkipExitCode when nothing failed, and CTest, which runs one
// test case per process with SKIP_RETURN_CODE set to it (cmake/ChordDoctestAddTests.cmake),
// reports the case as "Skipped". A run of several cases of which some skipped exits with the
// same code and prints how many skipped, so a script that wants everything checked
// (tools/gpu_check.sh) sees it.

#include <doctest/doctest.h>

namespace chord::testing {

inline constexpr int kSkipExitCode = 77;  // the autotools convention, which CTest reads too

// Test cases skipped in this process.
inline int& skipped_test_cases() {
  static int count = 0;
  return count;
}

}  // namespace chord::testing

#define CHORD_SKIP_TEST(reason)                         \
  do {                                                  \
    ++::chord::testing::skipped_test_cases();           \
    MESSAGE("SKIPPED, nothing was checked: " << (reason)); \
    return;                                             \
  } while (0)
