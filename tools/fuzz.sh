#!/usr/bin/env bash
# Fuzzes chord's file loaders with libFuzzer (clang, AddressSanitizer + UBSan).
#
#   bash tools/fuzz.sh          # 60 seconds per target
#   bash tools/fuzz.sh 15       # seconds per target
#
# 1. installs clang (apt-get) when it or its libFuzzer runtime is missing;
# 2. builds into build-fuzz/ the seed generator tests/fuzz/make_corpus.cpp and one fuzzer per
#    loader, tests/fuzz/fuzz_<target>.cpp (json, safetensors, tokenizer, checkpoint, resume);
#    a binary newer than its source and every header is kept;
# 3. writes the seed corpora with chord's own writers (build-fuzz/corpus/<target>/) and runs each
#    fuzzer on them for the given seconds (-max_total_time=N -timeout=10 -rss_limit_mb=2048).
# Every input must load or throw chord::Error; anything else (a crash, another exception, a leak,
# undefined behaviour, a timeout, a broken round trip) is a finding: libFuzzer stops and writes
# the input to build-fuzz/findings/<target>-crash-* (or leak-, timeout-, oom-), and this script
# exits non-zero after the other targets. Reproduce one with: build-fuzz/fuzz_<target> FILE.
# CHORD_FUZZ_JOBS sets the number of parallel compiles and of fuzzers run at once (default: every
# core; each fuzzer runs on one thread).
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
seconds=60
case ${1:-} in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) [[ $1 =~ ^[1-9][0-9]*$ ]] || { echo "tools/fuzz.sh: seconds must be a positive integer, got '$1'" >&2; exit 2; }
     seconds=$1 ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=tools/common.sh
source tools/common.sh

targets=(json safetensors tokenizer checkpoint resume)
out=build-fuzz
jobs=${CHORD_FUZZ_JOBS:-$(chord_jobs)}
cxx=clang++
common_flags=(-std=c++20 -g -pthread -fopenmp-simd -Wno-pass-failed -Iinclude)
fuzz_flags=(-O1 "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=all -fno-omit-frame-pointer)

# ---- 1. clang with libFuzzer -------------------------------------------------------------------
libfuzzer_works() {
  local dir ok=1
  dir=$(mktemp -d)
  printf '%s\n' '#include <cstdint>' '#include <cstddef>' \
    'extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }' >"$dir/probe.cpp"
  if command -v "$cxx" >/dev/null 2>&1 &&
    "$cxx" -fsanitize=fuzzer,address,undefined "$dir/probe.cpp" -o "$dir/probe" >/dev/null 2>&1; then
    ok=0
  fi
  rm -rf "$dir"
  return $ok
}
CHORD_PACKAGES+=(clang)
chord_install_packages
if ! libfuzzer_works; then
  # Newer Debian and Ubuntu ship libFuzzer and the sanitizer runtimes apart from clang.
  chord_log "clang cannot link a libFuzzer program; installing its runtime (libclang-rt-dev)"
  CHORD_PACKAGES=(libclang-rt-dev)
  chord_install_packages || true
  libfuzzer_works || { echo "tools/fuzz.sh: $cxx cannot build a libFuzzer program (-fsanitize=fuzzer)" >&2; exit 1; }
fi

# ---- 2. the programs ---------------------------------------------------------------------------
mkdir -p "$out"
# Rebuilds $1 from $2 unless $1 is newer than $2 and every header (chord's and tests/fuzz/'s).
build() {
  local binary=$1 source=$2
  shift 2
  local newer
  newer=$(find include tests/fuzz -newer "$binary" \( -name '*.hpp' -o -path "$source" \) -print 2>/dev/null || true)
  if [[ -x $binary && -z $newer ]]; then
    echo "  $binary: up to date"
    return 0
  fi
  echo "  $binary <- $source"
  "$cxx" "${common_flags[@]}" "$@" "$source" -o "$binary.tmp" && mv "$binary.tmp" "$binary"
}
chord_log "build $out/ ($cxx, $jobs at a time)"
pids=()
wait_some() {  # waits until fewer than $1 background jobs (compiles, fuzzers) run; fails when one failed
  while ((${#pids[@]} >= $1)); do
    wait "${pids[0]}" || { echo "tools/fuzz.sh: a background job (a build or a fuzzer) failed" >&2; exit 1; }
    pids=("${pids[@]:1}")
  done
}
build "$out/make_corpus" tests/fuzz/make_corpus.cpp -O1 &
pids+=($!)
for t in "${targets[@]}"; do
  wait_some "$jobs"
  build "$out/fuzz_$t" "tests/fuzz/fuzz_$t.cpp" "${fuzz_flags[@]}" &
  pids+=($!)
done
wait_some 1

# ---- 3. seeds, then each fuzzer ------------------------------------------------------------
chord_log "seed corpora (chord's own writers)"
rm -rf "$out/corpus" "$out/run" "$out/findings" "$out/logs"
mkdir -p "$out/run" "$out/findings" "$out/logs"
OMP_NUM_THREADS=1 "$out/make_corpus" "$out/corpus"

# The loaders read files: a memory file system keeps the fuzzers' scratch files off the disk. A
# fuzzer that crashes leaves its scratch directory behind: they all go with this one at the end.
scratch=${TMPDIR:-/tmp}
if [[ -d /dev/shm && -w /dev/shm ]]; then scratch=/dev/shm; fi
scratch=$(mktemp -d "$scratch/chord-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
# Each fuzzer runs on one thread: $jobs of them at a time (one per core), each for the full
# $seconds, so a 2-core machine fuzzes every target as long in about half the time.
fuzz_one() {  # fuzz_one TARGET: runs it, writes its log and its exit status
  local t=$1 status=0
  mkdir -p "$out/run/$t"
  # A fixed seed (CHORD_FUZZ_SEED, default 1): CI explores the same inputs first on every run, so a
  # finding there can be reproduced; set another seed (or 0: random) to explore further.
  TMPDIR=$scratch OMP_NUM_THREADS=1 "$out/fuzz_$t" -seed="${CHORD_FUZZ_SEED:-1}" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 \
    -dict="$out/corpus/fuzz.dict" -print_final_stats=1 -artifact_prefix="$out/findings/$t-" \
    "$out/run/$t" "$out/corpus/$t" >"$out/logs/$t.log" 2>&1 || status=$?
  echo "$status" >"$out/logs/$t.status"
}
for t in "${targets[@]}"; do
  wait_some "$jobs"
  chord_log "fuzz $t for ${seconds} s"
  fuzz_one "$t" &
  pids+=($!)
done
wait_some 1

total_inputs=0 total_findings=0 failed=()
for t in "${targets[@]}"; do
  log="$out/logs/$t.log"
  status=$(cat "$out/logs/$t.status" 2>/dev/null || echo 1)
  inputs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  inputs=${inputs:-0}
  findings=$(find "$out/findings" -maxdepth 1 -type f -name "$t-*" | wc -l)
  if ((status != 0 && findings == 0)); then findings=1; fi  # e.g. killed before writing its input
  total_inputs=$((total_inputs + inputs))
  total_findings=$((total_findings + findings))
  echo "fuzz: $t: $inputs inputs in ${seconds} s, $findings findings (log: $log)"
  if ((findings > 0)); then
    failed+=("$t")
    grep -A30 -m1 -E '^==[0-9]+==ERROR|runtime error|FUZZ_CHECK|deadly signal|uncaught exception|ALARM|out-of-memory' \
      "$log" || tail -40 "$log"
    for f in "$out/findings/$t-"*; do [[ -e $f ]] && echo "  reproduce: $out/fuzz_$t $f"; done
  fi
done

echo
echo "fuzz: ${#targets[@]} targets, $total_inputs inputs, $total_findings findings"
if ((total_findings > 0)); then
  echo "fuzz: FAILED: findings in ${failed[*]}"
  exit 1
fi
