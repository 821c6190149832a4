#!/usr/bin/env bash
# Port mappings through real clients in namespaces (sim backend): upnpc
# -a/-n/-l/-L/-d/-N, python3-miniupnpc add/list/delete, and a second LAN
# client whose requests for the first client's mappings get 606.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require upnpc
[ -x $PY ] || lab_skip "$PY missing"
$PY -c 'import miniupnpc' 2>/dev/null || lab_skip "python3-miniupnpc missing"
lab_up
lab_conf "$LAB_DIR/igdd.conf"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$IGDD_LOG" | head -1)
[ -n "$port" ] || lab_fail "no http port in the start-up line"
DESC="http://$GW_LAN_IP:$port/rootDesc.xml"

# upnpc counts the documentation-range external address as reserved, so
# every call carries -i (see test_discovery.sh). The clients are given the
# description URL: discovery, which waits a fixed time for answers, is
# test_discovery.sh's subject.
upnpc1() { in_lan1 timeout $LAB_T upnpc -i -u "$DESC" "$@" 2>&1; }
upnpc2() { in_lan2 timeout $LAB_T upnpc -i -u "$DESC" "$@" 2>&1; }

out=$(upnpc1 -e "web server" -a $LAN1_IP 8080 18080 TCP 3600)
expect "upnpc -a TCP" "external $GW_WAN_IP:18080 TCP is redirected to internal $LAN1_IP:8080 \(duration=3600\)" "$out"
out=$(upnpc1 -a $LAN1_IP 9000 19000 UDP 600)
expect "upnpc -a UDP" "external $GW_WAN_IP:19000 UDP is redirected to internal $LAN1_IP:9000" "$out"
# AddAnyPortMapping for a port already held by the same client's other
# mapping: IGD:2 picks another free port near the wanted one.
out=$(upnpc2 -n $LAN2_IP 7000 18080 TCP 3600)
expect "upnpc -n (AddAnyPortMapping) picks another port" "external $GW_WAN_IP:(1808[1-9]|18[1-9][0-9]) TCP is redirected to internal $LAN2_IP:7000" "$out"
anyport=$(echo "$out" | sed -n "s/.*external $GW_WAN_IP:\([0-9]*\) TCP.*/\1/p" | head -1)

out=$(upnpc1 -l)
expect "upnpc -l lists the TCP mapping" "TCP +18080->$LAN1_IP:8080 +'web server'" "$out"
expect "upnpc -l lists the UDP mapping" "UDP +19000->$LAN1_IP:9000" "$out"
# Under the default policy a control point sees only its own mappings:
# lan1's listing stops at lan2's entry (606), never showing it.
echo "$out" | grep -q "$LAN2_IP:7000" && lab_fail "upnpc -l from lan1 showed lan2's mapping"
lab_ok "lan1 does not see lan2's mapping"

out=$(upnpc1 -L)
expect "upnpc -L (GetListOfPortMappings) lists lan1's TCP mapping" "TCP 18080->$LAN1_IP:8080 +'web server'" "$out"
expect "upnpc -L lists lan1's UDP mapping" "UDP 19000->$LAN1_IP:9000" "$out"
echo "$out" | grep -q "$LAN2_IP" && lab_fail "upnpc -L from lan1 listed lan2's mapping"
lab_ok "upnpc -L hides lan2's mapping"

# The second client may not touch the first one's mappings.
out=$(upnpc2 -d 18080 TCP)
expect "lan2 deleting lan1's mapping gets 606" "606" "$out"
out=$(upnpc2 -a $LAN1_IP 8081 18081 TCP 3600)
expect "lan2 mapping to lan1's address gets 606" "606" "$out"
out=$(upnpc2 -a $LAN2_IP 8080 18080 TCP 3600)
expect "lan2 taking lan1's port gets 718" "718" "$out"
out=$(upnpc2 -a $LAN2_IP 80 80 TCP 3600)
expect "well-known ports get 606 by default" "606" "$out"

# python3-miniupnpc from lan2: add, look up, list, delete.
in_lan2 $PY - "$LAN2_IP" "$anyport" "$DESC" <<'PYEOF' || lab_fail "python3-miniupnpc"
import math, sys, time, miniupnpc
me, anyport, desc = sys.argv[1], int(sys.argv[2]), sys.argv[3]
u = miniupnpc.UPnP()
u.selectigd(desc)
t0 = time.monotonic()
assert u.addportmapping(25000, "UDP", me, 25000, "py test", "", 1200)
m = u.getspecificportmapping(25000, "UDP")
el = math.ceil(time.monotonic() - t0)
assert m is not None and m[0] == me and m[1] == 25000 and m[2] == "py test", m
# Counted down by at most the seconds that passed (measured).
assert 1200 - el - 1 <= m[4] <= 1200, "lease %r after %d s, from 1200" % (m, el)
seen, i = [], 0
while i < 64:
    try:
        e = u.getgenericportmapping(i)
    except Exception as ex:      # 606 for an entry lan2 may not see: skip it
        if "606" in str(ex) or "not authorized" in str(ex).lower():
            i += 1
            continue
        raise
    if e is None:
        break
    seen.append((e[0], e[1]))
    i += 1
assert (25000, "UDP") in seen and (anyport, "TCP") in seen, seen
assert u.deleteportmapping(25000, "UDP")
assert u.getspecificportmapping(25000, "UDP") is None
try:
    u.deleteportmapping(18080, "TCP")
    raise SystemExit("deleting lan1's mapping succeeded")
except Exception as ex:
    assert "606" in str(ex) or "authorized" in str(ex).lower(), ex
print("ok: python3-miniupnpc add/lookup/list/delete, 606 on another client's mapping")
PYEOF

# Delete by upnpc, then a range delete of what is left.
out=$(upnpc1 -d 19000 UDP)
expect "upnpc -d" "UPNP_DeletePortMapping\(\) returned : 0" "$out"
out=$(upnpc1 -N 1024 65535 TCP)
expect "upnpc -N (DeletePortMappingRange)" "UPNP_DeletePortMappingRange\(\) returned : 0|returned 0" "$out"
out=$(upnpc1 -l)
echo "$out" | grep -q "18080->" && lab_fail "lan1's TCP mapping survived the range delete"
lab_ok "range delete removed lan1's mapping"
out=$(upnpc2 -l)
expect "lan2's mapping survived lan1's range delete" "$LAN2_IP:7000" "$out"
echo "PASS: portmap"
