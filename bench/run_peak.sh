#!/usr/bin/env bash
# Measures this machine's float32 FMA peak (bench/README.md, "The FMA peak"): 256-bit (AVX2+FMA)
# and 512-bit (AVX-512F) vectors, 1 and 2 threads, GFLOP/s, best and median of 7 measurements.
#
#   bash bench/run_peak.sh [--threads 1,2] [--seconds S]
#
# Prints the table and keeps its RESULT lines in build-bench/peak.txt, from which
# bench/run_train_step.sh states the fraction of the peak that a train step reaches.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source bench/common.sh
bench_build peak
log=$(mktemp)
build-bench/bench/peak "$@" | tee "$log"
# Replaced only after a complete run: a failed one leaves the previous peak in place.
grep '^RESULT' "$log" >build-bench/peak.txt.new
mv build-bench/peak.txt.new build-bench/peak.txt
rm -f "$log"
echo "RESULT lines written to build-bench/peak.txt"
