#!/usr/bin/env bash
# Builds and runs chord's main demo, the papers in miniature (examples/papers_in_miniature.cpp):
# the base policy, then SFT, GRPO, SFT-then-RL, LUFFY, CHORD-mu and CHORD-phi from it, evaluated,
# with results.md and curves.png in runs/miniature/. About 12 minutes on 2 cores; --quick: 2.
#
#   bash tools/demo.sh [arguments for the demo]
#
# Installs the packages chord needs (apt-get; skipped when all are installed),
# configures build/ as tools/test.sh does, builds only the demo and runs it.
set -euo pipefail

# The demo: a program in examples/ (examples/$DEMO.cpp -> build/examples/$DEMO).
DEMO=papers_in_miniature

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=tools/common.sh
source tools/common.sh

chord_install_packages
chord_configure_main_build
# Idle OpenMP threads sleep rather than spin: on a machine where other programs
# want the cores too, spinning threads that lose their core stall every step.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
chord_log "build examples/$DEMO"
cmake --build build -j"$(chord_jobs)" --target "chord_example_$DEMO"
chord_log "run build/examples/$DEMO $*"
exec "build/examples/$DEMO" "$@"
