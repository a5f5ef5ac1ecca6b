#!/usr/bin/env bash
# Checks chord's layering: each header includes only headers of its own layer or of the
# layers below it (docs/design.md, "Layers"). Exits 0 when every include is allowed;
# otherwise prints each offending line as "file:line: LAYER includes HEADER (layer L2)"
# and exits 1.
#
#   bash tools/check_layers.sh               # checks this checkout's include/chord/
#   bash tools/check_layers.sh DIR           # checks DIR (an include/chord/ folder)
#   bash tools/check_layers.sh --self-test   # shows that the check catches a violation
#
# The layers, lowest first (a header may include its own layer and any earlier one):
#   core, backend, autograd, ops, nn, optim, io, sample, rl, tasks
# Inside backend: backend/cpu/ and backend/cuda/ are siblings and include neither each other
# nor the rest of backend/ (the per-family dispatch, which includes them both).
# The topic headers at the top (chord/tensor.hpp, nn.hpp, ...) count as the highest layer they
# include, chord/version.hpp as the lowest.
#
# Needs bash 4+, grep and sed; no Python.
set -euo pipefail

layers=(core backend autograd ops nn optim io sample rl tasks)
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done
# Topic headers: the layer of their highest include.
declare -A topic_rank=([version.hpp]=-1 [tensor.hpp]=${rank[ops]} [nn.hpp]=${rank[nn]} [optim.hpp]=${rank[optim]}
  [io.hpp]=${rank[io]} [sample.hpp]=${rank[sample]} [rl.hpp]=${rank[rl]} [tasks.hpp]=${rank[tasks]} [chord.hpp]=99)

# Prints the violations in include directory $1; returns 1 when there is one.
check_dir() {
  local root=$1 bad=0 file rel layer sub line num target tlayer trank tsub
  while IFS= read -r file; do
    rel=${file#"$root"/}
    [[ $rel == */* ]] || continue  # a topic header: it may include anything
    layer=${rel%%/*}
    [[ -n ${rank[$layer]+x} ]] || { echo "$file: not in a known layer ($layer)"; bad=1; continue; }
    sub=$(cut -d/ -f2 <<<"$rel")
    while IFS= read -r line; do
      num=${line%%:*}
      target=$(sed -E 's/^[0-9]+:[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]chord\/([^>"]+)[>"].*/\1/' <<<"$line")
      if [[ $target == */* ]]; then
        tlayer=${target%%/*}
        [[ -n ${rank[$tlayer]+x} ]] || { echo "$file:$num: includes chord/$target (no such layer)"; bad=1; continue; }
        trank=${rank[$tlayer]}
      else
        [[ -n ${topic_rank[$target]+x} ]] || { echo "$file:$num: includes chord/$target (no such header)"; bad=1; continue; }
        trank=${topic_rank[$target]}
        tlayer="the topic header"
      fi
      if ((trank > ${rank[$layer]})); then
        echo "$file:$num: $layer includes chord/$target ($tlayer is above $layer)"
        bad=1
      elif [[ $layer == backend && $tlayer == backend && ($sub == cpu || $sub == cuda) ]]; then
        tsub=$(cut -d/ -f2 <<<"$target")
        if [[ $tsub != "$sub" && $tsub == *.hpp ]]; then
          # backend/cpu and backend/cuda may use backend's shared helpers (functors, host_device)
          # but not the dispatch, which sits above them.
          case $tsub in functors.hpp | host_device.hpp) ;; *)
            echo "$file:$num: backend/$sub includes chord/$target (the dispatch is above the kernels)"; bad=1 ;;
          esac
        elif [[ $tsub != "$sub" ]]; then
          echo "$file:$num: backend/$sub includes chord/$target (cpu and cuda are siblings)"
          bad=1
        fi
      fi
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]chord/' "$file" || true)
  done < <(find "$root" -name '*.hpp' | sort)
  return $bad
}

if [[ ${1:-} == --self-test ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/core" "$tmp/ops" "$tmp/backend/cpu" "$tmp/backend/cuda"
  printf '#include "chord/core/error.hpp"\n' >"$tmp/ops/good.hpp"
  printf '#include "chord/core/error.hpp"\n' >"$tmp/backend/cpu/good.hpp"
  check_dir "$tmp" >/dev/null || { echo "check_layers self-test: a clean tree was refused"; exit 1; }
  # Each case: the folder of a planted header, a bar, the line it holds.
  for bad in 'core|#include "chord/backend/cuda/runtime.hpp"' 'ops|#include <chord/nn/gpt.hpp>' \
             'core|#include "chord/tensor.hpp"' 'backend/cpu|#include "chord/backend/cuda/gemm.hpp"'; do
    file="${bad%%|*}/planted.hpp"
    printf '%s\n' "${bad#*|}" >"$tmp/$file"
    if check_dir "$tmp" >/dev/null; then echo "check_layers self-test: missed '${bad#*|}' in $file"; exit 1; fi
    rm "$tmp/$file"
  done
  echo "check_layers self-test: every planted violation was caught"
  exit 0
fi

root=${1:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/include/chord"}
if check_dir "$root"; then
  echo "check_layers: every header of $root includes only its own layer or the ones below"
else
  echo "check_layers: the headers above include a layer above their own (docs/design.md, \"Layers\")"
  exit 1
fi
