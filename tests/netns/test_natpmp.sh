#!/usr/bin/env bash
# NAT-PMP (RFC 6886) and PCP (RFC 6887) in namespaces (sim backend): the
# real client natpmpc from a LAN host (external address, TCP and UDP
# mappings seen by upnpc -l / -L, delete), pcp_client.py (MAP create,
# renew, delete, ANNOUNCE, ADDRESS_MISMATCH, nonce mismatch, the rate
# limit), the multicast announcements received on the LAN, and nothing
# answered towards the WAN side. Last, when nft is installed, the same
# through the nft backend and its privileged helper, with real packets.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require natpmpc upnpc
[ -x $PY ] || lab_skip "$PY missing"
lab_up
LAB_HTTP_PORT=5000
lab_conf "$LAB_DIR/igdd.conf" "connection_control = $LAN1_IP"
PCPC="$PY $HERE/pcp_client.py"


# The start-up announcements, heard on the LAN (the first goes at once).
lab_bg $NS_LAN1 $PCPC listen $LAB_T >"$LAB_DIR/listen.out" 2>&1
LISTEN_PID=$LAB_PID
lab_wait_line "$LAB_DIR/listen.out" listening || lab_fail "the announcement listener did not start"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
wait $LISTEN_PID
out=$(cat "$LAB_DIR/listen.out")
expect "NAT-PMP announcement to 224.0.0.1:5350" "natpmp from=$GW_LAN_IP result=0 epoch=[0-9]+ addr=$GW_WAN_IP" "$out"
expect "PCP ANNOUNCE to 224.0.0.1:5350" "pcp-announce from=$GW_LAN_IP result=0" "$out"

natpmpc1() { in_lan1 timeout $LAB_T natpmpc -g $GW_LAN_IP "$@" 2>&1; }
# A fixed HTTP port: upnpc skips discovery (-u), which test_discovery.sh covers.
upnpc1() { in_lan1 timeout $LAB_T upnpc -i -u http://$GW_LAN_IP:5000/rootDesc.xml "$@" 2>&1; }

out=$(natpmpc1)
expect "natpmpc: external address" "Public IP address : $GW_WAN_IP" "$out"
out=$(natpmpc1 -a 18500 8500 tcp 3600)
expect "natpmpc: TCP mapping" "Mapped public port 18500 protocol TCP to local port 8500 lif(e)?time 3600" "$out"
out=$(natpmpc1 -a 18501 8501 udp 30)
expect "natpmpc: UDP mapping, lifetime raised to the minimum" "Mapped public port 18501 protocol UDP to local port 8501 lif(e)?time 120" "$out"
# Renewal with another suggested port keeps the mapping's port.
out=$(natpmpc1 -a 18999 8500 tcp 3600)
expect "natpmpc: renewal keeps the external port" "Mapped public port 18500 protocol TCP" "$out"

out=$(upnpc1 -l)
expect "upnpc -l shows the NAT-PMP TCP mapping" "TCP +18500->$LAN1_IP:8500 +'NAT-PMP $LAN1_IP:8500'" "$out"
expect "upnpc -l shows the NAT-PMP UDP mapping" "UDP +18501->$LAN1_IP:8501 +'NAT-PMP $LAN1_IP:8501'" "$out"
out=$(upnpc1 -L)
expect "upnpc -L shows the NAT-PMP mapping" "TCP 18500->$LAN1_IP:8500 +'NAT-PMP $LAN1_IP:8500'" "$out"
# UPnP may not delete it (made by another mechanism).
out=$(upnpc1 -d 18500 TCP)
expect "upnpc -d of a NAT-PMP mapping is refused" "606" "$out"
# Another client asking for the same port gets another one.
out=$(in_lan2 timeout $LAB_T natpmpc -g $GW_LAN_IP -a 18500 8500 tcp 3600 2>&1)
expect "lan2: the port lan1 holds is not taken" "Mapped public port 1850[1-9] protocol TCP to local port 8500" "$out"

out=$(natpmpc1 -a 18500 8500 tcp 0)
expect "natpmpc: delete" "Mapped public port 0 protocol TCP to local port 8500 lif(e)?time 0" "$out"
out=$(upnpc1 -l)
echo "$out" | grep -q "18500->$LAN1_IP" && { echo "$out" | sed 's/^/  | /'; lab_fail "deleted mapping still listed"; }
lab_ok "the deleted mapping is gone from upnpc -l"
out=$(natpmpc1 -a 0 0 udp 0)
expect "natpmpc: delete all UDP" "Mapped public port 0 protocol UDP to local port 0" "$out"
out=$(upnpc1 -l)
echo "$out" | grep -q "18501->$LAN1_IP" && lab_fail "delete all left the UDP mapping"
lab_ok "delete all removed the UDP mapping"
grep -q "NAT-PMP added TCP/18500" "$IGDD_LOG" || lab_fail "no log line for the NAT-PMP mapping"
lab_ok "mappings are logged"

# PCP: MAP create, renew (same nonce), another nonce, delete.
# pcp1 [-w SECONDS] CLIENT_IP ...: a PCP exchange from lan1 (-w: how long
# to wait when no answer is expected).
pcp1() {
  local w=()
  [ "$1" = -w ] && { w=(-w "$2"); shift 2; }
  in_lan1 $PCPC "${w[@]}" $GW_LAN_IP "$@" 2>&1
}
out=$(pcp1 $LAN1_IP map 7 6 9100 19100 600)
expect "PCP MAP create" "result=0 lifetime=600 .*port=19100 addr=$GW_WAN_IP" "$out"
out=$(pcp1 $LAN1_IP map 7 6 9100 0 1200)
expect "PCP MAP renew keeps the port" "result=0 lifetime=1200 .*port=19100" "$out"
out=$(pcp1 $LAN1_IP map 8 6 9100 0 1200)
expect "PCP MAP with another nonce: NOT_AUTHORIZED" "result=2 " "$out"
out=$(upnpc1 -l)
expect "upnpc -l shows the PCP mapping" "TCP +19100->$LAN1_IP:9100 +'PCP $LAN1_IP:9100'" "$out"
out=$(pcp1 $LAN1_IP map 7 6 9100 0 0)
expect "PCP MAP delete" "result=0 lifetime=0" "$out"
out=$(upnpc1 -l)
echo "$out" | grep -q "19100->$LAN1_IP" && lab_fail "PCP delete left the mapping"
lab_ok "the PCP mapping is gone"
out=$(pcp1 $LAN1_IP map 7 17 9200 0 600)
expect "PCP MAP UDP" "result=0 lifetime=600 .*port=9200" "$out"
out=$(pcp1 $LAN1_IP announce)
expect "PCP ANNOUNCE" "version=2 opcode=128 result=0 lifetime=0 epoch=[0-9]+ len=24" "$out"
out=$(pcp1 $LAN2_IP map 7 6 9300 0 600)
expect "PCP header address not the source: ADDRESS_MISMATCH" "result=12 " "$out"
out=$(pcp1 $LAN1_IP map 7 6 22 22 600)
expect "PCP well-known port: NOT_AUTHORIZED" "result=2 " "$out"

# Message size: over 1100 bytes MALFORMED_REQUEST (1100 copied back); over
# the receive buffer (2048) dropped and logged.
out=$(pcp1 $LAN1_IP big 1104)
expect "PCP 1104 bytes: MALFORMED_REQUEST" "result=3 .*len=1100" "$out"
out=$(pcp1 -w 3 $LAN1_IP big 3000)
expect "3000 bytes: no answer" "timeout" "$out"
lab_wait_line "$IGDD_LOG" "datagram longer than 2048 bytes dropped" || lab_fail "no log line for the long datagram"
lab_ok "long datagram logged"

# The rate limit: a burst from one host is cut, then it is answered again.
# A source may send IGDD_PCP_RATE_BURST (32) at once and
# IGDD_PCP_RATE_PER_S (16) per second after (src/util/limits.h): of 200
# sent at once, at most 32 + 16 per second that handling them took are
# answered (the bound grows with the time measured, so a slow run
# cannot break it), and at least half the burst.
out=$(in_lan2 $PCPC $GW_LAN_IP $LAN2_IP flood 200)
n=$(echo "$out" | sed -n 's/^answered=\([0-9]*\) .*/\1/p')
max=$(echo "$out" | awk -F'seconds=' 'NF == 2 { printf "%d\n", 32 + 16 * $2 + 1 }')
[ -n "$n" ] && [ -n "$max" ] && [ "$n" -ge 16 ] && [ "$n" -le "$max" ] && [ "$n" -lt 200 ] ||
  lab_fail "rate limit: $out (at most $max answers expected)"
lab_ok "rate limit: $n of 200 answered ($out)"
lab_wait_line "$IGDD_LOG" "rate limit reached" || lab_fail "no rate-limit log line"
lab_ok "rate limit logged"
sleep 1.5                       # tokens come back (at least this long: a lower bound)
out=$(in_lan2 $PCPC $GW_LAN_IP $LAN2_IP announce)
expect "lan2 answered again after a pause" "result=0" "$out"

# Nothing is answered towards the WAN (to either gateway address).
in_wan ip route add 192.168.77.0/24 via $GW_WAN_IP
out=$(in_wan $PCPC -w 3 $GW_WAN_IP $WAN_IP announce)
expect "no answer from the WAN address" "timeout" "$out"
out=$(in_wan $PCPC -w 3 $GW_LAN_IP $WAN_IP announce)
expect "no answer to a WAN host sending to the LAN address" "timeout" "$out"
out=$(in_wan timeout 5 natpmpc -g $GW_LAN_IP 2>&1)       # no answer expected: a short fixed wait
echo "$out" | grep -q "Public IP address" && lab_fail "NAT-PMP answered a WAN host"
lab_ok "natpmpc from the WAN gets nothing"

# The WAN connection goes down: no external address (NAT-PMP result 3, PCP
# NETWORK_FAILURE). When it comes back, a new epoch is announced: its
# seconds count from the reconnection, so they are at most the seconds
# measured from the RequestConnection to the announcement (an upper bound
# from measured time), while the old epoch had passed 2 by then.
soap() { lab_soap $NS_LAN1 "http://$GW_LAN_IP:5000/ctl/IPConn" "$1"; }
sleep 2       # the epoch has counted past 1 by now (a lower bound)
out=$(pcp1 $LAN1_IP announce)
e1=$(echo "$out" | sed -n 's/.* epoch=\([0-9]*\) .*/\1/p')
[ -n "$e1" ] && [ "$e1" -ge 2 ] || lab_fail "the epoch before the disconnection: $out"
soap ForceTermination || lab_fail "ForceTermination"
out=$(pcp1 $LAN1_IP natpmp-ext)
expect "WAN down: NAT-PMP external address result 3" "natpmp result=3 addr=0.0.0.0" "$out"
out=$(pcp1 $LAN1_IP map 7 6 9400 0 600)
expect "WAN down: PCP NETWORK_FAILURE" "result=7 lifetime=30" "$out"
lab_bg $NS_LAN1 $PCPC listen $LAB_T >"$LAB_DIR/listen2.out" 2>&1
LISTEN_PID=$LAB_PID
lab_wait_line "$LAB_DIR/listen2.out" listening || lab_fail "the announcement listener did not start"
t0=$(lab_now_ms)
soap RequestConnection || lab_fail "RequestConnection"
wait $LISTEN_PID
el=$(( ($(lab_now_ms) - t0 + 999) / 1000 ))
out=$(cat "$LAB_DIR/listen2.out")
expect "WAN back: NAT-PMP announcement" "natpmp from=$GW_LAN_IP result=0 epoch=[0-9]+ addr=$GW_WAN_IP" "$out"
expect "WAN back: PCP ANNOUNCE" "pcp-announce from=$GW_LAN_IP result=0 epoch=[0-9]+" "$out"
for e in $(echo "$out" | sed -n 's/.* epoch=\([0-9]*\).*/\1/p'); do
  [ "$e" -le $((el + 1)) ] || lab_fail "epoch $e announced within $el s of the reconnection: not a new epoch (it was $e1 before)"
done
lab_ok "WAN back: both announce a new epoch (at most $el s old; $e1 before the disconnection)"
out=$(pcp1 $LAN1_IP map 7 6 9400 0 600)
expect "WAN back: PCP MAP works again" "result=0 lifetime=600" "$out"

# ---- the nft backend: real NAT rules through the privileged helper ----
if ! command -v nft >/dev/null 2>&1; then
  echo "PASS (nft not installed: the nft part was not run)"
  exit 0
fi
igdd_stop
PEER="$PY $HERE/peer.py"
lab_bg $NS_LAN1 $PEER serve tcp 8600 "natpmp service" >"$LAB_DIR/serve.out" 2>&1
lab_wait_line "$LAB_DIR/serve.out" ready || lab_fail "the LAN service did not start"
lab_nft_conf "$LAB_DIR/igdd-nft.conf"
igdd_start "$IGDD" "$LAB_DIR/igdd-nft.conf"
out=$(in_wan $PEER get tcp $GW_WAN_IP 18600)
expect "nft: no mapping yet, 18600 closed" "FAIL" "$out"
out=$(natpmpc1 -a 18600 8600 tcp 600)
expect "nft: natpmpc maps TCP 18600" "Mapped public port 18600 protocol TCP to local port 8600" "$out"
out=$(ip netns exec $NS_GW nft list ruleset)
expect "nft: the mapping is a dnat element" "tcp \. 18600 : $LAN1_IP \. 8600" "$out"
out=$(in_wan $PEER get tcp $GW_WAN_IP 18600)
expect "nft: TCP from the WAN reaches the LAN service" "^natpmp service$" "$out"
out=$(natpmpc1 -a 18600 8600 tcp 0)
expect "nft: natpmpc delete" "Mapped public port 0 protocol TCP" "$out"
out=$(in_wan $PEER get tcp $GW_WAN_IP 18600)
expect "nft: deleted, 18600 closed again" "FAIL" "$out"
out=$(pcp1 $LAN1_IP map 5 6 8600 18601 600)
expect "nft: PCP MAP 18601" "result=0 lifetime=600 .*port=18601" "$out"
out=$(in_wan $PEER get tcp $GW_WAN_IP 18601)
expect "nft: TCP through the PCP mapping" "^natpmp service$" "$out"
cat "$LAB_DIR"/state/leases.* 2>/dev/null | grep -q " 18601 .* pcp " ||
  { cat "$LAB_DIR"/state/leases.* 2>/dev/null | sed 's/^/  | /'; lab_fail "nft: the PCP mapping is not in the lease file"; }
lab_ok "nft: the PCP mapping is in the lease file"

echo "PASS"
