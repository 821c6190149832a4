#!/usr/bin/env bash
# GENA eventing (UPnP Device Architecture 1.1 section 4; WANIPConnection:2
# section 2.4) with a real subscriber in namespaces: the initial event
# after the SUBSCRIBE response with every evented variable, one event per
# mapping change carrying PortMappingNumberOfEntries and SystemUpdateID
# together, SEQ in order, renewal and cancellation, the 400/412 rules, a
# CALLBACK on another LAN host refused and that host never contacted, a
# CALLBACK off the LAN refused (CallStranger, CVE-2020-12695) and never
# contacted, a dead subscriber that delays nobody (another subscriber's
# event comes while a delivery to the dead one still hangs), and no
# SUBSCRIBE from the WAN side.
# Also: an event when a lease expires (SystemUpdateID +1 exactly each
# time), and ConnectionStatus / ExternalIPAddress events when the
# connection is terminated and requested again.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
SUB="$HERE/gena_subscriber.py"
lab_require upnpc
[ -x $PY ] || lab_skip "$PY missing"
lab_up
lab_conf "$LAB_DIR/igdd.conf" "connection_control = $LAN1_IP"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$IGDD_LOG" | head -1)
[ -n "$port" ] || lab_fail "no http port in the start-up line"
BASE="http://$GW_LAN_IP:$port"
EVT_IP="$BASE/evt/IPConn"
EVT_CMN="$BASE/evt/CmnIfCfg"
DESC="$BASE/rootDesc.xml"

# request NS METHOD URL HEADER...: the HTTP status of one raw request.
request() {
  local ns=$1 method=$2 url=$3; shift 3
  local args=() h
  for h in "$@"; do args+=(-H "$h"); done
  ip netns exec "$ns" $PY "$SUB" request "$method" "$url" "${args[@]}" |
    $PY -c 'import json,sys; print(json.loads(sys.stdin.readline())["status"])'
}

wait_line() { lab_wait_line "$@"; }

# soap ACTION: a WANIPConnection:2 action without arguments, from lan1.
soap() { lab_soap $NS_LAN1 "$BASE/ctl/IPConn" "$1"; }

# 1. Initial event: after the response, SEQ 0, every evented variable.
lab_bg $NS_LAN1 $PY "$SUB" subscribe --event-url "$EVT_IP" --bind $LAN1_IP --count 9 --duration $LAB_T \
  --timeout Second-300 >"$LAB_DIR/ip.jsonl"
SPID=$LAB_PID
wait_line "$LAB_DIR/ip.jsonl" '"notify"' || lab_fail "no initial event"
# 2. Mapping changes: add, delete, and an add whose 2 s lease runs out:
# one event each, both variables together, SystemUpdateID +1 each time.
in_lan1 upnpc -u "$DESC" -a $LAN1_IP 5001 5001 TCP 600 >/dev/null 2>&1 || lab_fail "upnpc -a"
wait_line "$LAB_DIR/ip.jsonl" '"seq": 1' || lab_fail "no event after an add"
in_lan1 upnpc -u "$DESC" -d 5001 TCP >/dev/null 2>&1 || lab_fail "upnpc -d"
wait_line "$LAB_DIR/ip.jsonl" '"seq": 2' || lab_fail "no event after a delete"
in_lan1 upnpc -u "$DESC" -a $LAN1_IP 5002 5002 UDP 2 >/dev/null 2>&1 || lab_fail "upnpc -a (2 s lease)"
wait_line "$LAB_DIR/ip.jsonl" '"seq": 4' || lab_fail "no event after the lease ran out"
# 3. The connection: ForceTermination (Disconnecting, Disconnected; the
# external address becomes empty), then RequestConnection (Connected).
soap ForceTermination || lab_fail "ForceTermination"
soap RequestConnection || lab_fail "RequestConnection"
wait $SPID
$PY - "$LAB_DIR/ip.jsonl" "$GW_WAN_IP" "$GW_LAN_IP" <<'PYEOF' || lab_fail "WANIPConnection events"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
sub = [l for l in lines if l["event"] == "subscribe"][0]
assert sub["status"] == 200, sub
assert sub["sid"].startswith("uuid:") and sub["timeout"] == "Second-300", sub
ev = [l for l in lines if l["event"] == "notify"]
assert len(ev) >= 6, "%d events: %r" % (len(ev), ev)
for i, e in enumerate(ev):
    assert e["seq"] == i, "event %d has SEQ %r" % (i, e["seq"])
    assert e["sid"] == sub["sid"] and e["nt"] == "upnp:event" and e["nts"] == "upnp:propchange", e
    assert e["from"] == sys.argv[3], e
    assert e["content_type"].startswith("text/xml"), e
first = ev[0]
assert first["after_response"], "initial event before the SUBSCRIBE response was read"
assert set(first["vars"]) == {"PossibleConnectionTypes", "ConnectionStatus", "ExternalIPAddress",
                              "PortMappingNumberOfEntries", "SystemUpdateID"}, first["vars"]
assert first["vars"]["ExternalIPAddress"] == sys.argv[2], first["vars"]
assert first["vars"]["ConnectionStatus"] == "Connected", first["vars"]
assert first["vars"]["PortMappingNumberOfEntries"] == "0", first["vars"]
uid = int(first["vars"]["SystemUpdateID"])
# add, delete, add (2 s lease), expiry
for e, n in zip(ev[1:5], ("1", "0", "1", "0")):
    assert set(e["vars"]) == {"PortMappingNumberOfEntries", "SystemUpdateID"}, e["vars"]
    assert e["vars"]["PortMappingNumberOfEntries"] == n, e["vars"]
    assert int(e["vars"]["SystemUpdateID"]) == uid + 1, (uid, e["vars"])
    uid += 1
# Later events carry ConnectionStatus through every state of the diagram
# (and ExternalIPAddress when it empties and comes back).
status = [e["vars"]["ConnectionStatus"] for e in ev[5:] if "ConnectionStatus" in e["vars"]]
addrs = [e["vars"]["ExternalIPAddress"] for e in ev[5:] if "ExternalIPAddress" in e["vars"]]
assert status == ["Disconnecting", "Disconnected", "Connecting", "Connected"], status
assert "" in addrs and addrs[-1] == sys.argv[2], addrs
print("ok: initial event after the response; one event per add, delete and expiry with both")
print("    variables and SystemUpdateID +1 each; ConnectionStatus %s; ExternalIPAddress %s"
      % (" -> ".join(status), " -> ".join(repr(a) for a in addrs)))
PYEOF

# 4. WANCommonInterfaceConfig: its own initial event; renewal; cancellation.
in_lan1 $PY "$SUB" subscribe --event-url "$EVT_CMN" --bind $LAN1_IP --count 1 --duration $LAB_T \
  --renew-at 0.5 --timeout Second-600 --unsubscribe >"$LAB_DIR/cmn.jsonl" ||
  lab_fail "WANCommonInterfaceConfig SUBSCRIBE"
$PY - "$LAB_DIR/cmn.jsonl" <<'PYEOF' || lab_fail "WANCommonInterfaceConfig events"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ev = [l for l in lines if l["event"] == "notify"]
assert ev and ev[0]["seq"] == 0, lines
assert set(ev[0]["vars"]) == {"PhysicalLinkStatus", "EnabledForInternet"}, ev[0]["vars"]
renew = [l for l in lines if l["event"] == "renew"][0]
assert renew["status"] == 200 and renew["timeout"] == "Second-600", renew
unsub = [l for l in lines if l["event"] == "unsubscribe"][0]
assert unsub["status"] == 200, unsub
print("ok: WANCommonInterfaceConfig initial event, renewal, UNSUBSCRIBE")
PYEOF
sid=$($PY -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["event"] == "subscribe": print(o["sid"])' "$LAB_DIR/cmn.jsonl")
[ "$(request $NS_LAN1 SUBSCRIBE "$EVT_CMN" "SID: $sid")" = 412 ] || lab_fail "renewal after UNSUBSCRIBE not 412"
[ "$(request $NS_LAN1 UNSUBSCRIBE "$EVT_CMN" "SID: $sid")" = 412 ] || lab_fail "second UNSUBSCRIBE not 412"
lab_ok "renewal and cancellation"

# 5. The 400 / 412 rules (UDA 1.1 4.1.2 - 4.1.4).
check() {
  local want=$1 what=$2; shift 2
  local got
  got=$(request $NS_LAN1 "$@")
  [ "$got" = "$want" ] || lab_fail "$what: $got, want $want"
}
CB="CALLBACK: <http://$LAN1_IP:9/>"
check 400 "SID with NT" SUBSCRIBE "$EVT_IP" "SID: uuid:x" "NT: upnp:event"
check 400 "SID with CALLBACK" SUBSCRIBE "$EVT_IP" "SID: uuid:x" "$CB"
check 400 "UNSUBSCRIBE SID with NT" UNSUBSCRIBE "$EVT_IP" "SID: uuid:x" "NT: upnp:event"
check 412 "no NT" SUBSCRIBE "$EVT_IP" "$CB"
check 412 "wrong NT" SUBSCRIBE "$EVT_IP" "NT: upnp:propchange" "$CB"
check 412 "no CALLBACK" SUBSCRIBE "$EVT_IP" "NT: upnp:event"
check 412 "CALLBACK with a host name" SUBSCRIBE "$EVT_IP" "NT: upnp:event" "CALLBACK: <http://cp.lan:9/>"
check 412 "unknown SID" SUBSCRIBE "$EVT_IP" "SID: uuid:00000000-0000-4000-8000-000000000000"
check 412 "UNSUBSCRIBE without SID" UNSUBSCRIBE "$EVT_IP"
lab_ok "400/412 rules"

# 6. A CALLBACK on another LAN host is refused (412), alone or after the
#    subscriber's own: no NOTIFYs, with a path of the subscriber's
#    choosing, reach a host that did not ask for them. A mapping change
#    then reaches the subscriber that used its own address, and the
#    other host has heard nothing by then (order, not time: had either
#    refused SUBSCRIBE been taken, its initial event would have gone out
#    before the change event did).
# (lab_bg: $LPID is the listener itself, ended below.)
lab_bg $NS_LAN2 $PY "$SUB" listen --bind $LAN2_IP --port 49000 --duration $LAB_T \
  >"$LAB_DIR/other.jsonl"
LPID=$LAB_PID
wait_line "$LAB_DIR/other.jsonl" ready || lab_fail "listener on lan2"
check 412 "CALLBACK on another LAN host" SUBSCRIBE "$EVT_IP" "NT: upnp:event" \
  "CALLBACK: <http://$LAN2_IP:49000/other>"
check 412 "CALLBACK own, then another LAN host" SUBSCRIBE "$EVT_IP" "NT: upnp:event" \
  "CALLBACK: <http://$LAN1_IP:9/><http://$LAN2_IP:49000/other>"
lab_bg $NS_LAN1 $PY "$SUB" subscribe --event-url "$EVT_IP" --bind $LAN1_IP --count 2 --duration $LAB_T \
  --unsubscribe >"$LAB_DIR/own.jsonl"
OPID=$LAB_PID
wait_line "$LAB_DIR/own.jsonl" '"notify"' || lab_fail "no initial event at the subscriber's own address"
in_lan1 timeout $LAB_T upnpc -i -u "$DESC" -a $LAN1_IP 7300 7300 TCP 600 >/dev/null 2>&1 ||
  lab_fail "upnpc -a for the event"
wait $OPID
[ "$(grep -c '"notify"' "$LAB_DIR/own.jsonl")" -ge 2 ] ||
  lab_fail "the subscriber at its own address missed the change event"
lab_bg_stop $LPID
grep -q '"notify"\|"dead_accept"' "$LAB_DIR/other.jsonl" && lab_fail "the other LAN host was contacted"
in_lan1 timeout $LAB_T upnpc -i -u "$DESC" -d 7300 TCP >/dev/null 2>&1 || lab_fail "upnpc -d 7300"
lab_ok "CALLBACK on another LAN host refused; the subscriber's own address evented"

# 7. CallStranger: a CALLBACK outside the LAN is refused and never contacted.
ip -n $NS_WAN route add 192.168.77.0/24 via $GW_WAN_IP 2>/dev/null || true
lab_bg $NS_WAN $PY "$SUB" listen --bind $WAN_IP --port 49001 --duration 4 >"$LAB_DIR/wan.jsonl"
LPID=$LAB_PID
wait_line "$LAB_DIR/wan.jsonl" ready || lab_fail "listener on the WAN host"
check 412 "CALLBACK on the WAN" SUBSCRIBE "$EVT_IP" "NT: upnp:event" "CALLBACK: <http://$WAN_IP:49001/x>"
check 412 "CALLBACK LAN then WAN" SUBSCRIBE "$EVT_IP" "NT: upnp:event" \
  "CALLBACK: <http://$LAN1_IP:9/><http://$WAN_IP:49001/x>"
check 412 "CALLBACK on the gateway" SUBSCRIBE "$EVT_IP" "NT: upnp:event" "CALLBACK: <http://$GW_LAN_IP:$port/x>"
wait $LPID
grep -q '"notify"\|"dead_accept"' "$LAB_DIR/wan.jsonl" && lab_fail "the WAN host was contacted"
lab_ok "CALLBACK off the LAN refused (CallStranger)"

# 8. A dead subscriber (accepts, never answers) delays nobody else: the
# live subscriber's change event comes while a delivery to the dead one
# still hangs (accepted, not yet given up by the gateway). Both
# subscribers stamp with the same monotonic clock.
# (lab_bg: $DPID is the subscriber itself, ended below.)
lab_bg $NS_LAN2 $PY "$SUB" subscribe --event-url "$EVT_IP" --bind $LAN2_IP --dead \
  --duration $LAB_T >"$LAB_DIR/dead.jsonl"
DPID=$LAB_PID
wait_line "$LAB_DIR/dead.jsonl" dead_accept || lab_fail "the dead subscriber got no initial event"
lab_bg $NS_LAN1 $PY "$SUB" subscribe --event-url "$EVT_IP" --bind $LAN1_IP --count 2 --duration $LAB_T \
  --unsubscribe >"$LAB_DIR/live.jsonl"
SPID=$LAB_PID
wait_line "$LAB_DIR/live.jsonl" '"notify"' || lab_fail "no initial event for the live subscriber"
in_lan1 upnpc -u "$DESC" -a $LAN1_IP 5002 5002 UDP 600 >/dev/null 2>&1 || lab_fail "upnpc -a"
wait $SPID
$PY - "$LAB_DIR/live.jsonl" "$LAB_DIR/dead.jsonl" <<'PYEOF' || lab_fail "live subscriber behind a dead one"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"notify"' in l]
assert [e["seq"] for e in ev] == [0, 1], ev
dead = [json.loads(l) for l in open(sys.argv[2])]
opened = {d["conn"]: d["t"] for d in dead if d["event"] == "dead_accept"}
closed = {d["conn"]: d["t"] for d in dead if d["event"] == "dead_closed"}
at = ev[1]["accepted"]
hanging = [n for n, t in opened.items() if t <= at and closed.get(n, at + 1) > at]
assert hanging, "the change event came (%.3f) when no delivery to the dead subscriber hung: %r" % (at, dead)
print("ok: a dead subscriber delays nobody (the change event came while its delivery %d hung)"
      % hanging[0])
PYEOF
lab_bg_stop $DPID

# 9. No SUBSCRIBE from the WAN side.
if in_wan $PY "$SUB" request SUBSCRIBE "$EVT_IP" "-H" "NT: upnp:event" "-H" "CALLBACK: <http://$WAN_IP:9/>" \
   2>/dev/null | grep -q '"status": 200'; then
  lab_fail "SUBSCRIBE accepted from the WAN side"
fi
lab_ok "no SUBSCRIBE from the WAN side"
echo "PASS: gena"
