#!/usr/bin/env bash
# Extracts the fenced code blocks of one language from Markdown files, one file per block,
# so that the documentation's code can be compiled and run as written.
#
#   bash tools/extract_snippets.sh LANG OUT_DIR FILE.md...
#
# A block is a line "```LANG" up to the next line "```". Block n (1, 2, ...) of FILE.md is
# written to OUT_DIR/<FILE.md's path, "/" and "." as "_">_<n>.<LANG> (README.md's second cpp
# block: README_md_2.cpp). A file whose content did not change keeps its timestamp, so a
# build does not recompile it; files of blocks that no longer exist are removed. Paths are
# relative to the current directory. Prints the written paths, one a line.
set -euo pipefail

if (($# < 2)); then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
lang=$1 out=$2
shift 2
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for md in "$@"; do
  [[ -f $md ]] || { echo "extract_snippets: no file '$md'" >&2; exit 1; }
  stem=$(printf '%s' "$md" | sed 's|^\./||; s|[/.]|_|g')
  # awk: inside a block, each line goes to the block's file; a fence opens or closes one.
  awk -v lang="$lang" -v dir="$tmp" -v stem="$stem" '
    !inside && $0 == "```" lang { inside = 1; n++; file = sprintf("%s/%s_%d.%s", dir, stem, n, lang); printf "" > file; next }
    inside && $0 == "```" { inside = 0; close(file); next }
    inside { print >> file }
    END { if (inside) { printf "extract_snippets: %s: a ```%s block is not closed\n", FILENAME, lang > "/dev/stderr"; exit 1 } }
  ' "$md"
done

# Replace only what changed; drop what is gone.
for f in "$out"/*."$lang"; do
  [[ -e $f ]] || continue
  [[ -e $tmp/$(basename "$f") ]] || rm -f "$f"
done
for f in "$tmp"/*."$lang"; do
  [[ -e $f ]] || continue
  target=$out/$(basename "$f")
  cmp -s "$f" "$target" 2>/dev/null || cp "$f" "$target"
  echo "$target"
done
