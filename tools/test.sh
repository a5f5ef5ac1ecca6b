#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine and runs every chord test.
#
#   bash tools/test.sh                 # both passes
#   bash tools/test.sh --no-sanitize   # skip the sanitizer pass
#   bash tools/test.sh --cpu           # CPU backend only, even where nvcc is installed
#                                      # (the same as CHORD_CPU_ONLY=1)
#
# 1. installs the packages chord needs (apt-get; skipped when all are installed);
# 2. build/ (RelWithDebInfo; CUDA on when nvcc exists): builds everything, runs all
#    CTest tests: the doctest suite, the header and nvcc compile checks, and the
#    consumer tests (find_package and add_subdirectory);
# 3. build-asan/ (AddressSanitizer + UBSan, CPU only): runs the doctest suite again.
# Exits non-zero on the first failure.
set -euo pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

sanitize=1
for arg in "$@"; do
  case $arg in
    --no-sanitize) sanitize=0 ;;
    --cpu) export CHORD_CPU_ONLY=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "tools/test.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=tools/common.sh
source tools/common.sh

step="setup"
on_exit() {
  local status=$?
  if ((status != 0)); then
    echo
    echo "chord tests: FAILED during: $step (exit $status)"
  fi
}
trap on_exit EXIT

start=$SECONDS
jobs=$(chord_jobs)

step="installing packages"
chord_install_packages

step="configuring build/"
chord_configure_main_build

step="building build/"
chord_log "build build/ (-j$jobs)"
cmake --build build -j"$jobs"

step="testing build/"
chord_log "test build/"
ctest --test-dir build --output-on-failure -j"$jobs"

if ((sanitize)); then
  step="configuring build-asan/"
  chord_log "configure build-asan/ (AddressSanitizer + UBSan, CPU only)"
  # Debug: -O0 -g. Only the doctest suite is rebuilt here (the examples, benchmarks,
  # header checks and the compiled mode's library were compiled in build/ already).
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCHORD_SANITIZE=ON -DCHORD_CUDA=OFF \
    -DCHORD_HEADER_CHECK=OFF -DCHORD_BUILD_EXAMPLES=OFF -DCHORD_BUILD_BENCH=OFF -DCHORD_BUILD_COMPILED=OFF

  # LeakSanitizer needs ptrace, which some containers forbid; then it aborts every
  # program at exit. Probe once and turn leak checking off (with a notice) there.
  if [[ -z ${ASAN_OPTIONS:-} ]]; then
    export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1
    if ! chord_leak_sanitizer_works; then
      echo "notice: LeakSanitizer does not work on this machine (ptrace not allowed?); leak checks off"
      export ASAN_OPTIONS=detect_leaks=0:strict_string_checks=1:check_initialization_order=1
    fi
  fi
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

  step="building build-asan/"
  chord_log "build build-asan/ (-j$jobs)"
  cmake --build build-asan -j"$jobs"

  step="testing build-asan/"
  chord_log "test build-asan/ (consumer tests skipped: they do not use the sanitizers)"
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -E consumer
  passes="build/ and build-asan/ (sanitizers)"
else
  passes="build/ (sanitizer pass skipped: --no-sanitize)"
fi

step="done"
echo
echo "chord tests: ALL PASSED in $passes, $((SECONDS - start)) s"
