#!/usr/bin/env bash
# IPv6 pinholes on the nft backend (WANIPv6FirewallControl:1; docs/NFT.md
# "IPv6 pinholes"), with real packets and a real client. The gateway's own
# forward policy is the plain Debian one docs/NFT.md shows: drop, except
# established/related, from the LAN, ICMPv6 errors, and packets from the
# WAN that igdd's table ip6 igdd marked. LAN 2001:db8:1::/64 (gateway ::1,
# lan1 ::2, lan2 ::3), WAN 2001:db8:ffff::/64 (the WAN host ::2).
#   - before any pinhole, TCP and UDP from the WAN host to lan1 are dropped;
#   - upnpc -6 (miniupnpc): -S (firewall status), -A (AddPinhole to its own
#     address, any remote host), TCP from the WAN then gets through, -K
#     (GetPinholePackets counts it), -C (CheckPinholeWorking: Yes), -G
#     (GetOutboundPinholeTimeout), -U (UpdatePinhole), -D (DeletePinhole):
#     new connections dropped again;
#   - a pinhole for lan2's address asked by lan1: 606, nothing opened;
#   - a UDP pinhole from the WAN host: the datagram gets through; with its
#     lease cut to 1 s (UpdatePinhole) the lease ends (igdd's log, the element leaves the set) and it is dropped;
#   - PCP MAP for lan1's own address (RFC 6887 firewall mode): the same
#     table, real TCP let in, and dropped after the lifetime-0 delete;
#   - table ip6 igdd deleted behind igdd's back (and one element): the
#     helper makes it again with the pinholes of its copy, and the packets
#     get through again;
#   - a restart: the pinhole comes back from the lease file; igddctl lists
#     it and pinhole-del closes it.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require upnpc nft
[ -x $PY ] || lab_skip "$PY missing"
lab_up

in_gw() { ip netns exec $NS_GW "$@"; }
GW6=2001:db8:1::1
L1_6=2001:db8:1::2
L2_6=2001:db8:1::3
WAN6=2001:db8:ffff::2
in_gw sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n $NS_GW addr add $GW6/64 dev br-lan nodad
ip -n $NS_LAN1 addr add $L1_6/64 dev eth0 nodad
ip -n $NS_LAN2 addr add $L2_6/64 dev eth0 nodad
ip -n $NS_LAN1 -6 route add default via $GW6
ip -n $NS_LAN2 -6 route add default via $GW6
ip -n $NS_GW addr add 2001:db8:ffff::1/64 dev wan0 nodad
ip -n $NS_WAN addr add $WAN6/64 dev eth0 nodad
ip -n $NS_WAN -6 route add 2001:db8:1::/64 via 2001:db8:ffff::1

# The router's own forward policy (docs/NFT.md, "IPv6 pinholes", plain Debian).
in_gw nft -f - <<'NFT' || lab_fail "router ruleset"
table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state vmap { established : accept, related : accept, invalid : drop }
		iifname "br-lan" accept
		meta l4proto ipv6-icmp icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request, echo-reply } accept
		iifname "wan0" ct status dnat accept comment "UPnP/PCP IPv4 port mappings (igdd)"
		iifname "wan0" meta mark & 0x00010000 == 0x00010000 accept comment "UPnP/PCP IPv6 pinholes (igdd)"
	}
}
NFT

PEER="$PY $HERE/peer.py -6"
URL="http://[$GW6]:5000/rootDesc.xml"
up6() { in_lan1 timeout $LAB_T upnpc -6 -i -u "$URL" "$@" 2>&1; }
up6_2() { in_lan2 timeout $LAB_T upnpc -6 -i -u "$URL" "$@" 2>&1; }
# A check that something does NOT get through waits a short fixed time.
blocked() { # blocked WHAT tcp|udp PORT
  local out
  out=$(in_wan $PEER get "$2" $L1_6 "$3" --wait 2 2>&1) && { echo "$out"; lab_fail "$1"; }
  lab_ok "$1"
}
passes() { # passes WHAT tcp|udp PORT TEXT
  local out
  out=$(in_wan $PEER get "$2" $L1_6 "$3" 2>&1)
  expect "$1" "$4" "$out"
}
in_set() { in_gw nft list set ip6 igdd "$1" 2>/dev/null | grep -q "$2"; }
not_in_set() { ! in_set "$@"; }

lab_nft_conf "$LAB_DIR/igdd.conf" "friendly_name = igdd pinhole lab"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
lab_until in_gw nft list table ip6 igdd >/dev/null 2>&1 || lab_fail "table ip6 igdd not made"

lab_spawn tcp5555 $NS_LAN1 $PEER serve tcp 5555 lan1-tcp
lab_spawn udp5556 $NS_LAN1 $PEER serve udp 5556 lan1-udp
blocked "TCP from the WAN dropped without a pinhole" tcp 5555
blocked "UDP from the WAN dropped without a pinhole" udp 5556

out=$(up6 -S)
expect "upnpc -S: firewall enabled, pinholes allowed" \
  "Firewall Enabled: Yes" "$out"
expect "upnpc -S: inbound pinholes allowed" "Inbound Pinhole Allowed: Yes" "$out"

out=$(up6 -A empty 0 $L1_6 5555 TCP 3600)
expect "upnpc -A: a pinhole for its own address" "Pinhole ID = [0-9]+" "$out"
ID=$(echo "$out" | sed -n 's/.*Pinhole ID = \([0-9]*\).*/\1/p' | head -1)
lab_until in_set pin6_any "$L1_6 . tcp . 5555" || lab_fail "element not in pin6_any"
passes "TCP from the WAN reaches lan1 through the pinhole" tcp 5555 lan1-tcp
out=$(up6 -K $ID)
expect "upnpc -K: GetPinholePackets counts the packets" "PinholePackets = [1-9][0-9]*" "$out"
out=$(up6 -C $ID)
expect "upnpc -C: CheckPinholeWorking" "IsWorking = Yes" "$out"
# -G sends its arguments as typed (not "empty", not "TCP": notes in
# docs/POLICY.md): the wildcard remote host is "", the protocol a number.
out=$(up6 -G "" 0 $L1_6 5555 6)
expect "upnpc -G: GetOutboundPinholeTimeout" "Timeout = [0-9]+" "$out"
out=$(up6 -U $ID 1800)
expect "upnpc -U: UpdatePinhole after the check" "UpdatePinhole: Pinhole ID = $ID with Lease Time: 1800" "$out"

out=$(up6 -A empty 0 $L2_6 5555 TCP 60)
expect "upnpc -A for another host: 606" "failed with code 606" "$out"
out=$(up6_2 -K $ID)
expect "another host asking for lan1's pinhole: 704 (not told it exists)" "failed with code 704" "$out"

out=$(up6 -D $ID)
expect "upnpc -D: DeletePinhole" "UPNP_DeletePinhole\(\) returned : 0" "$out"
lab_until not_in_set pin6_any "$L1_6 . tcp . 5555" || lab_fail "element still in pin6_any"
blocked "TCP from the WAN dropped again after the delete" tcp 5555
out=$(up6 -K $ID)
expect "upnpc -K after the delete: 704" "failed with code 704" "$out"

# A UDP pinhole from one remote host; once used, its lease is cut to 1 s
# (the datagram's check never races the lease).
out=$(up6 -A $WAN6 0 $L1_6 5556 UDP 3600)
expect "upnpc -A: a UDP pinhole from the WAN host" "Pinhole ID = [0-9]+" "$out"
ID=$(echo "$out" | sed -n 's/.*Pinhole ID = \([0-9]*\).*/\1/p' | head -1)
lab_until in_set pin6_rh "$WAN6 . $L1_6 . udp . 5556" || lab_fail "element not in pin6_rh"
passes "UDP from the WAN host reaches lan1" udp 5556 lan1-udp
out=$(up6 -U $ID 1)
expect "upnpc -U: a lease of 1 s" "UpdatePinhole: Pinhole ID = $ID with Lease Time: 1" "$out"
lab_wait_line "$IGDD_LOG" "pinhole expired UDP \[$L1_6\]:5556" || lab_fail "the lease did not end"
lab_until not_in_set pin6_rh "$L1_6" || lab_fail "expired element still in pin6_rh"
lab_ok "the lease ended: pinhole expired and the element left the set"
# conntrack keeps the UDP flow of the same ports; a datagram from a new
# source port is a new flow.
blocked "UDP from the WAN dropped after the lease ended" udp 5556

# PCP MAP for lan1's own IPv6 address (firewall mode): the same table.
lab_spawn tcp5557 $NS_LAN1 $PEER serve tcp 5557 lan1-pcp
blocked "TCP 5557 from the WAN dropped before the PCP MAP" tcp 5557
out=$(in_lan1 $PY $HERE/pcp_client.py "$GW6" $L1_6 map 9 6 5557 5557 600)
expect "PCP MAP for an IPv6 address: a pinhole, external = internal" \
  "opcode=129 result=0 lifetime=600 .*port=5557 addr=$L1_6\$" "$out"
lab_until in_set pin6_any "$L1_6 . tcp . 5557" || lab_fail "PCP pinhole not in pin6_any"
passes "TCP from the WAN reaches lan1 through the PCP pinhole" tcp 5557 lan1-pcp
out=$(in_lan1 $PY $HERE/pcp_client.py "$GW6" $L1_6 map 9 6 5557 5557 0)
expect "PCP MAP lifetime 0 deletes it" "opcode=129 result=0 lifetime=0" "$out"
lab_until not_in_set pin6_any "$L1_6 . tcp . 5557" || lab_fail "PCP pinhole still in pin6_any"
blocked "TCP 5557 from the WAN dropped after the PCP delete" tcp 5557

# Reconcile: the table deleted behind igdd's back comes back with its pinholes.
out=$(up6 -A empty 0 $L1_6 5555 TCP 3600)
expect "upnpc -A again" "Pinhole ID = [0-9]+" "$out"
lab_until in_set pin6_any "$L1_6 . tcp . 5555" || lab_fail "element not in pin6_any"
in_gw nft delete table ip6 igdd
lab_until in_set pin6_any "$L1_6 . tcp . 5555" || lab_fail "table ip6 igdd not made again"
lab_ok "table ip6 igdd made again with its pinhole"
passes "TCP from the WAN reaches lan1 after the reconcile" tcp 5555 lan1-tcp
in_gw nft delete element ip6 igdd pin6_any "{ $L1_6 . tcp . 5555 }"
lab_until in_set pin6_any "$L1_6 . tcp . 5555" || lab_fail "an element deleted by hand not put back"
lab_ok "an element deleted by hand is put back"

igdd_stop
in_gw nft list table ip6 igdd >/dev/null 2>&1 && lab_fail "table ip6 igdd left behind"
lab_ok "table ip6 igdd deleted at exit"

# The lease file: the pinhole comes back after a restart, with its UniqueID.
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
lab_until in_set pin6_any "$L1_6 . tcp . 5555" || lab_fail "the pinhole was not restored"
lab_ok "the pinhole restored from the lease file after a restart"
passes "TCP from the WAN reaches lan1 through the restored pinhole" tcp 5555 lan1-tcp
out=$(in_gw "$(dirname "$IGDD")/igddctl" -s "$LAB_DIR/igdd.sock" pinholes 2>&1)
expect "igddctl pinholes lists it" "^ *[0-9]+  TCP .* $L1_6 +5555 " "$out"
PID_ID=$(echo "$out" | awk -v c="$L1_6" '$0 ~ c { print $1; exit }')
out=$(in_gw "$(dirname "$IGDD")/igddctl" -s "$LAB_DIR/igdd.sock" pinhole-del "$PID_ID" 2>&1)
lab_until not_in_set pin6_any "$L1_6 . tcp . 5555" || lab_fail "igddctl pinhole-del: element still there"
lab_ok "igddctl pinhole-del closes it"
blocked "TCP from the WAN dropped after igddctl pinhole-del" tcp 5555
igdd_stop
echo "PASS"
