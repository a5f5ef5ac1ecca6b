#!/usr/bin/env bash
# The kill test: a training run killed with SIGKILL over and over, at every step of its checkpoint
# saves and at random moments, and resumed each time, must end bit-identical to a run that was
# never interrupted.
#
#   bash tools/kill_test.sh              # 60 training steps, random seed 1
#   bash tools/kill_test.sh STEPS SEED
#
# Builds build-kill/kill_train (tests/kill/kill_train.cpp: a tiny GPT trained with CHORD-phi by
# rl::Trainer, a checkpoint every step) and build-kill/kill_test (tests/kill/kill_test.cpp, the
# driver), then runs the driver: a reference run, then the killed run (every kill and what it
# interrupted is printed), then the comparison of the final checkpoints and metric logs. Ends
# with "kill test: N kills (K inside a save), M resumes, final weights identical", or fails.
# The runs go to a temporary directory (in /dev/shm when there is one), removed afterwards unless
# the test fails.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
case ${1:-} in -h | --help) usage; exit 0 ;; esac
steps=${1:-60}
seed=${2:-1}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=tools/common.sh
source tools/common.sh
chord_install_packages

out=build-kill
mkdir -p "$out"
flags=(-std=c++20 -O2 -g1 -pthread -fopenmp-simd -Wall -Wextra -Iinclude)
# Rebuilds $1 from $2 unless $1 is newer than $2 and every header.
build() {
  local binary=$1 source=$2
  shift 2
  if [[ -x $binary ]] && [[ -z $(find include "$source" -newer "$binary" -type f -print -quit) ]]; then
    echo "  $binary: up to date"
    return 0
  fi
  echo "  $binary <- $source"
  c++ "${flags[@]}" "$source" -o "$binary.tmp" "$@" && mv "$binary.tmp" "$binary"
}
chord_log "build $out/"
build "$out/kill_train" tests/kill/kill_train.cpp -ldl
build "$out/kill_test" tests/kill/kill_test.cpp

base=${TMPDIR:-/tmp}
if [[ -d /dev/shm && -w /dev/shm ]]; then base=/dev/shm; fi
work=$(mktemp -d "$base/chord-kill-test.XXXXXX")
chord_log "kill test: $steps steps, seed $seed, in $work"
if "$out/kill_test" "$out/kill_train" "$work" "$steps" "$seed"; then
  rm -rf "$work"
else
  echo "kill test: FAILED; the runs and their logs are in $work"
  exit 1
fi
