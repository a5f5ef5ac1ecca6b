#!/usr/bin/env bash
# Measures the GPT training step of chord and of PyTorch eager in one run and
# prints the ratio (bench/README.md: median of >= 10 steps after warm-up).
#
#   bash bench/run_train_step.sh [S|M|all] [--reps N] [--rounds R]
#
# Both run with 2 threads (OMP_NUM_THREADS=2, which chord's thread pool reads
# too); PyTorch with OMP_WAIT_POLICY=PASSIVE, its best setting on these
# machines. With --rounds R > 1
# the two alternate R times and the median of the per-round medians is reported,
# which damps a noisy machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
which=all reps=10 rounds=1
while (($#)); do
  case $1 in
    S | M | all) which=$1 ;;
    --reps) reps=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    *) echo "usage: $0 [S|M|all] [--reps N] [--rounds R]" >&2; exit 2 ;;
  esac
  shift
done
source bench/common.sh
bench_build train_step
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
py=$(bench_python)
bench_check_blas "$py"
log=$(mktemp)
for ((r = 1; r <= rounds; ++r)); do
  build-bench/bench/train_step "$which" --reps "$reps" | tee -a "$log"
  bench_reference "$py" bench/train_step_reference.py "$which" --reps "$reps" | tee -a "$log"
done
for c in S M; do
  [[ $which == all || $which == "$c" ]] || continue
  bench_ratio "$log" "train_step_$c" "torch_train_step_$c" "train step, config $c"
done
rm -f "$log"
