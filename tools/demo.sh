#!/usr/bin/env bash
# Builds chord's examples and runs the main demo, the papers in miniature
# (examples/papers_in_miniature.cpp, docs/miniature.md): the base policy, then SFT, GRPO,
# SFT-then-RL, LUFFY, CHORD-mu and CHORD-phi from it, evaluated, with results.md, curves.png
# and findings.png in runs/miniature/. About 9 minutes on 2 cores; --quick: under 2;
# --full (3 seeds and the ablations): see the README.
#
#   bash tools/demo.sh [--cpu] [arguments for the demo]
#
#   --cpu       build the CPU backend only, even where nvcc is installed (the same as
#               CHORD_CPU_ONLY=1 in the environment); saves compiling the CUDA code on a
#               machine without a GPU
#   --help      this text; the demo's own options: build/examples/papers_in_miniature --help
#
# Installs the packages chord needs (apt-get; skipped when all are installed), configures
# build/ as tools/test.sh does, builds every program in examples/ (build/examples/: the
# demo, train_char_gpt, sample, autograd_basics) and runs the demo with the other arguments.
set -euo pipefail

# The demo: a program in examples/ (examples/$DEMO.cpp -> build/examples/$DEMO).
DEMO=papers_in_miniature

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

demo_args=()
for arg in "$@"; do
  case $arg in
    --cpu) export CHORD_CPU_ONLY=1 ;;
    -h | --help) usage; exit 0 ;;
    *) demo_args+=("$arg") ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=tools/common.sh
source tools/common.sh

chord_install_packages
chord_configure_main_build
chord_log "build the examples (build/examples/)"
cmake --build build -j"$(chord_jobs)" --target chord_examples
chord_log "run build/examples/$DEMO ${demo_args[*]}"
exec "build/examples/$DEMO" "${demo_args[@]}"
