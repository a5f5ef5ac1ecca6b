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
# chord's GFLOP/s (train_step's FLOP count over its median time) as a fraction of the best FMA
# peak that bench/run_peak.sh measured for the same thread count.
if [[ -f build-bench/peak.txt ]]; then
  python3 - "$log" build-bench/peak.txt "$OMP_NUM_THREADS" "$which" <<'PY'
import re, statistics, sys
log, peak_file, threads, which = sys.argv[1:5]
peaks, peak_cpu = {}, None  # vector width -> best GFLOP/s at `threads`
for line in open(peak_file):
    if m := re.match(r"RESULT peak_fma (\S+) threads=(\d+) gflops=([\d.]+)", line):
        if m.group(2) == threads:
            peaks[m.group(1)] = float(m.group(3))
    elif m := re.match(r"RESULT cpu_model (.*)", line):
        peak_cpu = m.group(1).strip()
try:
    this_cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except (OSError, StopIteration):
    this_cpu = None
if peak_cpu and this_cpu and peak_cpu != this_cpu:
    print(f"note: build-bench/peak.txt was measured on '{peak_cpu}', this CPU is '{this_cpu}': rerun bash bench/run_peak.sh")
lines = open(log).read().splitlines()
for c in "SM":
    if which not in ("all", c):
        continue
    ms = [float(m.group(1)) for l in lines if (m := re.match(rf"RESULT train_step_{c} median_ms=([\d.]+)", l))]
    gflop = [float(m.group(1)) for l in lines if (m := re.match(rf"RESULT train_step_{c}_flops gflop=([\d.]+)", l))]
    if not ms or not gflop:
        print(f"train step, config {c}: no FLOP count in train_step's output"); continue
    t = statistics.median(ms)
    achieved = gflop[0] / (t / 1000)
    text = f"train step, config {c}: chord {achieved:.1f} GFLOP/s ({gflop[0]:.1f} GFLOP in {t:.1f} ms)"
    if not peaks:
        print(f"{text}; build-bench/peak.txt has no {threads}-thread peak (bash bench/run_peak.sh --threads {threads})")
        continue
    width, peak = max(peaks.items(), key=lambda kv: kv[1])
    print(f"{text} = {100 * achieved / peak:.0f}% of the FMA peak with {threads} threads "
          f"({peak:.1f} GFLOP/s, {width}, build-bench/peak.txt)")
PY
else
  echo "(no build-bench/peak.txt: run bash bench/run_peak.sh once to see the train step's fraction of the FMA peak)"
fi
rm -f "$log"
