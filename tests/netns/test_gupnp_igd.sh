#!/usr/bin/env bash
# gupnp-igd (Debian's libgupnp-igd-1.0 through python3-gi and
# gir1.2-gupnpigd-1.0; the port mapper of libnice, Farstream and
# GStreamer's webrtcbin): GUPnPIgd.SimpleIgd finds the gateway,
# subscribes to WANIPConnection's events and maps a port for TCP and
# UDP; igddctl shows both; after remove_port the table is empty.
# (It finds the IGD:1 and the IGD:2 view of the gateway and sends each
# request once per view: the second delete answers 714, which it only
# warns about.)
set -u
IGDD=$(readlink -f "$1")
CTL=$(dirname "$IGDD")/igddctl
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require
[ -x $PY ] || lab_skip "$PY missing"
[ -x "$CTL" ] || lab_skip "igddctl not built beside igdd"
$PY -c 'import gi; gi.require_version("GUPnPIgd", "1.0"); from gi.repository import GUPnPIgd' \
  2>/dev/null || lab_skip "gupnp-igd for Python missing (python3-gi, gir1.2-gupnpigd-1.0)"
lab_up
lab_conf "$LAB_DIR/igdd.conf"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
ctl() { timeout $LAB_T "$CTL" -s "$LAB_DIR/igdd.sock" "$@" 2>&1; }
mappings() { ctl status | sed -n 's/^mappings: //p'; }

OUT=$LAB_DIR/igd.jsonl
REL=$LAB_DIR/release
# (Every wait in the client is bounded by the safety timeout.)
lab_bg $NS_LAN1 $PY "$HERE/gupnp_igd_client.py" $LAN1_IP 7100 "$REL" >"$OUT" 2>"$LAB_DIR/igd.err"
GPID=$LAB_PID
said_or_gone() { grep -q '"mapped": ' "$OUT" || lab_gone $GPID; }
lab_until said_or_gone
grep -q '"mapped": true' "$OUT" || { sed 's/^/  gupnp-igd: /' "$OUT" "$LAB_DIR/igd.err"; touch "$REL" "$REL.done"; lab_fail "gupnp-igd did not map TCP and UDP"; }
list=$(ctl list)
for p in TCP UDP; do
  echo "$list" | grep -Eq "^$p +7100 +\\* +$LAN1_IP:7100 +yes .* upnp +$LAN1_IP +\"igdd-test gupnp-igd\"" ||
    { echo "$list" | sed 's/^/  | /'; touch "$REL" "$REL.done"; lab_fail "no $p entry"; }
done
lab_ok "gupnp-igd mapped TCP and UDP 7100"
touch "$REL"
table_empty() { [ "$(mappings)" = 0 ]; }
lab_until table_empty
touch "$REL.done"
wait $GPID || { sed 's/^/  gupnp-igd: /' "$OUT" "$LAB_DIR/igd.err"; lab_fail "gupnp-igd client exit"; }
table_empty || { ctl list | sed 's/^/  | /'; lab_fail "mappings left after remove_port"; }
lab_ok "gupnp-igd removed both: the table is empty"
