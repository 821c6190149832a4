#!/usr/bin/env bash
# GUPnP 1.6 (GNOME's UPnP library: gupnp-igd, libnice, Farstream,
# GStreamer's webrtcbin) as the control point, from Debian's python3-gi
# and gir1.2-gupnp-1.6: GUPnP finds WANIPConnection:2 by SSDP, then, in
# each of 30 rounds, a fresh subscription (its own SUBSCRIBE, CALLBACK and
# NOTIFY server), the initial event (SEQ 0, UDA 1.1 4.2),
# AddPortMapping and DeletePortMapping through GUPnP's action calls, and
# the change event of each (WANIPConnection:2 2.4.4: entries and
# SystemUpdateID), exactly one event each (a resubscription, GUPnP's
# answer to a lost event, would show as an extra initial event).
#
# GUPnP drops a NOTIFY that it handles before its SUBSCRIBE callback ran
# (svc/gena.h). Whether a NOTIFY sent right after the response comes
# first depends on the machine's load, so every second round makes it
# certain: the client blocks GUPnP's loop for 0.2 s once its SUBSCRIBE is
# written (--stall), and the response and any NOTIFY behind it arrive
# together. Without igdd's hold of the initial event every such round
# loses it. Every wait ends when the event arrives; the safety timeout
# ($LAB_T, tests/netns/lib.sh) is only its bound.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require
[ -x $PY ] || lab_skip "$PY missing"
$PY -c 'import gi; gi.require_version("GUPnP", "1.6"); from gi.repository import GUPnP' \
  2>/dev/null || lab_skip "GUPnP 1.6 for Python missing (python3-gi, gir1.2-gupnp-1.6)"
lab_up
lab_conf "$LAB_DIR/igdd.conf"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"

ROUNDS=30
in_lan1 $PY "$HERE/gupnp_client.py" --iface eth0 --client $LAN1_IP \
  --rounds $ROUNDS --wait $LAB_T --stall 0.2 --stall-every 2 >"$LAB_DIR/gupnp.jsonl" 2>"$LAB_DIR/gupnp.err"
rc=$?
sed 's/^/  gupnp: /' "$LAB_DIR/gupnp.jsonl" | tail -3
[ $rc -eq 0 ] || { sed 's/^/  gupnp stderr: /' "$LAB_DIR/gupnp.err" | tail -20; lab_fail "GUPnP missed an event (exit $rc)"; }
$PY - "$LAB_DIR/gupnp.jsonl" $ROUNDS <<'PYEOF' || lab_fail "GUPnP rounds"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
rounds = [r for r in lines if "round" in r]
assert len(rounds) == int(sys.argv[2]), len(rounds)
for r in rounds:
    assert r["ok"] and r["initial"], r
    # initial, after the add (1 entry more, SystemUpdateID + 1), after the delete
    (n0, u0), (n1, u1), (n2, u2) = r["events"]
    assert (n1, u1) == (n0 + 1, u0 + 1) and (n2, u2) == (n0, u0 + 2), r
assert lines[-1] == {"rounds": int(sys.argv[2]), "failed": 0}, lines[-1]
PYEOF
lab_ok "GUPnP: $ROUNDS fresh subscriptions (half of them with GUPnP stalled), each with its initial event and both change events"
