#!/usr/bin/env bash
# Checks that every file the documentation and the code comments cite exists in the
# repository. Exits 0 when all do; otherwise prints each broken reference as
# "file:line: missing PATH" and exits 1.
#
#   bash tools/check_references.sh        # from any folder: it checks its own checkout
#
# Needs bash 4+, coreutils, grep and sed; no Python.
#
# What is scanned
#   Markdown: README.md, CHANGELOG.md (when present), every *.md under docs/, bench/README.md.
#     M1. Links and images [text](target) outside code: the target is resolved relative
#         to the Markdown file and must exist inside the repository. In "file.md#anchor"
#         the anchor must be a heading of file.md (GitHub's rule: lower case, punctuation
#         dropped, spaces become "-").
#     M2. Inside `inline code` and fenced code blocks: words that look like repository
#         files (rule P).
#     M3. Anywhere: bare Markdown names in capitals (rule C).
#   Code: *.hpp *.h *.cpp *.cu *.sh *.py *.cmake and CMakeLists.txt under include/ src/
#   tests/ bench/ examples/ tools/ cmake/, and the top-level CMakeLists.txt.
#     Only comment text: after "//" in C++ and CUDA, after "#" in shell and CMake; in
#     Python every line (its docstrings are its comments). In it: rule P and rule C.
#
# Rule P. A word that contains a "/" and ends in .hpp .h .cpp .cu .cuh .py .sh .md
#   .cmake or .png (an "#anchor" may follow) is a cited file. It must be found relative
#   to one of: the repository root, the citing file's folder, include/, include/chord/.
#   So "chord/rl/trainer.hpp" and "rl/trainer.hpp" both mean include/chord/rl/trainer.hpp.
#   A "*" in it is a glob that must match something.
# Rule C. A bare name in capitals, such as README.md or CHANGELOG.md, names a document;
#   it must be found relative to the repository root or the citing file's folder.
#   (Lower-case bare names such as results.md are what programs write: not checked.)
#
# Not checked, to keep false positives out:
#   - URLs (anything with "://", mailto:) and anchor-only links "(#section)";
#   - paths under build*/ or runs/ (what commands write), absolute paths, "~/...";
#   - words with placeholders: < > $ { }, and the placeholder names FILE.md, PATH.md, NAME.md;
#   - a path whose first folder exists in none of the four places of rule P: it names
#     another project's file (torch/_tensor_str.py);
#   - Markdown indented code blocks, and this script itself.

set -euo pipefail
shopt -s extglob globstar nullglob

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SELF=tools/check_references.sh
FAILURES=0

EXT='(hpp|h|cpp|cu|cuh|py|sh|md|cmake|png)'
PATH_WORD="^[A-Za-z0-9_.*~/<>\$\{\}-]*/[A-Za-z0-9_.*<>\$\{\}-]*\.$EXT(#[A-Za-z0-9_-]+)?\$"
CAPS_NAME='(^|[^A-Za-z0-9_./-])([A-Z][A-Z0-9_]*\.md)([^A-Za-z0-9_]|$)'
URL='[A-Za-z][A-Za-z0-9+.-]*://[^[:space:]]*'
PLACEHOLDERS=" FILE.md PATH.md NAME.md "

# report FILE LINE WHAT: prints one broken reference and counts it.
report() {
  printf '%s:%s: %s\n' "$1" "$2" "$3"
  FAILURES=$((FAILURES + 1))
}

# folder_of FILE: the absolute folder of a file given relative to the root.
folder_of() {
  local f=$ROOT/$1
  printf '%s' "${f%/*}"
}

# without_urls TEXT: TEXT with every URL blanked out (sets REPLY).
without_urls() {
  REPLY=$1
  while [[ $REPLY =~ $URL ]]; do REPLY=${REPLY/"${BASH_REMATCH[0]}"/ }; done
}

# is_ignored PATH: true for words that are not repository files by rule.
is_ignored() {
  local p=$1 first
  case $p in
    *://* | mailto:* | /* | '~'* | *'<'* | *'>'* | *'$'* | *'{'* | *'}'*) return 0 ;;
  esac
  first=$p
  while [[ $first == ./* || $first == ../* ]]; do first=${first#*/}; done
  first=${first%%/*}
  [[ $first == build* || $first == runs ]]
}

# inside_repo PATH: true when the absolute PATH, normalized, lies inside the repository
# (sets REPLY to the normalized path).
inside_repo() {
  REPLY=$1
  [[ $REPLY == */.* ]] && REPLY=$(realpath -m -- "$REPLY")  # only paths with . or .. need it
  [[ $REPLY == "$ROOT" || $REPLY == "$ROOT"/* ]]
}

# exists_at PATH: true when PATH (a glob when it holds "*") names a file or folder.
exists_at() {
  if [[ $1 == *'*'* ]]; then
    compgen -G "$1" >/dev/null
  else
    [[ -e $1 ]]
  fi
}

# resolve WORD DIR: rule P's search for WORD cited from folder DIR. Sets REPLY to the
# file found; returns 1 when none is found, 2 when WORD is another project's path.
resolve() {
  local p=$1 dir=$2 base first foreign=1
  first=${p%%/*}
  for base in "$ROOT" "$dir" "$ROOT/include" "$ROOT/include/chord"; do
    if [[ $first == . || $first == .. || -d $base/$first ]]; then
      foreign=0
      if inside_repo "$base/$p" && exists_at "$REPLY"; then return 0; fi
    fi
  done
  ((foreign)) && return 2
  return 1
}

# anchors_of MARKDOWN_FILE: prints the anchors of its headings outside fenced code, as
# GitHub makes them; a repeated heading gets -1, -2, ...
declare -A ANCHOR_CACHE=()
anchors_of() {
  local file=$1 line slug fence=0 out=""
  if [[ -z ${ANCHOR_CACHE[$file]+x} ]]; then
    declare -A seen=()
    while IFS= read -r line || [[ -n $line ]]; do
      if [[ $line =~ ^\ {0,3}(\`\`\`|~~~) ]]; then
        fence=$((1 - fence))
        continue
      fi
      ((fence)) && continue
      [[ $line =~ ^#{1,6}\ +(.*[^#\ ])[#\ ]*$ ]] || continue
      slug=${BASH_REMATCH[1],,}
      slug=${slug//[^a-z0-9 _-]/}
      slug=${slug// /-}
      if [[ -n ${seen[$slug]+x} ]]; then
        seen[$slug]=$((seen[$slug] + 1))
        slug=$slug-${seen[$slug]}
      else
        seen[$slug]=0
      fi
      out+=$slug$'\n'
    done <"$file"
    ANCHOR_CACHE[$file]=$out
  fi
  printf '%s' "${ANCHOR_CACHE[$file]}"
}

# check_anchor FILE LINE TARGET ANCHOR: ANCHOR must be a heading of the Markdown file TARGET.
check_anchor() {
  local file=$1 line=$2 target=$3 anchor=$4
  [[ -z $anchor || $target != *.md || ! -f $target ]] && return 0
  anchors_of "$target" | grep -qxF -- "$anchor" ||
    report "$file" "$line" "missing anchor #$anchor in ${target#"$ROOT"/}"
}

# check_word FILE LINE WORD: rule P for one word that FILE cites at LINE.
check_word() {
  local file=$1 line=$2 word=$3 path anchor="" status=0
  path=${word%%#*}
  [[ $word == *#* ]] && anchor=${word#*#}
  is_ignored "$path" && return 0
  resolve "$path" "$(folder_of "$file")" || status=$?
  case $status in
    0) check_anchor "$file" "$line" "$REPLY" "$anchor" ;;
    1) report "$file" "$line" "missing $path" ;;
  esac
}

# check_words FILE LINE TEXT: rule P for every word of TEXT.
check_words() {
  local file=$1 line=$2 text=$3 w
  [[ $text =~ \.$EXT ]] || return 0  # fast path: nothing that could be a cited file
  without_urls "$text"
  text=${REPLY//[\]\[\"\'\`\(\)\,\;\:\=\|$'\t']/ }
  set -f
  for w in $text; do
    w=${w%%+([.,!?])}
    [[ $w =~ $PATH_WORD ]] && check_word "$file" "$line" "$w"
  done
  set +f
}

# check_caps FILE LINE TEXT: rule C for every bare capitalized Markdown name in TEXT.
check_caps() {
  local file=$1 line=$2 text=$3 name
  while [[ $text =~ $CAPS_NAME ]]; do
    name=${BASH_REMATCH[2]}
    text=${text#*"${BASH_REMATCH[0]}"}  # past this match, before another test resets BASH_REMATCH
    [[ $PLACEHOLDERS == *" $name "* ]] && continue
    [[ -e $ROOT/$name || -e $(folder_of "$file")/$name ]] || report "$file" "$line" "missing $name"
  done
}

# check_link FILE LINE TARGET: rule M1 for one Markdown link target.
check_link() {
  local file=$1 line=$2 target=$3 path anchor=""
  target=${target%% *}  # drop a title: (path "title")
  target=${target#<}
  target=${target%>}
  case $target in
    '' | '#'* | *://* | mailto:*) return 0 ;;
  esac
  path=${target%%#*}
  [[ $target == *#* ]] && anchor=${target#*#}
  is_ignored "$path" && return 0
  if ! inside_repo "$(folder_of "$file")/$path"; then
    report "$file" "$line" "link outside the repository: $path"
  elif [[ ${REPLY#"$ROOT"/} == build* || ${REPLY#"$ROOT"/} == runs?(/*) ]]; then
    return 0
  elif [[ ! -e $REPLY ]]; then
    report "$file" "$line" "missing $path (link)"
  else
    check_anchor "$file" "$line" "$REPLY" "$anchor"
  fi
}

# check_markdown FILE: rules M1, M2 and M3 on one Markdown file (relative to the root).
check_markdown() {
  local file=$1 n=0 line fence=0 rest match inner
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    if [[ $line =~ ^\ {0,3}(\`\`\`|~~~) ]]; then
      fence=$((1 - fence))
      continue
    fi
    check_caps "$file" "$n" "$line"
    if ((fence)); then
      check_words "$file" "$n" "$line"
      continue
    fi
    # Inline code spans: rule P on their words; the rest of the line: links.
    rest=$line
    while [[ $rest =~ \`([^\`]+)\` ]]; do
      match=${BASH_REMATCH[0]} inner=${BASH_REMATCH[1]}  # the checks below reuse BASH_REMATCH
      rest=${rest/"$match"/ }
      check_words "$file" "$n" "$inner"
    done
    while [[ $rest =~ \]\(([^\)]+)\) ]]; do
      match=${BASH_REMATCH[0]} inner=${BASH_REMATCH[1]}
      rest=${rest/"$match"/ }
      check_link "$file" "$n" "$inner"
    done
  done <"$ROOT/$file"
}

# check_code FILE: rules P and C on the comment text of one source file.
check_code() {
  local file=$1 numbered n text
  # Only lines that mention a cited-file extension can cite one (fast: one grep per file).
  while IFS= read -r numbered; do
    n=${numbered%%:*}
    without_urls "${numbered#*:}"
    text=$REPLY
    case $file in
      *.py) ;;  # every line
      *.sh | *.cmake | *CMakeLists.txt)
        [[ $text == *'#'* ]] || continue
        text=${text#*#} ;;
      *)
        [[ $text == *//* ]] || continue
        text=${text#*//} ;;
    esac
    check_words "$file" "$n" "$text"
    check_caps "$file" "$n" "$text"
  done < <(grep -nE "\.$EXT([^A-Za-z0-9_]|$)" "$ROOT/$file" || true)
}

# The files of each kind, relative to the root (bash globs, so no find is needed).
markdown_files() {
  local f
  for f in README.md CHANGELOG.md bench/README.md docs/**/*.md; do
    [[ -f $f ]] && printf '%s\n' "$f"
  done
  return 0
}
code_files() {
  local f
  for f in CMakeLists.txt {include,src,tests,bench,examples,tools,cmake}/**/*; do
    [[ -f $f && $f != "$SELF" ]] || continue
    case $f in
      *.hpp | *.h | *.cpp | *.cu | *.sh | *.py | *.cmake | *CMakeLists.txt) printf '%s\n' "$f" ;;
    esac
  done
}

main() {
  local f
  while IFS= read -r f; do check_markdown "$f"; done < <(markdown_files)
  while IFS= read -r f; do check_code "$f"; done < <(code_files)
  if ((FAILURES)); then
    printf 'check_references: %d broken reference(s)\n' "$FAILURES" >&2
    exit 1
  fi
  echo "check_references: every cited file exists"
}

main "$@"
