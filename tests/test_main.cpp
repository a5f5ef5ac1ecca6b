// The doctest runner: the one translation unit that defines main().
//
// doctest's own main, plus honest skips (test_skip.hpp): when nothing failed but a test case
// skipped, the exit status is kSkipExitCode, which CTest shows as "Skipped", not "Passed".
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "test_skip.hpp"

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int status = context.run();
  if (context.shouldExit() || status != 0) return status;  // --help, --list-*, or a failure
  const int skipped = chord::testing::skipped_test_cases();
  if (skipped > 0) {
    std::printf("[chord] %d test case%s SKIPPED: they checked nothing on this machine (see their messages)\n",
                skipped, skipped == 1 ? "" : "s");
    return chord::testing::kSkipExitCode;
  }
  return 0;
}
