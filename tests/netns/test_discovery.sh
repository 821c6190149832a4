#!/usr/bin/env bash
# Discovery, descriptions and status with real clients in namespaces:
# byebye before the first alive, every M-SEARCH form, upnpc -l,
# python3-miniupnpc, byebye on shutdown, and nothing answered on the WAN.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require upnpc curl
[ -x $PY ] || lab_skip "$PY missing"
$PY -c 'import miniupnpc' 2>/dev/null || lab_skip "python3-miniupnpc missing"
lab_up
lab_conf "$LAB_DIR/igdd.conf"

# 1. Announcements: listen on the LAN before igdd starts, until the
# alive of each NT checked below has come.
URN=urn:schemas-upnp-org
lab_bg $NS_LAN1 $PY "$HERE/ssdp_probe.py" listen --until ssdp:alive upnp:rootdevice \
  --until ssdp:alive $URN:device:InternetGatewayDevice:2 \
  --until ssdp:alive $URN:service:WANIPConnection:2 \
  --until ssdp:alive $URN:service:WANCommonInterfaceConfig:1 \
  --until ssdp:alive $URN:device:InternetGatewayDevice:1 >"$LAB_DIR/start.jsonl"
LPID=$LAB_PID
lab_wait_line "$LAB_DIR/start.jsonl" ready || lab_fail "the SSDP listener did not start"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
wait $LPID
$PY - "$LAB_DIR/start.jsonl" <<'PYEOF' || lab_fail "start-up announcements"
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if '"nts"' in l]
kinds = [m["nts"] for m in msgs]
assert kinds, "no NOTIFY seen"
first_alive = kinds.index("ssdp:alive") if "ssdp:alive" in kinds else None
assert first_alive is not None, "no ssdp:alive"
assert kinds[0] == "ssdp:byebye", "first NOTIFY is %s" % kinds[0]
bye = {m["nt"] for m in msgs[:first_alive] if m["nts"] == "ssdp:byebye"}
alive = {m["nt"] for m in msgs if m["nts"] == "ssdp:alive"}
assert alive <= bye, "alive before byebye for %s" % (alive - bye)
for m in msgs:
    assert m["bootid"], "NOTIFY without BOOTID.UPNP.ORG"
    if m["nts"] == "ssdp:alive":
        assert m["cache"] and m["location"], "alive without CACHE-CONTROL/LOCATION"
need = {"upnp:rootdevice", "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
        "urn:schemas-upnp-org:service:WANIPConnection:2",
        "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1",
        "urn:schemas-upnp-org:device:InternetGatewayDevice:1"}
assert need <= alive, "missing alive NTs: %s" % (need - alive)
print("ok: %d byebye then %d alive NOTIFYs, byebye first for every NT" % (first_alive, len(kinds) - first_alive))
PYEOF

# 2. Every M-SEARCH form, unicast search, descriptions and SCPDs.
in_lan1 $PY "$HERE/ssdp_probe.py" search $GW_LAN_IP || lab_fail "SSDP/description checks"

# 3. upnpc -l: discovery, external address, status. The lab's external
# address is a documentation address (203.0.113.0/24), which miniupnpc
# counts as reserved and so "not connected": -i makes it carry on.
# upnpc waits 2 s for each of its searches and has no option to wait
# longer: on a slow machine it may miss the answers (which ssdp_probe.py
# counted above), so it is asked again until it finds the gateway.
upnpc_l() {
  out=$(in_lan1 timeout $LAB_T upnpc -i -l 2>&1)
  echo "$out" | grep -Eq "(Found valid IGD|Found a \(not connected\?\) IGD)"
}
lab_until upnpc_l
echo "$out" | sed 's/^/  upnpc: /'
echo "$out" | grep -q "ExternalIPAddress = $GW_WAN_IP" || lab_fail "upnpc -l: external address"
echo "$out" | grep -q "Status : Connected" || lab_fail "upnpc -l: status Connected"
echo "$out" | grep -q "Connection Type : IP_Routed" || lab_fail "upnpc -l: connection type"
echo "$out" | grep -Eq "(Found valid IGD|Found a \(not connected\?\) IGD)" || lab_fail "upnpc -l: IGD found"
lab_ok "upnpc -l"

# 4. python3-miniupnpc.
in_lan1 $PY - "$GW_WAN_IP" <<'PYEOF' || lab_fail "python3-miniupnpc"
import os, sys, time, miniupnpc
# discover() waits 1 s for each search; on a slow machine it may miss
# the answers: it is called again until it finds the gateway.
u = miniupnpc.UPnP()
u.discoverdelay = 1000
end = time.monotonic() + float(os.environ["IGDD_TEST_TIMEOUT"])
n = u.discover()
while n < 1 and time.monotonic() < end:
    n = u.discover()
assert n >= 1, "discover() found %d devices" % n
u.selectigd()
ip = u.externalipaddress()
assert ip == sys.argv[1], "externalipaddress() = %r" % ip
st = u.statusinfo()
assert st[0] == "Connected", "statusinfo() = %r" % (st,)
assert u.connectiontype() == "IP_Routed"
assert u.totalbytesent() >= 0 and u.totalpacketreceived() >= 0
print("ok: python3-miniupnpc: %d device(s), external %s, status %r" % (n, ip, st))
PYEOF

# 5. The WAN side gets nothing: no SSDP answer, no HTTP.
port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$IGDD_LOG" | head -1)
[ -n "$port" ] || lab_fail "no http port in the start-up line"
ip -n $NS_WAN route add 192.168.77.0/24 via $GW_WAN_IP
in_wan $PY - "$GW_WAN_IP" "$GW_LAN_IP" <<'PYEOF' || lab_fail "SSDP answered on the WAN side"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
msg = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n"
for target in sys.argv[1:]:
    s.sendto(msg, (target, 1900))
try:
    s.recvfrom(2048)
    sys.exit(1)
except socket.timeout:
    print("ok: no SSDP answer on the WAN side")
PYEOF
# Also a WAN host that routes to the LAN address directly (route added above).
for target in $GW_WAN_IP $GW_LAN_IP; do
  if in_wan curl -s -m 3 -o /dev/null "http://$target:$port/rootDesc.xml"; then
    lab_fail "HTTP answered on the WAN side ($target)"
  fi
done
lab_ok "no HTTP answer on the WAN side"

# 6. Clean shutdown sends byebye.
lab_bg $NS_LAN1 $PY "$HERE/ssdp_probe.py" listen --until ssdp:byebye upnp:rootdevice >"$LAB_DIR/stop.jsonl"
LPID=$LAB_PID
lab_wait_line "$LAB_DIR/stop.jsonl" ready || lab_fail "the SSDP listener did not start"
igdd_stop
wait $LPID
grep -q '"ssdp:byebye"' "$LAB_DIR/stop.jsonl" || lab_fail "no byebye on shutdown"
lab_ok "byebye on shutdown"
echo "PASS: discovery"
