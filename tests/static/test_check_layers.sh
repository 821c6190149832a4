#!/usr/bin/env bash
# scripts/check-layers.sh fails on includes against the layer rule: it is
# run on small trees with docs/ARCHITECTURE.md's table, one clean and
# others with one bad include planted each, and must answer 0 for the
# clean tree, 1 (naming the file and line) for each planted include and 2
# without its table. Then the real tree must keep the rule.
#
#   tests/static/test_check_layers.sh [SOURCE_DIR]
set -uo pipefail
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
check=$src/scripts/check-layers.sh
tmp=$(mktemp -d /tmp/igdd-layers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# make_tree: a clean tree of three layers and the real table.
make_tree() {
  rm -rf "$tmp/t"
  mkdir -p "$tmp/t/docs" "$tmp/t/src/util" "$tmp/t/src/proto" "$tmp/t/src/core" "$tmp/t/src/svc"
  cp "$src/docs/ARCHITECTURE.md" "$tmp/t/docs/"
  printf '#include <stdio.h>\n' >"$tmp/t/src/util/str.h"
  printf '#include "util/str.h"\n#include "str.h"\n' >"$tmp/t/src/util/str.c"
  printf '#include "util/str.h"\n' >"$tmp/t/src/proto/ctl.c"
  printf '#include "core/mapping.h"\n#include "util/str.h"\n' >"$tmp/t/src/core/mapping.c"
  printf '#include "core/mapping.h"\n#include "engine.h"\n' >"$tmp/t/src/svc/ctl.c"
}

# expect RC FILE LINE INCLUDE: plant INCLUDE as line LINE (1 or 2) of FILE, run the check.
expect() {
  local want=$1 file=$2 line=$3 inc=$4 out rc at
  at=$file:$line:
  [ "$line" -gt 0 ] || at=$file:   # LINE 0: the finding names the file
  make_tree
  mkdir -p "$(dirname "$tmp/t/$file")"
  { [ "$line" -gt 1 ] && printf '/* a comment line */\n'; printf '#include "%s"\n' "$inc"; } \
    >>"$tmp/t/$file.new"
  cat "$tmp/t/$file.new" >"$tmp/t/$file" 2>/dev/null; rm -f "$tmp/t/$file.new"
  out=$("$check" "$tmp/t" 2>&1); rc=$?
  if [ $rc -ne "$want" ]; then
    fail "$file including \"$inc\": exit $rc, expected $want"; echo "$out"
  elif [ "$want" -eq 1 ] && ! grep -q "^$at " <<<"$out"; then
    fail "$file including \"$inc\": the finding does not name $at"; echo "$out"
  else
    echo "ok: $file including \"$inc\" -> $rc"
  fi
}

make_tree
out=$("$check" "$tmp/t" 2>&1) || fail "the clean tree does not pass: $out"

expect 1 src/core/wanconn.c 2 "svc/action.h"    # core knows no svc
expect 1 src/core/policy.c 1 "conf/config.h"    # nor conf
expect 1 src/core/x.c 1 "engine.h"              # nor the engine
expect 1 src/proto/ctl.c 2 "core/mapping.h"     # proto knows no core
expect 1 src/util/log.c 1 "proto/ssdp.h"        # util knows nothing but util
expect 1 src/priv/guard.h 1 "backend/nft.h"     # the helper knows no backend
expect 1 src/core/y.c 1 "nowhere.h"             # a bare name that is not beside it
expect 1 src/newlayer/z.c 0 "util/str.h"        # a directory the table does not name
expect 0 src/svc/z.c 1 "core/pinhole.h"         # what the table allows passes

# Without its table the check cannot pass.
make_tree
sed -i '/layer rule begin/,/layer rule end/d' "$tmp/t/docs/ARCHITECTURE.md"
"$check" "$tmp/t" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "without the table: exit $rc, expected 2"

# The real tree keeps the rule.
"$check" "$src" || fail "the source tree breaks the layer rule"

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "all passed"
