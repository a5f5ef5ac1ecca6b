#!/usr/bin/env bash
# How long a program that includes chord takes to compile, header-only and in the compiled mode,
# against Eigen/Dense and <cstdio> compiled in the same run (the machines are shared and noisy:
# read the ratios).
#
#   bash bench/run_compile_time.sh [--rounds 3] [--cxx g++] [--flags "-O2"] [--breakdown]
#
# --breakdown times, instead, where a file's time goes (compile only, no link): the system headers
# <chord/tensor.hpp> includes, alone; the topic headers with an empty main (<chord/chord.hpp> also
# in the compiled mode); the hello world parsed only (-fsyntax-only); one elementwise product,
# one matmul, and the same matmul with only the portable kernels (CHORD_NO_X86_SIMD).
#
# First it compiles the compiled mode's library once (src/compiled/*.cpp, the same compiler and
# flags) and precompiles <chord/chord.hpp> for the compiled mode (the times are printed). Then
# each program is compiled and linked (CXX -std=c++20 FLAGS -fopenmp, one job at a time) ROUNDS
# times, interleaved: header-only; with -DCHORD_COMPILED, linked to the library's objects; and
# the same with the precompiled header (what CMake's target_precompile_headers does). The table
# gives the median CPU seconds (user + system: a compile runs on one core, so on a quiet machine
# that is its wall time, and on a shared one it leaves out what other programs took) and the
# ratio to Eigen/Dense's. The programs are the README's own code blocks, so the figures are what
# a reader of the README waits:
#   hello world, <chord/tensor.hpp>   the README's "Autograd in 15 lines"
#   hello world, <chord/chord.hpp>    the same program including everything
#   GPT program                       the README's GPT on a GPU (or the CPU) block: model, AdamW, generate
#   post-training snippet             the README's first block: a CHORD-phi Trainer, then sampling
#   the hello world in Eigen          its arithmetic in Eigen, backward written by hand: what a
#                                     header-only matrix library's matmul costs a file
#   Eigen/Dense                       `#include <Eigen/Dense>` and an empty main: the yardstick
#   <cstdio>                          `#include <cstdio>` and an empty main: the compiler's floor
# Environment: EIGEN_INCLUDE (default /usr/include/eigen3), STB_INCLUDE (default /usr/include/stb).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
rounds=3 cxx=${CXX:-g++} flags="-O2" breakdown=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --cxx) cxx="$2"; shift 2 ;;
    --flags) flags="$2"; shift 2 ;;
    --breakdown) breakdown=1; shift ;;
    *) echo "usage: $0 [--rounds N] [--cxx COMPILER] [--flags \"-O2\"] [--breakdown]" >&2; exit 2 ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "run_compile_time: --rounds needs a positive integer, got '$rounds'" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The README's blocks, found by what they contain (so that reordering the README moves nothing).
bash "$root/tools/extract_snippets.sh" cpp "$work/snippets" "$root/README.md" >/dev/null
snippet_with() {
  local hit
  hit=$(grep -lF -- "$1" "$work"/snippets/*.cpp | head -1 || true)
  [[ -n $hit ]] || { echo "run_compile_time: no C++ block of README.md contains '$1'" >&2; exit 1; }
  echo "$hit"
}
cp "$(snippet_with 'chord::tanh(chord::matmul')" "$work/hello_tensor.cpp"
grep -q '#include <chord/tensor.hpp>' "$work/hello_tensor.cpp" ||
  { echo "run_compile_time: the README's autograd block no longer includes <chord/tensor.hpp>" >&2; exit 1; }
sed 's|#include <chord/tensor.hpp>|#include <chord/chord.hpp>|' "$work/hello_tensor.cpp" >"$work/hello_chord.cpp"
cp "$(snippet_with 'nn::GPT<float> model')" "$work/gpt.cpp"
cp "$(snippet_with 'rl::Trainer<float> trainer')" "$work/post_training.cpp"
printf '#include <Eigen/Dense>\nint main() {}\n' >"$work/eigen_dense.cpp"
# The hello world's arithmetic in Eigen, the backward pass written by hand: what one matrix
# product, tanh and printing cost a header-only file in Eigen (one ISA, chosen at compile time).
cat >"$work/eigen_hello.cpp" <<'EOF_EIGEN'
#include <Eigen/Dense>
#include <iostream>

int main() {
  Eigen::MatrixXf x(2, 3), w(3, 2);
  x << 1, 2, 3, 4, 5, 6;
  w << 0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f;
  const Eigen::MatrixXf h = (x * w).array().tanh().matrix();
  const float loss = h.squaredNorm();
  const Eigen::MatrixXf dh = (2 * h.array() * (1 - h.array().square())).matrix();  // d loss / d (x w)
  const Eigen::MatrixXf dw = x.transpose() * dh;
  std::cout << "loss = " << loss << "\nd loss / d w =\n" << dw << "\n";
}
EOF_EIGEN
printf '#include <cstdio>\nint main() {}\n' >"$work/cstdio.cpp"

programs=(hello_tensor hello_chord gpt post_training eigen_hello eigen_dense cstdio)
declare -A label=(
  [hello_tensor]='hello world, `<chord/tensor.hpp>`' [hello_chord]='hello world, `<chord/chord.hpp>`'
  [gpt]='GPT program (model, AdamW, generate)' [post_training]='post-training snippet (`rl::Trainer`)'
  [eigen_hello]='the hello world in Eigen (backward by hand)' [eigen_dense]='`<Eigen/Dense>`, empty main' [cstdio]='`<cstdio>`, empty main')
declare -A times
read -r -a flag_words <<<"$flags"
compile() {  # compile OUTPUT SOURCES... [extra flags]: one program, compiled and linked
  "$cxx" -std=c++20 "${flag_words[@]}" -fopenmp -I"$root/include" -isystem "${EIGEN_INCLUDE:-/usr/include/eigen3}" \
    -isystem "${STB_INCLUDE:-/usr/include/stb}" "$@"
}
seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
# cpu_seconds COMMAND...: runs it and prints the CPU time it took, user + system, in seconds. A
# compile runs on one core, so on a quiet machine this is its wall time; on a shared one it
# leaves out the time other programs took the core.
cpu_seconds() {
  local TIMEFORMAT='%3U %3S' spent
  if ! spent=$({ time "$@" >"$work/last.log" 2>&1; } 2>&1); then
    echo "run_compile_time: this failed: $*" >&2
    cat "$work/last.log" >&2
    return 1
  fi
  awk '{ printf "%.2f", $1 + $2 }' <<<"$spent"
}

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

if ((breakdown)); then
  printf '#include <chord/tensor.hpp>\nint main() {}\n' >"$work/empty_tensor.cpp"
  printf '#include <chord/chord.hpp>\nint main() {}\n' >"$work/empty_chord.cpp"
  printf '#include <chord/tensor.hpp>\nint main() {\n  auto x = chord::Tensor<float>::ones({2, 3});\n  return (x * x).numel() == 6 ? 0 : 1;\n}\n' \
    >"$work/elementwise.cpp"
  printf '#include <chord/tensor.hpp>\nint main() {\n  auto x = chord::Tensor<float>::ones({2, 3});\n  return chord::matmul(x, x.t()).numel() == 4 ? 0 : 1;\n}\n' \
    >"$work/matmul.cpp"
  # The system headers chord's own headers include (g++ -H: those whose includers are all chord's),
  # alone: the floor under any file that includes <chord/tensor.hpp>.
  compile -H -fsyntax-only "$work/empty_tensor.cpp" 2>&1 >/dev/null |
    awk -v root="$root/include" '/^\.+ / {
      depth = index($0, " ") - 1; path[depth] = $2; ours = 1
      for (i = 1; i < depth; i++) if (index(path[i], root) != 1) ours = 0
      if (ours && index($2, root) != 1) print "#include \"" $2 "\""
    }' | sort -u >"$work/std_tensor.cpp"
  printf 'int main() {}\n' >>"$work/std_tensor.cpp"
  cases=(std_tensor empty_tensor empty_chord empty_chord_compiled hello_parse elementwise matmul matmul_portable)
  declare -A what=(
    [std_tensor]="the $(($(wc -l <"$work/std_tensor.cpp") - 1)) system headers \`<chord/tensor.hpp>\` includes, empty main"
    [empty_tensor]='`<chord/tensor.hpp>`, empty main' [empty_chord]='`<chord/chord.hpp>`, empty main'
    [empty_chord_compiled]='`<chord/chord.hpp>`, empty main, `-DCHORD_COMPILED` (declarations of non-template code only)'
    [hello_parse]='hello world, `<chord/tensor.hpp>`, `-fsyntax-only` (parsed and instantiated, no code)'
    [elementwise]='`ones` and `x * x`' [matmul]='`ones` and `matmul(x, x.t())`'
    [matmul_portable]='the same, `-DCHORD_NO_X86_SIMD` (portable kernels only)')
  declare -A args=(
    [std_tensor]="-c $work/std_tensor.cpp -o $work/o.o"
    [empty_tensor]="-c $work/empty_tensor.cpp -o $work/o.o" [empty_chord]="-c $work/empty_chord.cpp -o $work/o.o"
    [empty_chord_compiled]="-DCHORD_COMPILED -c $work/empty_chord.cpp -o $work/o.o"
    [hello_parse]="-fsyntax-only $work/hello_tensor.cpp" [elementwise]="-c $work/elementwise.cpp -o $work/o.o"
    [matmul]="-c $work/matmul.cpp -o $work/o.o" [matmul_portable]="-DCHORD_NO_X86_SIMD -c $work/matmul.cpp -o $work/o.o")
  declare -A took
  for ((r = 1; r <= rounds; r++)); do
    for c in "${cases[@]}"; do
      read -r -a case_args <<<"${args[$c]}"
      took[$c]+="$(cpu_seconds compile "${case_args[@]}") "
      last=${took[$c]% }; echo "round $r: $c ${last##* } s" >&2
    done
  done
  echo
  echo "Where a file's time goes: \`$cxx -std=c++20 $flags -fopenmp\`, compile only, CPU seconds (user + system), median of $rounds."
  echo
  echo "| program | s | per round |"
  echo "| --- | --: | --- |"
  for c in "${cases[@]}"; do
    printf '| %s | %.2f | %s |\n' "${what[$c]}" "$(median "${took[$c]}")" "${took[$c]% }"
  done
  exit 0
fi

# The compiled mode's library, once.
mkdir -p "$work/lib"
start=$(date +%s.%N)
for source in "$root"/src/compiled/*.cpp; do
  compile -DCHORD_COMPILED -c "$source" -o "$work/lib/$(basename "$source" .cpp).o"
done
library_seconds=$(seconds_since "$start")
echo "the compiled mode's library ($(ls "$root"/src/compiled/*.cpp | wc -l) files): $library_seconds s, once" >&2
# The compiled mode with <chord/chord.hpp> precompiled (docs/design.md: CMake's
# target_precompile_headers), once: g++ then uses $work/pch/chord.hpp.gch wherever a program is
# compiled with `-include $work/pch/chord.hpp` and the same flags (-Werror=invalid-pch: a PCH it
# cannot use fails the run instead of silently parsing the headers).
mkdir -p "$work/pch"
printf '#include <chord/chord.hpp>\n' >"$work/pch/chord.hpp"
pch_seconds=$(cpu_seconds compile -DCHORD_COMPILED -x c++-header "$work/pch/chord.hpp" -o "$work/pch/chord.hpp.gch")
echo "<chord/chord.hpp> precompiled for the compiled mode: $pch_seconds s, once" >&2

chord_programs=(hello_tensor hello_chord gpt post_training)
for ((r = 1; r <= rounds; r++)); do
  for p in "${programs[@]}"; do
    times[$p]+="$(cpu_seconds compile "$work/$p.cpp" -o "$work/$p") "
    last=${times[$p]% }; echo "round $r: $p ${last##* } s" >&2
    if [[ " ${chord_programs[*]} " == *" $p "* ]]; then
      times[$p-compiled]+="$(cpu_seconds compile -DCHORD_COMPILED "$work/$p.cpp" "$work"/lib/*.o -o "$work/$p-compiled") "
      last=${times[$p-compiled]% }; echo "round $r: $p (compiled mode) ${last##* } s" >&2
      times[$p-pch]+="$(cpu_seconds compile -DCHORD_COMPILED -Winvalid-pch -Werror=invalid-pch -include "$work/pch/chord.hpp" \
        "$work/$p.cpp" "$work"/lib/*.o -o "$work/$p-pch") "
      last=${times[$p-pch]% }; echo "round $r: $p (compiled mode, precompiled header) ${last##* } s" >&2
    fi
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
eigen=$(median "${times[eigen_dense]}")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//' || echo unknown)
echo
echo "Compile + link, \`$cxx -std=c++20 $flags -fopenmp\`, CPU seconds (user + system), median of $rounds ($("$cxx" --version | head -1); $cpu, $(nproc) cores)."
echo "Once, beforehand: the compiled mode's library, $library_seconds s (wall); <chord/chord.hpp> precompiled, $pch_seconds s."
echo
echo "| program | header-only s | x Eigen/Dense | compiled mode s | x Eigen/Dense | compiled + PCH s | x Eigen/Dense | per round (header-only; compiled; + PCH) |"
echo "| --- | --: | --: | --: | --: | --: | --: | --- |"
for p in "${programs[@]}"; do
  m=$(median "${times[$p]}")
  if [[ -n ${times[$p-compiled]:-} ]]; then
    c=$(median "${times[$p-compiled]}")
    h=$(median "${times[$p-pch]}")
    printf '| %s | %.2f | %s | %.2f | %s | %.2f | %s | %s; %s; %s |\n' "${label[$p]}" "$m" "$(ratio "$m" "$eigen")" \
      "$c" "$(ratio "$c" "$eigen")" "$h" "$(ratio "$h" "$eigen")" "${times[$p]% }" "${times[$p-compiled]% }" "${times[$p-pch]% }"
  else
    printf '| %s | %.2f | %s | | | | | %s |\n' "${label[$p]}" "$m" "$(ratio "$m" "$eigen")" "${times[$p]% }"
  fi
done
