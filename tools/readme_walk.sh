#!/usr/bin/env bash
# Walks the README top to bottom as a newcomer would, on this checkout, and fails on the
# first thing that does not work as written. CI runs it (.ci/run) on a fresh clone.
#
#   bash tools/readme_walk.sh
#
# 1. references: every relative link and every cited file in README.md, docs/ and the code
#    exists (tools/check_references.sh);
# 2. commands: every ```sh block of README.md, then of docs/*.md, runs as written, in order,
#    from the repository root, with bash -euo pipefail. README's first block is the two
#    commands of its first screen (the demo, then every test: tools/test.sh, which builds and
#    runs the ```cpp snippets of README.md and docs/ as the CTest tests doc_snippet_*);
# 3. CMake: each ```cmake block of README.md is a consumer's whole CMakeLists.txt. It is
#    built, in Release, beside a main.cpp that is the README's autograd program:
#    find_package against the prefix the README's install command wrote, or
#    add_subdirectory with this checkout at third_party/chord;
# 4. robustness (README, "Building and testing by hand"): the loaders fuzzed for 60 seconds each
#    (tools/fuzz.sh 60), and the kill test (tools/kill_test.sh).
# The last line sums what passed: the CTest tests of every ctest run, and the walk's steps;
# tests that could not run here (no GPU) are counted as skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

log=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$work" "$log"' EXIT
steps=0

say() { printf '\n==> readme walk: %s\n' "$*"; }

# Runs one step; its output goes to the terminal and to the log (for the ctest counts).
step() {
  local what=$1
  shift
  say "$what"
  if ! "$@" 2>&1 | tee -a "$log"; then
    echo
    echo "readme walk: FAILED at: $what"
    echo "walk: $steps passed, 1 failed"
    exit 1
  fi
  steps=$((steps + 1))
}

step "references: links and cited files exist" bash tools/check_references.sh

# ---- 2. the commands -------------------------------------------------------------------
mapfile -t sh_blocks < <(bash tools/extract_snippets.sh sh "$work/sh" README.md docs/*.md)
for block in "${sh_blocks[@]}"; do
  step "$(basename "$block"): $(grep -v '^\s*#' "$block" | grep -m1 . | cut -c1-100)" \
    bash -euo pipefail -c "cd '$root' && source '$block'"
done

# ---- 3. the CMake consumers ---------------------------------------------------------------
# The README's autograd program (the ```cpp block that includes <iostream> and calls backward).
autograd_main=""
for f in $(bash tools/extract_snippets.sh cpp "$work/cpp" README.md); do
  if grep -q 'backward()' "$f" && grep -q '<iostream>' "$f"; then autograd_main=$f; fi
done
[[ -n $autograd_main ]] || { echo "readme walk: no autograd program in README.md"; exit 1; }

# The prefix the README's install command used (`cmake --install build --prefix P`).
prefix=$(grep -ho 'cmake --install build --prefix [^ ]*' README.md | head -1 | awk '{print $5}')
prefix=$(eval echo "$prefix")  # "$PWD/install" as the shell expanded it in the repository root

consumer() {  # consumer BLOCK
  local block=$1 dir
  dir="$work/consumer-$(basename "$block" .cmake)"
  mkdir -p "$dir"
  cp "$block" "$dir/CMakeLists.txt"
  cp "$autograd_main" "$dir/main.cpp"
  local args=(-S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release)
  if grep -q 'add_subdirectory(third_party/chord)' "$block"; then
    mkdir -p "$dir/third_party"
    ln -s "$root" "$dir/third_party/chord"
  elif grep -q 'find_package(chord' "$block"; then
    [[ -n $prefix && -f $prefix/share/cmake/chord/chordConfig.cmake ]] ||
      { echo "no chord installed at '$prefix' (the README's install command)"; return 1; }
    args+=("-DCMAKE_PREFIX_PATH=$prefix")
  else
    echo "$block: neither find_package(chord ...) nor add_subdirectory(third_party/chord)"
    return 1
  fi
  cmake "${args[@]}" && cmake --build "$dir/build" -j"$(nproc)" && "$dir/build/app"
}
for block in $(bash tools/extract_snippets.sh cmake "$work/cmake" README.md); do
  step "$(basename "$block"): a consumer project built from it" consumer "$block"
done

# ---- 4. fuzzing and the kill test -------------------------------------------------------------
step "fuzz: every loader under libFuzzer, 60 s each (tools/fuzz.sh 60)" bash tools/fuzz.sh 60
step "kill test: SIGKILL during training and saves, resume, bit-identical end (tools/kill_test.sh)" \
  bash tools/kill_test.sh

# ---- the sum ------------------------------------------------------------------------------
tests=$(grep -o 'tests passed, 0 tests failed out of [0-9]*' "$log" | awk '{s += $NF} END {print s + 0}')
# CTest counts a skipped test (tests/test_skip.hpp: no GPU here, ...) among the passed ones and
# lists it under "The following tests did not run": count those apart.
skipped=$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)$' "$log" || true)
echo
echo "readme walk: all $steps steps passed; CTest: $((tests - skipped)) tests passed, $skipped skipped"
echo "walk: $((tests - skipped + steps)) passed, 0 failed, $skipped skipped"
