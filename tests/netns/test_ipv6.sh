#!/usr/bin/env bash
# IPv6 on the LAN (UDA 1.1 Annex A; RFC 6887 over IPv6), sim backend: the
# gateway's br-lan has 2001:db8:1::1/64, fd00:1::1/64 and its link-local
# address, the LAN hosts 2001:db8:1::2 (lan1) and ::3 (lan2) and ULAs;
# the WAN 2001:db8:ffff::/64. Checked with real clients and raw probes:
#   - SSDP: ssdp:byebye then ssdp:alive to ff02::c (from the link-local
#     address) and ff05::c (from the GUA) at start, LOCATION the LAN's GUA
#     in brackets and never with a zone; M-SEARCH answered on ff02::c,
#     ff05::c, ff0e::c and unicast, each with that LOCATION;
#   - upnpc -6 discovers over ff02::c, reads the description and the
#     WANIPConnection read actions over IPv6, and gets 606 for an IPv4
#     mapping (its control point address is IPv6);
#   - GUPnP 1.6 (python3-gi) from its link-local and its ULA contexts:
#     discovery, GetExternalIPAddress, 606 for AddPortMapping, and its
#     own SUBSCRIBE, whose CALLBACK names its link-local (or ULA) address
#     while the connection comes from its GUA: accepted (one MAC in the
#     gateway's neighbour table), the initial event delivered;
#   - GENA over IPv6: a subscriber's own GUA callback gets its events
#     (also after an IPv4 client's mapping change); a CALLBACK naming
#     lan2's GUA or link-local address is refused (412) and lan2 never
#     contacted;
#   - HTTP Host with IPv6 literals ([v6]:port, a link-local zone), a Host
#     of another prefix refused (400);
#   - PCP over IPv6: the ANNOUNCE to ff02::1:5350 at start, an ANNOUNCE
#     request to the router's link-local address from lan1's GUA, MAP
#     for lan1's own GUA opens a pinhole (the internal address and port
#     answered; lifetime 0 deletes it), NOT_AUTHORIZED for a well-known
#     port and for a ULA,
#     ADDRESS_MISMATCH, NAT-PMP over IPv6 answered UNSUPP_VERSION;
#   - nothing answered on the WAN side over IPv6 (SSDP, PCP, HTTP);
#   - the LAN renumbered (a new delegated prefix 2001:db8:2::/64, the old
#     one removed) without a restart: listeners, byebye/alive with the new
#     LOCATION, upnpc finds the new address, the old one no longer answers.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require upnpc curl
[ -x $PY ] || lab_skip "$PY missing"
lab_up
ip netns exec $NS_GW sysctl -qw net.ipv6.conf.all.forwarding=1
GW6=2001:db8:1::1
L1_6=2001:db8:1::2
L2_6=2001:db8:1::3
ip -n $NS_GW addr add $GW6/64 dev br-lan nodad
ip -n $NS_GW addr add fd00:1::1/64 dev br-lan nodad
ip -n $NS_LAN1 addr add $L1_6/64 dev eth0 nodad
ip -n $NS_LAN1 addr add fd00:1::2/64 dev eth0 nodad
ip -n $NS_LAN2 addr add $L2_6/64 dev eth0 nodad
ip -n $NS_GW addr add 2001:db8:ffff::1/64 dev wan0 nodad
ip -n $NS_WAN addr add 2001:db8:ffff::2/64 dev eth0 nodad
ip -n $NS_WAN route add 2001:db8:1::/64 via 2001:db8:ffff::1
PROBE="$PY $HERE/ssdp_raw.py"
PCPC="$PY $HERE/pcp_client.py"
SUB="$HERE/gena_subscriber.py"
IGD1=urn:schemas-upnp-org:device:InternetGatewayDevice:1

# upnpc6_s DESC: upnpc -6 -i -s found the gateway at DESC (run it with lab_until:
# it waits 2 s for each search and cannot be told to wait longer; on a
# slow machine it may miss the answers); its output in $upnpc_out.
upnpc6_s() {
  upnpc_out=$(in_lan1 timeout $LAB_T upnpc -6 -i -s 2>&1)
  echo "$upnpc_out" | grep -q "desc: $1"
}
# link_local NS DEV: the interface's link-local address once DAD is done.
link_local() {
  ip -n "$1" -6 addr show dev "$2" scope link | grep -v tentative |
    sed -n 's/.*inet6 \(fe80[^/]*\)\/.*/\1/p' | head -1
}
ll_ready() { [ -n "$(link_local "$1" "$2")" ]; }
wait_for "link-local addresses" ll_ready $NS_GW br-lan
wait_for "lan1's link-local address" ll_ready $NS_LAN1 eth0
wait_for "lan2's link-local address" ll_ready $NS_LAN2 eth0
GW_LL=$(link_local $NS_GW br-lan)
L2_LL=$(link_local $NS_LAN2 eth0)

# Listeners first: the start-up announcements (SSDP and PCP) are heard.
lab_listen_announcements $NS_LAN1 6 "$LAB_DIR/notify6.jsonl" "$LAB_DIR/announce6.out"
NPID=$LAB_SSDP_PID APID=$LAB_PCP_PID
lab_conf "$LAB_DIR/igdd.conf"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$IGDD_LOG" | head -1)
[ -n "$port" ] || lab_fail "no http port in the start-up line"
LOC6="http://\[$GW6\]:$port/rootDesc"

# 1. PCP ANNOUNCE to ff02::1:5350 from the router's link-local address.
wait $APID
out=$(cat "$LAB_DIR/announce6.out")
expect "PCP ANNOUNCE to [ff02::1]:5350 from the link-local address" "pcp-announce from=$GW_LL result=0" "$out"

# 2. ssdp:byebye, then ssdp:alive on ff02::c (LOCATION the GUA) and ff05::c.
N6="$LAB_DIR/notify6.jsonl"
lab_expect_line "ssdp:byebye on ff02::c" "$N6" '"host": "\[FF02::C\]:1900", "location": null, "nt": "upnp:rootdevice", "nts": "ssdp:byebye"'
lab_expect_line "ssdp:alive on ff02::c from the link-local address, LOCATION the GUA" "$N6" \
  "\"from\": \"$GW_LL\", \"host\": \"\\[FF02::C\\]:1900\", \"location\": \"$LOC6.xml\", \"nt\": \"upnp:rootdevice\", \"nts\": \"ssdp:alive\""
lab_expect_line "ssdp:alive on ff05::c from the GUA" "$N6" \
  "\"from\": \"$GW6\", \"host\": \"\\[FF05::C\\]:1900\", \"location\": \"$LOC6.xml\""
lab_bg_stop $NPID
out=$(cat "$N6")
$PY - "$N6" <<'PYEOF' || { echo "$out" | sed 's/^/  | /'; lab_fail "ssdp:byebye before ssdp:alive on ff02::c"; }
import json, sys
seen = [json.loads(l) for l in open(sys.argv[1])][1:]
ff02 = [o["nts"] for o in seen if o.get("host") == "[FF02::C]:1900"]
assert "ssdp:byebye" in ff02 and "ssdp:alive" in ff02, ff02
assert ff02.index("ssdp:byebye") < ff02.index("ssdp:alive"), ff02
PYEOF
lab_ok "ssdp:byebye before ssdp:alive on ff02::c"
refute "no zone in any LOCATION" '"location": "[^"]*%' "$out"

# 3. M-SEARCH on each scope and unicast: answered with the GUA LOCATION.
out=$(in_lan1 $PROBE search ff02::c eth0 $IGD1 --want 1)
expect "M-SEARCH on ff02::c (link-local source) answered, LOCATION the GUA" \
  "\"location\": \"$LOC6\\.?1?\\.xml\"|\"location\": \"$LOC6" "$out"
expect "  ... with the IGD:1 description" "\"location\": \"${LOC6}1.xml\", \"st\": \"$IGD1\"" "$out"
out=$(in_lan1 $PROBE search ff05::c eth0 upnp:rootdevice --src fd00:1::2 --want 1)
expect "M-SEARCH on ff05::c from the ULA answered, LOCATION the GUA" "\"location\": \"$LOC6.xml\"" "$out"
out=$(in_lan1 $PROBE search ff0e::c eth0 upnp:rootdevice --src fd00:1::2 --want 1)
expect "M-SEARCH on ff0e::c (GUPnP's ULA and global contexts) answered" "\"location\": \"$LOC6.xml\"" "$out"
out=$(in_lan1 $PROBE search $GW6 eth0 ssdp:all --src $L1_6 --want 10)
expect "unicast M-SEARCH to the GUA: the 10 answers" '"answers": 10' "$out"
out=$(in_wan $PROBE search 2001:db8:ffff::1 eth0 ssdp:all --src 2001:db8:ffff::2 --wait 1.5)
expect "M-SEARCH from the WAN to the WAN address: no answer" '"answers": 0' "$out"
out=$(in_wan $PROBE search ff02::c eth0 ssdp:all --wait 1.5)
expect "M-SEARCH on ff02::c on the WAN link: no answer" '"answers": 0' "$out"
out=$(in_wan $PROBE search $GW6 eth0 ssdp:all --src 2001:db8:ffff::2 --wait 1.5)
expect "M-SEARCH from the WAN to the LAN's GUA: no answer" '"answers": 0' "$out"

# 4. upnpc -6: discovery over ff02::c, the description, read actions over
# IPv6, and 606 for an IPv4 mapping (through the description's URL: the
# discovery is checked once).
lab_until upnpc6_s "${LOC6}1.xml"
out=$upnpc_out
expect "upnpc -6 finds the gateway (LOCATION the GUA, no zone)" "desc: ${LOC6}1.xml" "$out"
expect "upnpc -6 connects from its GUA" "Local LAN ip address : $L1_6" "$out"
expect "upnpc -6 reads ExternalIPAddress over IPv6" "ExternalIPAddress = $GW_WAN_IP" "$out"
expect "upnpc -6 reads the connection status over IPv6" "Status : Connected" "$out"
DESC6="http://[$GW6]:$port/rootDesc.xml"
out=$(in_lan1 timeout $LAB_T upnpc -6 -i -u "$DESC6" -a $LAN1_IP 24000 24000 TCP 600 2>&1)
expect "upnpc -6: an IPv4 mapping from an IPv6 control point is refused (606)" "failed with code 606" "$out"
out=$(in_lan1 timeout $LAB_T upnpc -6 -i -u "$DESC6" -l 2>&1)
expect "upnpc -6 -l: GetGenericPortMappingEntry ends at once (713)" "GetGenericPortMappingEntry\\(\\) returned 713" "$out"

# 5. HTTP: Host with IPv6 literals.
code() { in_lan1 curl -g -s -o /dev/null -w '%{http_code}' --max-time $LAB_T "$@"; }
[ "$(code "http://[$GW6]:$port/rootDesc.xml")" = 200 ] || lab_fail "GET over IPv6 (Host [GUA]:port)"
lab_ok "GET /rootDesc.xml over IPv6, Host [$GW6]:$port"
[ "$(code -H "Host: [$GW_LL%25eth0]:$port" "http://[$GW6]:$port/rootDesc.xml")" = 200 ] ||
  lab_fail "Host with the link-local address and a zone"
lab_ok "Host [link-local%25zone]:port (miniupnpc's SOAP requests) accepted"
[ "$(code "http://[$GW_LL%25eth0]:$port/rootDesc.xml")" = 200 ] || lab_fail "GET to the link-local address"
lab_ok "GET to the link-local listener"
[ "$(code -H "Host: [2001:db8:9::1]:$port" "http://[$GW6]:$port/rootDesc.xml")" = 400 ] ||
  lab_fail "Host naming another address"
lab_ok "Host [2001:db8:9::1] (not the LAN's) refused: 400"
# (no answer expected: a short fixed wait, slowness can only make it pass)
out=$(in_wan curl -g -s --max-time 5 "http://[$GW6]:$port/rootDesc.xml" 2>&1)
refute "HTTP from the WAN to the LAN's GUA: nothing answered" "HTTP/|<root" "$out"
out=$(in_wan curl -g -s --max-time 5 "http://[2001:db8:ffff::1]:$port/rootDesc.xml" 2>&1)
refute "HTTP to the WAN address: nothing listens" "HTTP/|<root" "$out"

# 6. GENA over IPv6: the subscriber's own GUA; a CALLBACK naming another host refused.
lab_bg $NS_LAN1 $PY "$SUB" subscribe --event-url "http://[$GW6]:$port/evt/IPConn" --bind $L1_6 \
  --count 2 --duration $LAB_T >"$LAB_DIR/sub6.jsonl"
SPID=$LAB_PID
wait_for "the initial event over IPv6" grep -q '"seq": 0' "$LAB_DIR/sub6.jsonl"
in_lan1 timeout $LAB_T upnpc -i -u "http://$GW_LAN_IP:$port/rootDesc.xml" -a $LAN1_IP 24001 24001 TCP 600 \
  >/dev/null 2>&1 || lab_fail "upnpc (IPv4) -a"
wait $SPID
out=$(cat "$LAB_DIR/sub6.jsonl")
expect "SUBSCRIBE over IPv6 with the subscriber's own GUA: 200" '"event": "subscribe".*"status": 200' "$out"
expect "NOTIFY over IPv6 after an IPv4 client's mapping (SEQ 1, one entry)" '"seq": 1.*"PortMappingNumberOfEntries": "1"' "$out"
lab_bg $NS_LAN2 $PY "$SUB" listen --bind :: --port 24100 --duration $LAB_T >"$LAB_DIR/victim6.jsonl"
VPID=$LAB_PID
wait_for "lan2 listening" grep -q ready "$LAB_DIR/victim6.jsonl"
out=$(in_lan1 $PY "$SUB" subscribe --event-url "http://[$GW6]:$port/evt/IPConn" --bind $L1_6 \
  --callback "http://[$L2_6]:24100/x" --duration 1 2>&1)
expect "a CALLBACK naming lan2's GUA: 412" '"status": 412' "$out"
out=$(in_lan1 $PY "$SUB" subscribe --event-url "http://[$GW6]:$port/evt/IPConn" --bind $L1_6 \
  --callback "http://[$L2_LL]:24100/x" --duration 1 2>&1)
expect "a CALLBACK naming lan2's link-local address (another MAC): 412" '"status": 412' "$out"
sleep 1      # a NOTIFY that should not come: a short fixed wait (slowness can only pass)
lab_bg_stop $VPID
refute "lan2 was never contacted" '"notify"|"from"' "$(cat "$LAB_DIR/victim6.jsonl")"

# 7. GUPnP 1.6 from its link-local and ULA contexts.
if $PY -c 'import gi; gi.require_version("GUPnP", "1.6"); from gi.repository import GUPnP' 2>/dev/null; then
  for ctx in link-local ula; do
    out=$(in_lan1 $PY "$HERE/gupnp6_client.py" --context $ctx --iface eth0 \
      --map-client $LAN1_IP 2>&1)
    expect "GUPnP ($ctx context) discovers the gateway over IPv6" "\"found\": \"${LOC6}.xml\"" "$out"
    expect "GUPnP ($ctx): GetExternalIPAddress over IPv6" "\"action\": \"GetExternalIPAddress\", \"error\": null, \"ok\": true, \"value\": \"$GW_WAN_IP\"" "$out"
    expect "GUPnP ($ctx): AddPortMapping for an IPv4 client refused, 606" '"action": "AddPortMapping", "error": 606' "$out"
    expect "GUPnP ($ctx): its SUBSCRIBE (CALLBACK its $ctx address) accepted, initial event delivered" \
      "\"event\": \"ExternalIPAddress\", \"value\": \"$GW_WAN_IP\"" "$out"
  done
else
  echo "skipped: GUPnP 1.6 for Python missing (python3-gi, gir1.2-gupnp-1.6)"
fi

# 8. PCP over IPv6.
out=$(in_lan1 $PCPC "$GW_LL%eth0" $L1_6 announce)
expect "PCP ANNOUNCE to the router's link-local address from the GUA" "version=2 opcode=128 result=0" "$out"
# MAP for an IPv6 address: a pinhole (firewall mode), external = internal.
out=$(in_lan1 $PCPC "$GW_LL%eth0" $L1_6 map 7 6 5555 5555 600)
expect "PCP MAP for an IPv6 address: a pinhole, the internal address and port answered" \
  "opcode=129 result=0 lifetime=600 .*port=5555 addr=$L1_6\$" "$out"
out=$(in_lan1 $PCPC "$GW6" $L1_6 map 7 17 5555 5555 600)
expect "PCP MAP to the GUA: UDP pinhole" "opcode=129 result=0 .*port=5555 addr=$L1_6\$" "$out"
out=$(in_lan1 $PCPC "$GW6" $L1_6 map 7 6 80 80 600)
expect "PCP MAP for a well-known port: NOT_AUTHORIZED" "opcode=129 result=2 " "$out"
out=$(in_lan1 $PCPC "$GW_LL%eth0" fd00:1::2 map 7 6 5555 5555 600)
expect "PCP MAP for the ULA (not reachable from the WAN): NOT_AUTHORIZED" "opcode=129 result=2 " "$out"
out=$(in_lan1 $PCPC "$GW6" $L1_6 map 7 6 5555 5555 0)
expect "PCP MAP lifetime 0 deletes the pinhole" "opcode=129 result=0 lifetime=0" "$out"
out=$(in_lan1 $PCPC "$GW_LL%eth0" fd00:1::2 announce)
expect "PCP from the ULA answered" "opcode=128 result=0" "$out"
out=$(in_lan1 $PY - "$GW_LL%eth0" $L1_6 <<'PYEOF'
import os, socket, struct, sys
ai = socket.getaddrinfo(sys.argv[1], 5351, socket.AF_INET6, socket.SOCK_DGRAM)[0][4]
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind((sys.argv[2], 0))
s.settimeout(float(os.environ["IGDD_TEST_TIMEOUT"]))
# the header names another address than the source: ADDRESS_MISMATCH (12)
s.sendto(struct.pack("!BBHI", 2, 0, 0, 0) + socket.inet_pton(socket.AF_INET6, "2001:db8:1::99"), ai)
d = s.recvfrom(2048)[0]
print("mismatch result=%d" % d[3])
s.sendto(b"\0\0", ai)           # NAT-PMP over IPv6
d = s.recvfrom(2048)[0]
print("natpmp version=%d result=%d" % (d[0], d[3]))
PYEOF
)
expect "PCP: the header's address is not the source: ADDRESS_MISMATCH" "mismatch result=12" "$out"
expect "NAT-PMP over IPv6: PCP's UNSUPP_VERSION" "natpmp version=2 result=1" "$out"
out=$(in_wan $PCPC -w 3 2001:db8:ffff::1 2001:db8:ffff::2 announce)
expect "PCP from the WAN to the WAN address: no answer" "^timeout" "$out"
out=$(in_wan $PCPC -w 3 $GW6 2001:db8:ffff::2 announce)
expect "PCP from the WAN to the LAN's GUA: no answer" "^timeout" "$out"

# 9. Renumbering without a restart: a new prefix, the old one removed.
lab_bg $NS_LAN1 $PROBE listen eth0 >"$LAB_DIR/notify6b.jsonl" 2>&1
NPID=$LAB_PID
wait_for "SSDP listener" grep -q ready "$LAB_DIR/notify6b.jsonl"
NEW6=2001:db8:2::1
ip -n $NS_GW addr add $NEW6/64 dev br-lan nodad
ip -n $NS_LAN1 addr add 2001:db8:2::2/64 dev eth0 nodad
ip -n $NS_GW addr del $GW6/64 dev br-lan
ip -n $NS_LAN1 addr del $L1_6/64 dev eth0
LOCN="http://\[$NEW6\]:$port/rootDesc"
renumbered() { # the last word about br-lan has the new prefix and not the old
  grep "LAN br-lan addresses now" "$IGDD_LOG" | tail -1 | grep " $NEW6/64" | grep -vq " $GW6/"
}
wait_for "the new prefix followed, the old one dropped" renumbered
lab_ok "rtnetlink: the LAN's new prefix followed, the old one dropped, no restart"
lab_expect_line "renumbered: ssdp:byebye" "$LAB_DIR/notify6b.jsonl" '"nts": "ssdp:byebye"'
lab_expect_line "renumbered: ssdp:alive with the new LOCATION" "$LAB_DIR/notify6b.jsonl" "\"location\": \"$LOCN"
lab_bg_stop $NPID
lab_until upnpc6_s "${LOCN}1.xml"
out=$upnpc_out
expect "upnpc -6 finds the new address" "desc: ${LOCN}1.xml" "$out"
expect "upnpc -6 reads ExternalIPAddress at the new address" "ExternalIPAddress = $GW_WAN_IP" "$out"
[ "$(code "http://[$NEW6]:$port/rootDesc.xml")" = 200 ] || lab_fail "HTTP on the new address"
lab_ok "HTTP listens on the new address"
lab_wait_line "$IGDD_LOG" "http: no longer listening on $GW6" || lab_fail "the old address's listener stays"
lab_ok "the old address's listener closed"
kill -0 $IGDD_PID 2>/dev/null || lab_fail "igdd died"
lab_ok "IPv6 on the LAN"
