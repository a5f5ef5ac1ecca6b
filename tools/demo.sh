#!/usr/bin/env bash
# Builds and runs chord's main demo.
#
#   bash tools/demo.sh [arguments for the demo]
#
# Installs the packages chord needs (apt-get; skipped when all are installed),
# configures build/ as tools/test.sh does, builds only the demo and runs it.
set -euo pipefail

# The demo: a program in examples/ (examples/$DEMO.cpp -> build/examples/$DEMO).
DEMO=autograd_basics

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=tools/common.sh
source tools/common.sh

chord_install_packages
chord_configure_main_build
chord_log "build examples/$DEMO"
cmake --build build -j"$(chord_jobs)" --target "chord_example_$DEMO"
chord_log "run build/examples/$DEMO $*"
exec "build/examples/$DEMO" "$@"
