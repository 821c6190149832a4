#!/usr/bin/env bash
# Fail when a file of src/ or tools/ includes a header of a layer it may not
# know (docs/ARCHITECTURE.md, "Layers": proto/ and core/ know nothing above
# them). The allowed dependencies are read from the table between the
# "layer rule begin" and "layer rule end" markers of docs/ARCHITECTURE.md,
# so the page and the check cannot disagree: the first column names a
# layer, the second the layers it may include besides itself, each in
# backquotes (`core/`, `engine`).
#
# A file's layer is its directory under src/ (src/core/x.c: core), `engine`
# for src/engine.[ch] and src/engine_tx.[ch], `main` for src/main.c, `tools` for tools/. An
# include "dir/name.h" belongs to layer dir, "engine.h" and "engine_tx.h" to engine, and a
# name without a directory must be a file beside the includer (its own
# layer). Only "..." includes count; <...> are system headers.
#
#   scripts/check-layers.sh [ROOT]    (default: the source tree this script is in)
#
# Exit 0 clean, 1 on a forbidden or unknown include, 2 when the table
# cannot be read. tests/unit/test_check_layers.sh plants bad includes in
# a copy of the tree to show that the check fails on them.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
doc=$root/docs/ARCHITECTURE.md
[ -r "$doc" ] || { echo "check-layers: cannot read $doc" >&2; exit 2; }

# "layer allowed..." per line, from the table.
rules=$(awk '
  /<!-- layer rule begin -->/ { on = 1; next }
  /<!-- layer rule end -->/   { on = 0; next }
  on && /^\|/ {
    n = split($0, col, "|")
    if (n < 4) next
    layer = ""; allowed = ""
    s = col[2]
    if (match(s, /`[a-z_]+\/?`/)) { layer = substr(s, RSTART + 1, RLENGTH - 2); sub(/\/$/, "", layer) }
    if (layer == "") next
    s = col[3]
    while (match(s, /`[a-z_]+\/?`/)) {
      d = substr(s, RSTART + 1, RLENGTH - 2); sub(/\/$/, "", d)
      allowed = allowed " " d
      s = substr(s, RSTART + RLENGTH)
    }
    print layer allowed
  }' "$doc")
[ -n "$rules" ] || { echo "check-layers: no layer table in $doc" >&2; exit 2; }

layer_of() { # path relative to root -> layer name, or empty
  case $1 in
    src/engine.c|src/engine.h|src/engine_tx.c|src/engine_tx.h) echo engine ;;
    src/main.c) echo main ;;
    src/*/*) local d=${1#src/}; echo "${d%%/*}" ;;
    tools/*) echo tools ;;
    *) echo "" ;;
  esac
}

bad=0
nfiles=0
while IFS= read -r f; do
  rel=${f#"$root"/}
  from=$(layer_of "$rel")
  allowed=$(printf '%s\n' "$rules" | awk -v l="$from" '$1 == l { $1 = ""; print; found = 1 } END { if (!found) print "?" }')
  if [ "$allowed" = "?" ]; then
    echo "$rel: layer '$from' is not in the table of docs/ARCHITECTURE.md"
    bad=1
    continue
  fi
  nfiles=$((nfiles + 1))
  while IFS=: read -r line inc; do
    [ -n "$line" ] || continue
    case $inc in
      engine.h|engine_tx.h) to=engine ;;
      */*) to=${inc%%/*} ;;
      *)
        if [ -e "$(dirname "$f")/$inc" ]; then
          to=$from
        else
          echo "$rel:$line: \"$inc\" names no layer (write it as \"dir/$inc\")"
          bad=1
          continue
        fi ;;
    esac
    [ "$to" = "$from" ] && continue
    case " $allowed " in
      *" $to "*) ;;
      *)
        echo "$rel:$line: $from/ may not include \"$inc\" (layer $to; $from may know:${allowed:- nothing})"
        bad=1 ;;
    esac
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
           sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/' || true)
done < <(find "$root/src" "$root/tools" -name '*.[ch]' 2>/dev/null | sort)

[ $nfiles -gt 0 ] || { echo "check-layers: no C files under $root/src" >&2; exit 2; }
if [ $bad -ne 0 ]; then
  echo "check-layers: includes against the layer rule (docs/ARCHITECTURE.md, \"Layers\")"
  exit 1
fi
echo "check-layers: $nfiles files keep the layer rule"
