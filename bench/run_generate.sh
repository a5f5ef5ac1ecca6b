#!/usr/bin/env bash
# Measures batched generation with a KV cache (config S: 16 prompts x 16 tokens, 112 new tokens,
# temperature 1) in chord and in PyTorch eager in one run, and prints the ratio (bench/README.md:
# median of >= 10 calls after warm-up).
#
#   bash bench/run_generate.sh [--reps N] [--rounds R]
#
# Both run with 2 threads (OMP_NUM_THREADS=2, which chord's thread pool reads too); PyTorch
# with OMP_WAIT_POLICY=PASSIVE, its best setting on these machines.
# With --rounds R > 1 the two alternate R times and the median of the per-round medians is
# reported, which damps a noisy machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
reps=10 rounds=1
while (($#)); do
  case $1 in
    --reps) reps=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    *) echo "usage: $0 [--reps N] [--rounds R]" >&2; exit 2 ;;
  esac
  shift
done
source bench/common.sh
bench_build generate
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
py=$(bench_python)
bench_check_blas "$py"
log=$(mktemp)
for ((r = 1; r <= rounds; ++r)); do
  build-bench/bench/generate --reps "$reps" | tee -a "$log"
  bench_reference "$py" bench/generate_reference.py --reps "$reps" | tee -a "$log"
done
bench_ratio "$log" generate_S torch_generate_S "generation, config S"
rm -f "$log"
