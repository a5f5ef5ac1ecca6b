#!/usr/bin/env bash
# chord's float32 GEMM against numpy/OpenBLAS on the same machine, in one run:
# builds bench/gemm.cpp, then alternates chord and numpy runs ROUNDS times
# (both with 1 and 2 threads) and prints, per shape and thread count, the median
# over the runs of each run's median GFLOP/s, and the ratio chord / OpenBLAS.
#
#   bench/run_gemm.sh [--rounds 3] [--reps 15] [--shapes square|train|trainM|small|all] [--threads 1,2]
#
# Environment: CXX (default g++), EIGEN_INCLUDE (default /usr/include/eigen3),
# PYTHON (default: the first of python3, /usr/bin/python3 that has numpy),
# BUILD_DIR (default build/bench-gemm). Without numpy it prints chord's numbers only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
rounds=3 reps=15 shapes=all threads=1,2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --shapes) shapes="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "usage: $0 [--rounds N] [--reps N] [--shapes square|train|trainM|small|all] [--threads 1,2]" >&2; exit 2 ;;
  esac
done

build_dir="${BUILD_DIR:-$root/build/bench-gemm}"
mkdir -p "$build_dir"
exe="$build_dir/gemm"
echo "building $exe ..." >&2
"${CXX:-g++}" -std=c++20 -O3 -march=native -fopenmp -I"$root/include" -isystem "${EIGEN_INCLUDE:-/usr/include/eigen3}" \
  "$root/bench/gemm.cpp" -o "$exe"

python=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c "import numpy" >/dev/null 2>&1; then python="$p"; break; fi
done
[[ -z "$python" ]] && echo "numpy not found (Debian: apt-get install python3-numpy): chord's numbers only" >&2

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds: chord ..." >&2
  out="$("$exe" --reps "$reps" --shapes "$shapes" --threads "$threads")"
  header="$(head -1 <<<"$out")"
  awk '/^RESULT/ {print "chord", $2, $3, $4}' <<<"$out" >>"$results"
  if [[ -n "$python" ]]; then
    echo "round $r/$rounds: numpy ..." >&2
    "$python" "$root/bench/gemm_reference.py" --reps "$reps" --shapes "$shapes" --threads "$threads" |
      awk '/^RESULT/ {print "numpy", $2, $3, $4}' >>"$results"
  fi
done

echo "$header"
[[ -n "$python" ]] && "$python" -c "import numpy; print('numpy', numpy.__version__)"
echo "median over $rounds rounds of each run's median GFLOP/s (alternating runs)"
awk -v rounds="$rounds" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  {
    key = $2 " " $3
    if (!(key in seen)) { seen[key] = 1; order[++count] = key }
    v[$1, key] = v[$1, key] " " $4
  }
  END {
    printf "%-16s %3s %10s %10s %8s\n", "shape", "thr", "chord", "openblas", "ratio"
    for (i = 1; i <= count; i++) {
      key = order[i]; split(key, k, " ")
      c = median(v["chord", key])
      if ((("numpy", key) in v)) {
        o = median(v["numpy", key])
        printf "%-16s %3s %10.1f %10.1f %8.2f\n", k[1], k[2], c, o, c / o
      } else {
        printf "%-16s %3s %10.1f %10s %8s\n", k[1], k[2], c, "-", "-"
      }
    }
  }' "$results"
