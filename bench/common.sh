# shellcheck shell=bash
# Shared by bench/run_*.sh (sourced): building a benchmark and printing ratios.

# Configures build-bench/ (Release; benchmarks get -O3 -march=native) and builds one
# benchmark, build-bench/bench/NAME.
bench_build() {
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCHORD_BUILD_TESTS=OFF -DCHORD_BUILD_EXAMPLES=OFF \
    -DCHORD_BUILD_BENCH=ON -DCHORD_CUDA=OFF >/dev/null
  cmake --build build-bench -j"$(nproc)" --target "chord_bench_$1" >/dev/null
}

# bench_ratio LOG CHORD_NAME REFERENCE_NAME LABEL: the median over rounds of each
# side's median_ms, and chord's speed-up (reference time / chord time).
bench_ratio() {
  python3 - "$@" <<'PY'
import re, statistics, sys
log, mine, ref, label = sys.argv[1:5]
def medians(name):
    out = []
    for line in open(log):
        m = re.match(r"RESULT (\S+) median_ms=([\d.]+) min_ms=([\d.]+) max_ms=([\d.]+)", line)
        if m and m.group(1) == name:
            out.append(float(m.group(2)))
    return out
a, b = medians(mine), medians(ref)
if not a:
    print(f"{label}: no chord result"); sys.exit(0)
if not b:
    print(f"{label}: chord {statistics.median(a):.1f} ms; no reference result (is PyTorch installed?)"); sys.exit(0)
ma, mb = statistics.median(a), statistics.median(b)
print(f"{label}: chord {ma:.1f} ms, reference {mb:.1f} ms -> chord is {mb / ma:.2f}x the reference's speed "
      f"({len(a)} round(s); per-round chord {', '.join(f'{x:.0f}' for x in a)}; reference {', '.join(f'{x:.0f}' for x in b)})")
PY
}

# The Python that can import torch (Debian's python3-torch is for /usr/bin/python3,
# which a pyenv or venv python3 earlier on PATH hides); plain python3 otherwise.
bench_python() {
  local py
  for py in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import torch' >/dev/null 2>&1; then
      echo "$py"
      return
    fi
  done
  echo python3
}

# Runs the PyTorch/numpy reference with its best thread setting on these machines
# (bench/README.md): OMP_WAIT_POLICY=PASSIVE, so that libgomp's spinning threads do
# not fight OpenBLAS's.
bench_reference() {
  OMP_WAIT_POLICY=PASSIVE "$@"
}

# Warns when PyTorch's matrix products run on the slow reference BLAS: Debian's
# python3-torch and numpy use whichever libblas.so.3 is selected, and without
# OpenBLAS installed that is netlib's (30 times slower), which would make every
# ratio meaningless. Install libopenblas0-pthread (or libopenblas0) to fix it.
bench_check_blas() {
  local py=$1
  "$py" - <<'PY' || true
import sys, time
try:
    import torch
except ImportError:
    sys.exit(0)
a = torch.rand(512, 512)
a @ a
t = time.perf_counter()
for _ in range(5):
    a @ a
gflops = 5 * 2 * 512 ** 3 / (time.perf_counter() - t) / 1e9
if gflops < 20:
    print(f"warning: PyTorch's 512x512 matmul runs at {gflops:.1f} GFLOP/s: its BLAS is probably netlib's "
          "reference libblas; install libopenblas0-pthread for a meaningful comparison", file=sys.stderr)
PY
}
