#!/usr/bin/env bash
# libtorrent (Debian's python3-libtorrent 2.0: the engine of qBittorrent
# and Deluge) maps its listen port with NAT-PMP/PCP and UPnP at the same
# time, from the same host, for the same ports (docs/POLICY.md, "One
# mapping asked for both ways"):
#   - both mechanisms report success for TCP and UDP (libtorrent's
#     portmap alerts; no portmap_error alert, which igdd's 729 used to
#     cause for UPnP);
#   - igddctl list shows one entry per protocol, with libtorrent's UPnP
#     description;
#   - when the session ends, the port is closed (no entry left).
set -u
IGDD=$(readlink -f "$1")
CTL=$(dirname "$IGDD")/igddctl
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require
[ -x $PY ] || lab_skip "$PY missing"
[ -x "$CTL" ] || lab_skip "igddctl not built beside igdd"
$PY -c 'import libtorrent' 2>/dev/null || lab_skip "python3-libtorrent missing"
lab_up
lab_conf "$LAB_DIR/igdd.conf"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
ctl() { timeout $LAB_T "$CTL" -s "$LAB_DIR/igdd.sock" "$@" 2>&1; }

OUT=$LAB_DIR/lt.jsonl
# (Every wait in the client is bounded by the safety timeout.)
lab_bg $NS_LAN1 $PY "$HERE/libtorrent_client.py" map --listen $LAN1_IP:6881 --wait $LAB_T \
  --hold-file "$LAB_DIR/release" --log >"$OUT" 2>"$LAB_DIR/lt.err"
LTPID=$LAB_PID
said_or_gone() { grep -q '"mapped"' "$OUT" || lab_gone $LTPID; }
lab_until said_or_gone
show() { grep -v '"log"' "$OUT" | sed 's/^/  libtorrent: /'; grep '"log"' "$OUT" | tail -8 | cut -c1-200 | sed 's/^/  libtorrent log: /'; }
grep -q '"mapped": true' "$OUT" || { show; touch "$LAB_DIR/release"; lab_fail "libtorrent did not map with both mechanisms"; }
if grep -q '"portmap_error"' "$OUT"; then show; touch "$LAB_DIR/release"; lab_fail "libtorrent reported a port-mapping error"; fi
lab_ok "libtorrent: NAT-PMP/PCP and UPnP both mapped TCP and UDP 6881, no error"

list=$(ctl list)
n=$(echo "$list" | grep -c ' 6881 ')
[ "$n" = 2 ] || { echo "$list" | sed 's/^/  | /'; touch "$LAB_DIR/release"; lab_fail "$n entries at 6881, want one per protocol"; }
for p in TCP UDP; do
  echo "$list" | grep -Eq "^$p +6881 +\\* +$LAN1_IP:6881 +yes .*(pcp|natpmp) +$LAN1_IP +\"igdd-test\"" ||
    { echo "$list" | sed 's/^/  | /'; touch "$LAB_DIR/release"; lab_fail "$p entry"; }
done
lab_ok "one entry per protocol, NAT-PMP/PCP's, with libtorrent's UPnP description"
grep -q 'joined the NAT-PMP/PCP mapping' "$IGDD_LOG" || lab_fail "no join in the log"

touch "$LAB_DIR/release"
wait $LTPID || { show; lab_fail "libtorrent client exit"; }
grep -q '"closed": true' "$OUT" || lab_fail "session not closed"
port_closed() { [ "$(ctl list | grep -c ' 6881 ')" = 0 ]; }
lab_until port_closed
list=$(ctl list)
if echo "$list" | grep -q ' 6881 '; then echo "$list" | sed 's/^/  | /'; lab_fail "the port is still mapped after the session ended"; fi
lab_ok "session ended: the port is closed"
