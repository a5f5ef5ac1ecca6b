#!/usr/bin/env bash
# Everything chord checks on a GPU, in one go (a few minutes on an H100/H200):
#   1. build-gpu/: configure (Release + line info, CHORD_CUDA=ON, sm_90 unless CUDAARCHS says
#      otherwise) and build the GPU tests, the nvcc check and the GPU benchmarks only;
#   2. the nvcc check, the GPU tests (tests/test_cuda_*.cpp, GPU against CPU) and a short run of
#      examples/train_char_gpt --device cuda (training, a checkpoint, greedy decoding with the cache);
#      with --demo also the main demo, papers_in_miniature --quick --device cuda;
#   3. the GPU tests again under compute-sanitizer --tool memcheck (CHORD_CUDA_SYNC=1, so
#      that a fault is reported at the op that caused it);
#   4. the benchmarks beside PyTorch on the same GPU (bench/run_gpu.sh), with the ratios.
#
#   bash tools/gpu_check.sh [--skip-sanitizer] [--skip-bench] [--demo] [--reps N] [--prebuilt]
#
# --prebuilt skips steps 1's configure and build and runs the binaries already in build-gpu/
# (built on another x86-64 machine with the same CUDA major version, e.g. where the GPU time is
# scarce: build there with tools/gpu_check.sh's cmake line, carry build-gpu/ along).
# Every step has a time limit (CHORD_GPU_STEP_LIMIT seconds, 150 by default), so that one slow
# step cannot use up a short lease; a step stopped at its limit is reported as such.
#
# Logs (6 files): $OUT/gpu_{build,tests,memcheck,racecheck,bench,summary}.log when OUT is set
# (the device tool's output folder), else build-gpu/logs/.
# When .deps/ exists (tools/gpu_deps.sh: doctest, stb for a machine that cannot install
# packages) it is put on CMAKE_PREFIX_PATH. Exits non-zero if a step failed; every step runs.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
sanitizer=1 bench=1 demo=0 reps=10 prebuilt=0
step_limit=${CHORD_GPU_STEP_LIMIT:-150}
while (($#)); do
  case $1 in
    --skip-sanitizer) sanitizer=0 ;;
    --skip-bench) bench=0 ;;
    --demo) demo=1 ;;
    --reps) reps=$2; shift ;;
    --prebuilt) prebuilt=1 ;;
    *) echo "usage: $0 [--skip-sanitizer] [--skip-bench] [--demo] [--reps N] [--prebuilt]" >&2; exit 2 ;;
  esac
  shift
done
logs=${OUT:-build-gpu/logs}
mkdir -p "$logs"
start=$SECONDS
failed=()
summary=()
step() {  # step NAME LOGFILE COMMAND...: runs the command (at most step_limit seconds), appends its output to the log, records the result
  local name=$1 log=$logs/$2
  shift 2
  echo
  echo "==> $name ($(date +%T), $((SECONDS - start)) s in)" | tee -a "$log"
  local t0=$SECONDS
  timeout --kill-after=10 "$step_limit" "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]} verdict=ok
  ((rc == 124 || rc == 137)) && verdict="STOPPED at the ${step_limit} s limit"
  ((rc != 0 && rc != 124 && rc != 137)) && verdict="FAILED ($rc)"
  # 77: tests skipped (tests/test_skip.hpp), e.g. a GPU run where the device is not visible.
  ((rc == 77)) && verdict="FAILED: tests SKIPPED (exit 77; is the GPU visible?)"
  summary+=("$(printf '%-52s %s (%d s)' "$name" "$verdict" $((SECONDS - t0)))")
  ((rc == 0)) || failed+=("$name")
  return "$rc"
}

rm -f "$logs"/gpu_{build,tests,memcheck,racecheck,bench,summary}.log
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee -a "$logs/gpu_summary.log"
nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
"$nvcc_bin" --version | tail -2 | tee -a "$logs/gpu_summary.log"

prefix=()
[[ -d .deps ]] && prefix=("-DCMAKE_PREFIX_PATH=$PWD/.deps")
export CUDACXX=${CUDACXX:-$nvcc_bin}
if ((prebuilt)); then
  for binary in tests/chord_cuda_tests tests/chord_nvcc_check bench/train_step bench/generate examples/train_char_gpt; do
    [[ -x build-gpu/$binary ]] || { echo "--prebuilt: build-gpu/$binary is missing" >&2; exit 1; }
  done
elif ! step "configure build-gpu/" gpu_build.log \
  cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" \
  -DCHORD_CUDA=ON -DCHORD_BUILD_EXAMPLES=ON -DCHORD_HEADER_CHECK=OFF -DCHORD_BUILD_BENCH=ON "${prefix[@]}"; then
  echo "configure failed: see $logs/gpu_build.log"
  exit 1
fi
examples=(chord_example_train_char_gpt)
((demo)) && examples+=(chord_example_papers_in_miniature)
if ((!prebuilt)) && ! step "build (GPU tests, nvcc check, benchmarks, examples)" gpu_build.log \
  cmake --build build-gpu -j"$(nproc)" --target chord_cuda_tests chord_nvcc_check chord_bench_train_step \
  chord_bench_generate "${examples[@]}"; then
  echo "build failed: see $logs/gpu_build.log"
  exit 1
fi

step "nvcc check (a kernel and a chord op)" gpu_tests.log build-gpu/tests/chord_nvcc_check
step "GPU tests" gpu_tests.log build-gpu/tests/chord_cuda_tests --duration=true
step "train_char_gpt --device cuda (60 steps)" gpu_tests.log \
  build-gpu/examples/train_char_gpt --device cuda --steps 60 --out build-gpu/runs/char_gpt
if ((demo)); then
  step "papers_in_miniature --quick --device cuda" gpu_tests.log \
    build-gpu/examples/papers_in_miniature --quick --device cuda --out build-gpu/runs/miniature
fi
if ((sanitizer)); then
  sanitizer_bin=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  step "GPU tests under compute-sanitizer memcheck" gpu_memcheck.log \
    env CHORD_CUDA_SYNC=1 "$sanitizer_bin" --tool memcheck --error-exitcode 3 --print-limit 20 \
    build-gpu/tests/chord_cuda_tests "--test-case-exclude=*larger than the GPU*"
  # (that test's cudaMalloc fails on purpose, which memcheck reports as an API error.)
  # The kernels that share memory within a block (attention, row reductions, reductions); the
  # patterns avoid commas, which separate doctest's filters.
  step "block-kernel tests under compute-sanitizer racecheck" gpu_racecheck.log \
    env CHORD_CUDA_SYNC=1 "$sanitizer_bin" --tool racecheck --error-exitcode 3 --print-limit 20 \
    build-gpu/tests/chord_cuda_tests \
    "--test-case=*causal_attention equals*,*gradcheck of embedding*,*log_softmax and cross_entropy*,*index_select and token log-probs*,*argmin over dims*,*cuda sampling*"
fi
if ((bench)); then
  step "GPU benchmarks beside PyTorch" gpu_bench.log bash bench/run_gpu.sh --no-build --reps "$reps"
fi

echo
echo "==> summary ($((SECONDS - start)) s)"
printf '%s\n' "${summary[@]}" | tee -a "$logs/gpu_summary.log"
grep -h "^GPU \|->" "$logs/gpu_bench.log" 2>/dev/null | tee -a "$logs/gpu_summary.log"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}" | tee -a "$logs/gpu_summary.log"
  exit 1
fi
echo "all GPU checks passed" | tee -a "$logs/gpu_summary.log"
