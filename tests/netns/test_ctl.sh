#!/usr/bin/env bash
# igddctl against a running igdd (sim backend) in the namespace lab: an
# admin mapping seen by upnpc from the LAN, a UPnP mapping seen by
# igddctl list / list --json, delete, flush, SystemUpdateID +1 and one
# GENA event per change, disconnect/connect seen by upnpc -s, a
# non-root non-daemon uid refused, and clear errors when igdd is not
# running.
set -u
IGDD=$(readlink -f "$1")
CTL=$(dirname "$IGDD")/igddctl
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
SUB="$HERE/gena_subscriber.py"
lab_require upnpc setpriv
[ -x $PY ] || lab_skip "$PY missing"
[ -x "$CTL" ] || lab_skip "igddctl not built beside igdd"
lab_up
lab_conf "$LAB_DIR/igdd.conf"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
SOCK=$LAB_DIR/igdd.sock
port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$IGDD_LOG" | head -1)
[ -n "$port" ] || lab_fail "no http port in the start-up line"
DESC="http://$GW_LAN_IP:$port/rootDesc.xml"

ctl() { timeout $LAB_T "$CTL" -s "$SOCK" "$@" 2>&1; }
upnpc1() { in_lan1 timeout $LAB_T upnpc -i -u "$DESC" "$@" 2>&1; }
sid() { ctl status | sed -n 's/^system_update_id: //p'; }
wait_line() { lab_wait_line "$@"; }
subscribers_1() { [ "$(ctl status | sed -n 's/^gena_subscribers: //p')" = 1 ]; }
# lease_in WHAT OUTPUT PATTERN LEASE T0: OUTPUT has a line matching
# PATTERN whose 6th field, the lease left, is LEASE less at most the
# seconds since T0 (lab_now_ms before the mapping was made).
lease_in() {
  local l el
  l=$(echo "$2" | awk -v p="$3" '$0 ~ p { print $6; exit }')
  el=$(( ($(lab_now_ms) - $5 + 999) / 1000 ))
  [ -n "$l" ] && [ "$l" -le "$4" ] && [ "$l" -ge $(($4 - el - 1)) ] ||
    { echo "$2" | sed 's/^/  | /'; lab_fail "$1: lease '$l', expected $4 less at most $el s"; }
  lab_ok "$1"
}

[ "$(stat -c %a "$SOCK")" = 660 ] || lab_fail "socket mode $(stat -c %a "$SOCK"), not 660"
lab_ok "control socket created 0660"
out=$(ctl status); rc=$?
[ $rc -eq 0 ] || lab_fail "igddctl status exit $rc: $out"
expect "status: backend, LAN, external address, connection" \
  "backend: sim" "$out"
expect "status: LAN address" "lan_address: $GW_LAN_IP/24" "$out"
expect "status: external address and Connected" "external_ip: $GW_WAN_IP" "$out"
expect "status: connection" "connection_status: Connected" "$out"
out=$("$CTL" -f "$LAB_DIR/igdd.conf" status 2>&1)
expect "-f CONFIG finds the socket" "mappings: 0" "$out"

# A subscriber counts the events of the changes below.
lab_bg $NS_LAN1 $PY "$SUB" subscribe --event-url "http://$GW_LAN_IP:$port/evt/IPConn" --bind $LAN1_IP \
  --count 6 --duration $LAB_T --timeout Second-300 >"$LAB_DIR/ev.jsonl"
SPID=$LAB_PID
wait_line "$LAB_DIR/ev.jsonl" '"notify"' || lab_fail "no initial event"
lab_until subscribers_1
expect "status counts the GENA subscriber" "gena_subscribers: 1" "$(ctl status)"

# 1. An admin mapping, seen by upnpc -L from the LAN host it points at.
s0=$(sid)
t_admin=$(lab_now_ms)
out=$(ctl add TCP 18500 $LAN1_IP 8500 --desc "admin web" --lease 3600); rc=$?
[ $rc -eq 0 ] || lab_fail "igddctl add exit $rc: $out"
expect "igddctl add" "added TCP/18500 -> $LAN1_IP:8500" "$out"
[ "$(sid)" = $((s0 + 1)) ] || lab_fail "SystemUpdateID $(sid) after add, wanted $((s0 + 1))"
lab_ok "SystemUpdateID +1 after igddctl add"
wait_line "$LAB_DIR/ev.jsonl" '"seq": 1' || lab_fail "no event after igddctl add"
lab_ok "one GENA event after igddctl add"
out=$(upnpc1 -L)
expect "upnpc -L sees the admin mapping" "TCP 18500->$LAN1_IP:8500 +'admin web'" "$out"
# A permanent one, not on the LAN, and a conflict.
out=$(ctl add UDP 18501 $LAN1_IP 8501)
expect "igddctl add permanent" "added UDP/18501" "$out"
out=$(ctl add TCP 18502 10.9.9.9 80); rc=$?
[ $rc -eq 1 ] || lab_fail "add outside the LAN: exit $rc"
expect "an internal client outside the LAN is refused (422)" "not a host of the LAN.*error 422" "$out"
out=$(ctl add TCP 18500 $LAN2_IP 80); rc=$?
[ $rc -eq 1 ] || lab_fail "conflicting add: exit $rc"
expect "a port held by another client is refused (409)" "error 409" "$out"

# 2. A UPnP mapping, seen by igddctl list and list --json. The lease
# left is the lease less at most the seconds that passed (measured).
t_upnp=$(lab_now_ms)
out=$(upnpc1 -e "from upnpc" -a $LAN1_IP 9100 19100 UDP 1200)
expect "upnpc -a" "external $GW_WAN_IP:19100 UDP is redirected" "$out"
out=$(ctl list)
expect "igddctl list shows the UPnP mapping" \
  "^UDP +19100 +\* +$LAN1_IP:9100 +yes +[0-9]+ +upnp +$LAN1_IP +\"from upnpc\"" "$out"
lease_in "its lease" "$out" "^UDP +19100 " 1200 $t_upnp
expect "igddctl list shows the admin mapping" \
  "^TCP +18500 +\* +$LAN1_IP:8500 +yes +[0-9]+ +static +admin +\"admin web\"" "$out"
lease_in "its lease" "$out" "^TCP +18500 " 3600 $t_admin
el=$(( ($(lab_now_ms) - t_upnp + 999) / 1000 ))
ctl list --json | $PY -c '
import json, sys
doc = json.load(sys.stdin)
m = {(e["protocol"], e["external_port"]): e for e in doc["mappings"]}
assert len(m) == 3, m
u = m[("UDP", 19100)]
assert u["origin"] == "upnp" and u["internal_client"] == sys.argv[1] and u["internal_port"] == 9100, u
el = int(sys.argv[2])
assert u["description"] == "from upnpc" and 1200 - el - 1 <= u["lease_remaining"] <= 1200 and u["enabled"], u
a = m[("TCP", 18500)]
assert a["origin"] == "static" and a["owner"] == "admin" and a["description"] == "admin web", a
p = m[("UDP", 18501)]
assert p["lease_remaining"] == 0 and p["remote_host"] == "", p
' "$LAN1_IP" "$el" || lab_fail "igddctl list --json"
lab_ok "igddctl list --json parses, three mappings with their fields"
ctl --json status | $PY -c '
import json, sys
s = json.load(sys.stdin)
assert s["mappings"] == 3 and s["mappings_upnp"] == 1 and s["mappings_static"] == 2, s
assert s["connection_status"] == "Connected" and s["boot_id"] > 0, s
' || lab_fail "igddctl --json status"
lab_ok "igddctl --json status: mappings by origin"

# 3. Delete: the UPnP one, by the admin; upnpc no longer sees it.
s0=$(sid)
out=$(ctl del UDP 19100)
expect "igddctl del of a UPnP mapping" "deleted UDP/19100" "$out"
[ "$(sid)" = $((s0 + 1)) ] || lab_fail "SystemUpdateID after del"
out=$(upnpc1 -L)
echo "$out" | grep -q "19100" && lab_fail "upnpc -L still lists the deleted mapping"
lab_ok "upnpc -L no longer lists it"
out=$(ctl del UDP 19100); rc=$?
[ $rc -eq 1 ] || lab_fail "deleting it again: exit $rc"
expect "deleting a missing mapping: 404" "no mapping UDP/19100.*error 404" "$out"

# 4. Flush: one SystemUpdateID step and one event for the lot.
upnpc1 -a $LAN1_IP 9101 19101 TCP 600 >/dev/null || lab_fail "upnpc -a 19101"
s0=$(sid)
out=$(ctl flush --client $LAN2_IP)
expect "flush of a client without mappings" "removed 0 mappings of $LAN2_IP" "$out"
[ "$(sid)" = "$s0" ] || lab_fail "an empty flush moved SystemUpdateID"
out=$(ctl flush)
expect "flush" "removed 3 mappings" "$out"
[ "$(sid)" = $((s0 + 1)) ] || lab_fail "SystemUpdateID after flush: $(sid), wanted $((s0 + 1))"
lab_ok "SystemUpdateID +1 for the whole flush"
expect "nothing left" "mappings: 0" "$(ctl status)"
out=$(upnpc1 -L)
echo "$out" | grep -Eq "1850[01]|19101" && lab_fail "upnpc -L lists flushed mappings"
lab_ok "upnpc -L: all gone"
wait $SPID
$PY - "$LAB_DIR/ev.jsonl" <<'PYEOF' || lab_fail "GENA events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ev = [e for e in ev if e["event"] == "notify"]
# initial, add 18500, add 18501, upnpc add 19100, del 19100, upnpc add 19101, flush
ids = [int(e["vars"]["SystemUpdateID"]) for e in ev if "SystemUpdateID" in e["vars"]]
assert len(ids) >= 6, ev
assert all(b == a + 1 for a, b in zip(ids, ids[1:])), ids
PYEOF
lab_ok "GENA: one event per change, SystemUpdateID +1 each"

# 5. The WAN connection, as upnpc -s sees it.
out=$(ctl disconnect)
expect "igddctl disconnect" "connection_status: Disconnected" "$out"
expect "upnpc -s: Disconnected" "Status : Disconnected" "$(upnpc1 -s)"
out=$(ctl disconnect); rc=$?
[ $rc -eq 1 ] || lab_fail "disconnect twice: exit $rc"
expect "disconnect twice: 711" "UPnP 711 ConnectionAlreadyTerminated.*error 409" "$out"
out=$(ctl connect)
expect "igddctl connect" "connection_status: Connected" "$out"
expect "upnpc -s: Connected" "Status : Connected" "$(upnpc1 -s)"

# 6. log-level, and usage errors (exit 2, nothing sent).
expect "log-level debug" "^$" "$(ctl log-level debug)"
expect "status shows it" "log_level: debug" "$(ctl status)"
ctl log-level info >/dev/null
out=$(ctl add TCP 70000 $LAN1_IP 80); rc=$?
[ $rc -eq 2 ] || lab_fail "bad port: exit $rc"
expect "a bad argument is a usage error" "external port must be 1..65535" "$out"
out=$(ctl frobnicate); rc=$?
[ $rc -eq 2 ] || lab_fail "unknown command: exit $rc"
out=$("$CTL" -h); rc=$?
[ $rc -eq 0 ] || lab_fail "-h: exit $rc"
expect "igddctl -h" "usage: igddctl" "$out"

# 7. Another uid: the socket's mode keeps it out; with the mode opened,
# SO_PEERCRED does (403, and a warning in the log).
chmod 755 "$LAB_DIR"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" -s "$SOCK" status 2>&1); rc=$?
[ $rc -eq 1 ] || lab_fail "nobody (socket 0660): exit $rc: $out"
expect "nobody: permission denied by the socket's mode" "permission denied" "$out"
chmod 666 "$SOCK"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" -s "$SOCK" add TCP 1 $LAN1_IP 1 2>&1); rc=$?
[ $rc -eq 1 ] || lab_fail "nobody (socket 0666): exit $rc: $out"
expect "nobody: refused by its credentials (403)" "permission denied.*error 403" "$out"
grep -q "control socket: refused uid $(id -u nobody)" "$IGDD_LOG" || lab_fail "no warning for the refused uid"
lab_ok "the refusal is logged"
expect "nothing was added" "mappings: 0" "$(ctl status)"
chmod 700 "$LAB_DIR"

# 8. igdd not running: a clear error and exit 1.
igdd_stop
[ -e "$SOCK" ] && lab_fail "the socket file is left after igdd stopped"
lab_ok "igdd removes its socket when it stops"
out=$(ctl status); rc=$?
[ $rc -eq 1 ] || lab_fail "not running: exit $rc"
expect "igdd not running (no socket)" "does not exist: igdd is not running" "$out"
$PY -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$SOCK"
out=$(ctl status); rc=$?
[ $rc -eq 1 ] || lab_fail "stale socket: exit $rc"
expect "igdd not running (stale socket)" "nothing answers on .*igdd is not running" "$out"
# A new igdd replaces the stale file.
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
expect "a new igdd replaces the stale socket" "connection_status: Connected" "$(ctl status)"
grep -q "replaced a stale socket file" "$IGDD_LOG" || lab_fail "no log line for the stale socket"
lab_ok "stale socket replaced (logged)"
# A second igdd on the same socket refuses to start.
out=$(ip netns exec $NS_GW timeout $LAB_T "$IGDD" -d -f "$LAB_DIR/igdd.conf" 2>&1); rc=$?
[ $rc -eq 1 ] || lab_fail "a second igdd: exit $rc"
expect "a second igdd refuses the socket in use" "another process answers on it" "$out"
echo "all igddctl tests passed"
