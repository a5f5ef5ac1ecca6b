#!/usr/bin/env bash
# chord on the GPU beside PyTorch eager on the same GPU, in one run: the training step
# (configs S and M of bench/README.md) and generation (config S), with the ratios.
#
#   bash bench/run_gpu.sh [--reps N] [--build-dir DIR] [--no-build]
#
# Builds build-gpu/ (Release, CHORD_CUDA=ON) unless --no-build, then alternates chord and
# PyTorch (python3 with torch and CUDA; bench/*_reference.py --device cuda). Both use
# float32 without TF32. A ratio above 1 means chord is faster (reference ms / chord ms).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
reps=10 build_dir=build-gpu build=1
while (($#)); do
  case $1 in
    --reps) reps=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    --no-build) build=0 ;;
    *) echo "usage: $0 [--reps N] [--build-dir DIR] [--no-build]" >&2; exit 2 ;;
  esac
  shift
done
source bench/common.sh
if ((build)); then
  prefix=()
  [[ -d .deps ]] && prefix=("-DCMAKE_PREFIX_PATH=$PWD/.deps")
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCHORD_CUDA=ON -DCHORD_BUILD_EXAMPLES=OFF \
    -DCHORD_HEADER_CHECK=OFF -DCHORD_BUILD_BENCH=ON "${prefix[@]}" >/dev/null
  cmake --build "$build_dir" -j"$(nproc)" --target chord_bench_train_step chord_bench_generate >/dev/null
fi
py=$(bench_python)
log=$(mktemp)
"$build_dir/bench/train_step" S --device cuda --reps "$reps" --warmup 3 | tee -a "$log"
"$py" bench/train_step_reference.py S --device cuda --reps "$reps" --warmup 3 | tee -a "$log"
"$build_dir/bench/train_step" M --device cuda --reps "$reps" --warmup 2 | tee -a "$log"
"$py" bench/train_step_reference.py M --device cuda --reps "$reps" --warmup 2 | tee -a "$log"
"$build_dir/bench/generate" --device cuda --reps "$reps" --warmup 2 --breakdown | tee -a "$log"
"$py" bench/generate_reference.py --device cuda --reps "$reps" --warmup 2 | tee -a "$log"
echo
bench_ratio "$log" train_step_S_cuda torch_train_step_S_cuda "GPU train step, config S"
bench_ratio "$log" train_step_M_cuda torch_train_step_M_cuda "GPU train step, config M (target: > 1)"
bench_ratio "$log" generate_S_cuda torch_generate_S_cuda "GPU generation, config S (target: >= 3)"
rm -f "$log"
