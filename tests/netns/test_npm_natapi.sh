#!/usr/bin/env bash
# The nat-api family (@silentbot1/nat-api from npm, pinned in
# tests/npm/package-lock.json and installed by npm ci; nat-api and
# @motrix/nat-api send the same requests), run under node, UPnP only: it
# maps a port, then lists the mappings with its GetGenericPortMappingEntry
# loop, which sends index 0 as an empty NewPortMappingIndex and stops at
# the first error. igdd reads the empty index as 0 (docs/POLICY.md, "Known
# client bugs"), so the listing holds the library's own mapping.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require
lab_npm "$IGDD"
lab_up
lab_conf "$LAB_DIR/igdd.conf"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"

OUT=$LAB_DIR/natapi.jsonl
# (Every step in the script is bounded by the safety timeout.)
in_lan1 node "$NPM_DIR/npm_natapi.mjs" $LAN1_IP 7001 >"$OUT" 2>&1 ||
  { sed 's/^/  node: /' "$OUT"; lab_fail "nat-api exit"; }
$PY - "$OUT" $LAN1_IP <<'PYEOF' || { sed 's/^/  node: /' "$OUT"; lab_fail "nat-api listing"; }
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert {"mapped": True} in lines, lines
listing = [l["list"] for l in lines if "list" in l][0]
own = [m for m in listing if m["public"]["port"] == 7001 and m["protocol"] == "tcp"
       and m["private"] == {"host": sys.argv[2], "port": 7001}
       and m["description"] == "igdd-test nat-api"]
assert len(own) == 1 and len(listing) == 1, listing
assert {"unmapped": True} in lines, lines
PYEOF
lab_ok "nat-api: the listing shows its own mapping; unmapped"
grep -q 'DeletePortMapping TCP/7001' "$IGDD_LOG" || lab_fail "no delete in the log"
