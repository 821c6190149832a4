#!/usr/bin/env bash
# libp2p's NAT mapper, @achingbrain/nat-port-mapper from npm (pinned in
# tests/npm/package-lock.json, installed by npm ci), run under node: it
# maps a port for TCP and UDP with AddAnyPortMapping, then unmaps it with
# DeletePortMapping and NewProtocol empty (once per mapping, ignoring
# errors). igdd deletes the control point's TCP and UDP entries at that
# port at the first call (docs/POLICY.md, "Known client bugs"), so
# nothing is left behind.
set -u
IGDD=$(readlink -f "$1")
CTL=$(dirname "$IGDD")/igddctl
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require
[ -x "$CTL" ] || lab_skip "igddctl not built beside igdd"
lab_npm "$IGDD"
lab_up
lab_conf "$LAB_DIR/igdd.conf"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
ctl() { timeout $LAB_T "$CTL" -s "$LAB_DIR/igdd.sock" "$@" 2>&1; }

OUT=$LAB_DIR/pm.jsonl
# (Every step in the script is bounded by the safety timeout.)
lab_bg $NS_LAN1 node "$NPM_DIR/npm_natportmapper.mjs" $LAN1_IP 4001 "$LAB_DIR/release" \
  >"$OUT" 2>&1
NPID=$LAB_PID
said_or_gone() { [ "$(grep -c '"mapped"' "$OUT")" -ge 2 ] || lab_gone $NPID; }
lab_until said_or_gone
[ "$(grep -c '"mapped"' "$OUT")" = 2 ] || { sed 's/^/  node: /' "$OUT"; touch "$LAB_DIR/release"; lab_fail "nat-port-mapper did not map TCP and UDP"; }
list=$(ctl list)
for p in TCP UDP; do
  echo "$list" | grep -Eq "^$p +4001 +\\* +$LAN1_IP:4001 +yes .* upnp +$LAN1_IP +\"igdd-test libp2p\"" ||
    { echo "$list" | sed 's/^/  | /'; touch "$LAB_DIR/release"; lab_fail "no $p entry at 4001"; }
done
lab_ok "nat-port-mapper mapped TCP and UDP 4001"
touch "$LAB_DIR/release"
wait $NPID || { sed 's/^/  node: /' "$OUT"; lab_fail "nat-port-mapper exit"; }
grep -q '"stopped":true' "$OUT" || { sed 's/^/  node: /' "$OUT"; lab_fail "nat-port-mapper did not stop"; }
grep -q 'DeletePortMapping TCP/4001 .*(NewProtocol empty: TCP and UDP)' "$IGDD_LOG" &&
  grep -q 'DeletePortMapping UDP/4001 .*(NewProtocol empty: TCP and UDP)' "$IGDD_LOG" ||
  lab_fail "no empty-protocol delete in the log"
list=$(ctl list)
[ "$(echo "$list" | grep -c ' 4001 ')" = 0 ] || { echo "$list" | sed 's/^/  | /'; lab_fail "a mapping is left behind"; }
[ "$(ctl status | sed -n 's/^mappings: //p')" = 0 ] || lab_fail "the table is not empty"
lab_ok "nat-port-mapper unmapped with NewProtocol empty: the table is empty"
