#!/usr/bin/env bash
# The gateway keeps its own services and addresses (docs/LIMITS.md,
# "Attacks and defences"), with the nft backend and again with the sim
# backend (the lab's), against real clients:
#   - a LAN host asks, through UPnP (upnpc), NAT-PMP (natpmpc) and PCP, for
#     the external port of a TCP or UDP service the gateway listens on, of
#     a port its firewall forwards statically, of igdd's own SSDP socket:
#     718, or another port; the WAN host still reaches the gateway's
#     service;
#   - a service starts listening on a port a mapping holds: the mapping is
#     removed (logged, evented), and the WAN host reaches the service;
#   - igddctl: an admin mapping beyond the port policy only with root's
#     grant, never on the gateway's own port or address;
#   - the helper's copy of the port policy follows the configuration file,
#     on a reload and when the file changes without one;
#   - a compromised engine (tests/priv_attack) sends the helper crafted
#     requests: DNAT to the gateway's own addresses, well-known ports, the
#     gateway's ports, forged grants, malformed messages: all refused, and
#     none reaches the kernel's table.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
ATTACK=${IGDD_PRIV_ATTACK:-$(dirname "$IGDD")/tests/priv_attack}
CTL=$(dirname "$IGDD")/igddctl
lab_require upnpc natpmpc nft setpriv
[ -x $PY ] || lab_skip "$PY missing"
[ -x "$ATTACK" ] || lab_skip "$ATTACK not built"
lab_up

PEER="$PY $HERE/peer.py"
PCPC="$PY $HERE/pcp_client.py"
URL=http://$GW_LAN_IP:5000/rootDesc.xml
in_gw() { ip netns exec $NS_GW "$@"; }
upnpc1() { in_lan1 timeout $LAB_T upnpc -i -u $URL "$@" 2>&1; }
natpmpc1() { in_lan1 timeout $LAB_T natpmpc -g $GW_LAN_IP "$@" 2>&1; }
ctl() { timeout $LAB_T "$CTL" -s "$LAB_DIR/igdd.sock" "$@" 2>&1; }
# wait_log PATTERN: until igdd's log shows it (the checks run every 3 s;
# a UDP port must be seen at two of them), at most the safety timeout.
wait_log() { lab_wait_line "$IGDD_LOG" "$1"; }
dnat_elems() { in_gw nft list map ip igdd dnat_any 2>/dev/null; }
# The external port natpmpc / upnpc -n / pcp_client got.
natpmp_port() { sed -n 's/.*Mapped public port \([0-9]*\) .*/\1/p' | head -1; }

# ---- the gateway's own services, a static forward, a second address ----
lab_spawn gw_tcp $NS_GW $PEER serve tcp 8443 "the gateway's tcp service"
lab_spawn gw_udp $NS_GW $PEER serve udp 51820 "the gateway's udp service"
lab_spawn lan1_tcp $NS_LAN1 $PEER serve tcp 8443 "lan1 tcp"
lab_spawn lan1_udp $NS_LAN1 $PEER serve udp 51820 "lan1 udp"
lab_spawn lan1_18500 $NS_LAN1 $PEER serve tcp 18500 "lan1 18500"
lab_spawn lan1_18600 $NS_LAN1 $PEER serve tcp 18600 "lan1 18600"
lab_spawn lan2_9443 $NS_LAN2 $PEER serve tcp 9443 "the static forward's target"
in_gw nft -f - <<NFT || lab_fail "static forward rule"
table inet fw {
	chain dstnat {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "wan0" tcp dport 9443 dnat ip to $LAN2_IP:9443
	}
}
NFT
in_gw ip addr add 192.168.77.250/24 dev br-lan

nft_conf() {
  chmod 755 "$LAB_DIR"            # the helper (nobody) reads the configuration again
  lab_nft_conf "$LAB_DIR/igdd.conf" "friendly_name = igdd router lab" "secure_mode = no"
}

# ---- run 1: the nft backend ----
nft_conf
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"

out=$(upnpc1 -a $LAN1_IP 8443 8443 TCP 3600)
expect "UPnP AddPortMapping of the gateway's TCP service port: 718" "718" "$out"
out=$(upnpc1 -a $LAN1_IP 51820 51820 UDP 3600)
expect "UPnP AddPortMapping of the gateway's UDP service port: 718" "718" "$out"
out=$(upnpc1 -a $LAN1_IP 9443 9443 TCP 3600)
expect "UPnP AddPortMapping of a port the firewall forwards statically: 718" "718" "$out"
out=$(upnpc1 -a $LAN1_IP 1900 1900 UDP 3600)
expect "UPnP AddPortMapping of igdd's own SSDP port (bound to the wildcard): 718" "718" "$out"
out=$(upnpc1 -n $LAN1_IP 8443 8443 TCP 3600)
expect "UPnP AddAnyPortMapping of the service's port: another port" \
  "external $GW_WAN_IP:[0-9]+ TCP is redirected to internal $LAN1_IP:8443" "$out"
any=$(echo "$out" | sed -n "s/.*external $GW_WAN_IP:\([0-9]*\) TCP.*/\1/p" | head -1)
[ -n "$any" ] && [ "$any" != 8443 ] || lab_fail "AddAnyPortMapping gave port '$any'"
lab_ok "AddAnyPortMapping chose $any"
out=$(natpmpc1 -a 51820 51820 udp 3600)
np=$(echo "$out" | natpmp_port)
[ -n "$np" ] && [ "$np" != 51820 ] || { echo "$out"; lab_fail "NAT-PMP gave port '$np'"; }
lab_ok "NAT-PMP asking for the gateway's UDP port got $np"
out=$(natpmpc1 -a 9443 9443 tcp 3600)
np=$(echo "$out" | natpmp_port)
[ -n "$np" ] && [ "$np" != 9443 ] || { echo "$out"; lab_fail "NAT-PMP gave port '$np'"; }
lab_ok "NAT-PMP asking for the statically forwarded port got $np"
out=$(in_lan1 $PCPC $GW_LAN_IP $LAN1_IP map 7 6 8443 8443 3600 prefer)
expect "PCP PREFER_FAILURE for the gateway's port: CANNOT_PROVIDE_EXTERNAL (11)" "result=11" "$out"
out=$(in_lan1 $PCPC $GW_LAN_IP $LAN1_IP map 8 17 51820 51820 3600)
expect "PCP for the gateway's UDP port: another port" "result=0 .*port=[0-9]+" "$out"
refute "PCP did not get 51820" "port=51820 " "$out"

out=$(dnat_elems)
refute "no element of table ip igdd on a port the gateway keeps" \
  "tcp \. 8443 :|udp \. 51820 :|tcp \. 9443 :|udp \. 1900 :" "$out"
out=$(in_wan $PEER get tcp $GW_WAN_IP 8443)
expect "the WAN host still reaches the gateway's TCP service" "^the gateway's tcp service$" "$out"
out=$(in_wan $PEER get udp $GW_WAN_IP 51820)
expect "the WAN host still reaches the gateway's UDP service" "^the gateway's udp service$" "$out"
out=$(in_wan $PEER get tcp $GW_WAN_IP 9443)
expect "the static forward still works" "^the static forward's target$" "$out"
out=$(in_wan $PEER get tcp $GW_WAN_IP $any)
expect "the port AddAnyPortMapping chose carries traffic to lan1" "^lan1 tcp$" "$out"

# A service that starts on a mapped port wins.
out=$(upnpc1 -a $LAN1_IP 18500 18500 TCP 3600)
expect "upnpc -a TCP 18500" "redirected to internal $LAN1_IP:18500" "$out"
out=$(in_wan $PEER get tcp $GW_WAN_IP 18500)
expect "the mapping works" "^lan1 18500$" "$out"
out=$(natpmpc1 -a 19500 19500 udp 3600)
expect "natpmpc UDP 19500" "Mapped public port 19500 protocol UDP" "$out"
lab_spawn gw_18500 $NS_GW $PEER serve tcp 18500 "the gateway's new service"
lab_spawn gw_19500 $NS_GW $PEER serve udp 19500 "the gateway's new udp service"
wait_log "TCP/18500 -> $LAN1_IP:18500 is on a port the gateway itself now uses: removed" ||
  lab_fail "the mapping of TCP/18500 was not removed"
wait_log "UDP/19500 -> $LAN1_IP:19500 is on a port the gateway itself now uses: removed" ||
  lab_fail "the mapping of UDP/19500 was not removed"
expect "the helper logged it" "helper: the gateway itself now uses TCP/18500" "$(cat "$IGDD_LOG")"
refute "its element left table ip igdd" "tcp \. 18500 :|udp \. 19500 :" "$(dnat_elems)"
out=$(in_wan $PEER get tcp $GW_WAN_IP 18500)
expect "the router wins: the WAN host reaches the gateway's new service" \
  "^the gateway's new service$" "$out"
refute "upnpc -l no longer lists it" " 18500 " "$(upnpc1 -l)"

# igddctl: beyond the port policy only with root's grant.
out=$(ctl add TCP 80 $LAN2_IP 80 --desc web)
expect "igddctl (root) adds TCP/80, a well-known port (granted)" "added TCP/80" "$out"
expect "the helper installed it" "tcp \. 80 : $LAN2_IP \. 80" "$(dnat_elems)"
chmod 666 "$LAB_DIR/igdd.sock"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" -s "$LAB_DIR/igdd.sock" \
  add TCP 81 $LAN2_IP 81 2>&1)
expect "igddctl as igdd's own user (not root): refused beyond the policy (403)" \
  "no grant from root.*error 403" "$out"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" -s "$LAB_DIR/igdd.sock" \
  add TCP 18081 $LAN2_IP 18081 2>&1)
expect "igddctl as igdd's user, within the policy: added" "added TCP/18081" "$out"
out=$(ctl add TCP 8443 $LAN2_IP 8443)
expect "igddctl (root): not even root maps the gateway's own service port (409)" \
  "gateway itself uses this port.*error 409" "$out"
out=$(ctl add TCP 2222 $GW_LAN_IP 22)
expect "igddctl (root): never to the gateway itself (422)" "error 422" "$out"

# The helper's copy of the port policy follows the file: on a reload, and
# when the file changes without one. What it now refuses goes (root's
# granted TCP/80 stays), and the engine's table follows.
echo "acl = deny 18081 0.0.0.0/0 0-65535" >>"$LAB_DIR/igdd.conf"
out=$(ctl reload)
expect "igddctl reload" "removed: 0" "$out"
wait_log "TCP/18081 -> $LAN2_IP:18081 is refused by the helper's port policy: removed" ||
  lab_fail "the helper did not remove TCP/18081 after the reload"
refute "TCP/18081 left table ip igdd" "tcp \. 18081 :" "$(dnat_elems)"
expect "root's granted TCP/80 stays" "tcp \. 80 : $LAN2_IP \. 80" "$(dnat_elems)"
echo "acl = deny $any 0.0.0.0/0 0-65535" >>"$LAB_DIR/igdd.conf"
wait_log "TCP/$any -> $LAN1_IP:8443 is refused by the helper's port policy: removed" ||
  lab_fail "the helper did not follow the file without a reload"
lab_ok "the helper follows the file without a reload: TCP/$any removed"
refute "TCP/$any left table ip igdd" "tcp \. $any :" "$(dnat_elems)"
igdd_stop
refute "run 1: no warning about a refused request from the engine" \
  "refused a request from the engine" "$(cat "$IGDD_LOG")"

# ---- run 2: a compromised engine speaks to the helper ----
rm -f "$LAB_DIR/igdd.log"
mkfifo "$LAB_DIR/attack.in"
LAB_BG_IN=$LAB_DIR/attack.in lab_bg $NS_GW "$ATTACK" "$LAB_DIR/igdd.conf" $LAN1_IP \
  >"$LAB_DIR/attack.out" 2>"$LAB_DIR/attack.err"
APID=$LAB_PID
exec 7>"$LAB_DIR/attack.in"
# Until it prints "ready", or exits before.
attack_ready() { grep -q '^ready' "$LAB_DIR/attack.out" || lab_gone $APID; }
lab_until attack_ready
grep -q '^ready' "$LAB_DIR/attack.out" || { cat "$LAB_DIR/attack.out" "$LAB_DIR/attack.err"; lab_fail "priv_attack did not finish"; }
sed 's/^/  | /' "$LAB_DIR/attack.out"
out=$(cat "$LAB_DIR/attack.out")
expect "the control request went through" "^control an-ordinary-mapping: accepted" "$out"
n=$(grep -c '^attack .*: refused' "$LAB_DIR/attack.out")
refute "no crafted request was accepted" "ACCEPTED|FAILED" "$out"
[ "$n" -ge 16 ] || lab_fail "only $n attacks ran"
lab_ok "$n crafted requests refused by the helper"
expect "DNAT to the gateway's own LAN address refused" \
  "attack dnat-to-the-gateways-lan-address: refused: Permission denied" "$out"
expect "a forged grant (the engine's own channel, which root made) refused" \
  "attack forged-grant-the-engines-own-channel: refused: Permission denied" "$out"
expect "the gateway's TCP service port refused" \
  "attack the-gateways-tcp-service-8443: refused: Address already in use" "$out"
expect "the static forward refused" "attack a-static-forward-9443: refused: Address already in use" "$out"
table=$(in_gw nft list table ip igdd)
elems=$(echo "$table" | sed -n '/map dnat_any/,/}/p')
expect "the kernel's table holds the one ordinary mapping" "tcp \. 18080 : $LAN1_IP \. 8080" "$elems"
[ "$(echo "$elems" | grep 'elements = ' | grep -o ' : ' | wc -l)" -eq 1 ] || { echo "$table"; lab_fail "more than one element"; }
refute "nothing else reached the kernel" "192\.168\.77\.(1|250) |127\.0\.0\.1|10\.0\.0\.5" "$table"
exec 7>&-
wait $APID
rc=$?
[ $rc -eq 0 ] || lab_fail "priv_attack exited $rc"

# ---- run 3: the sim backend, in the lab: the same semantics ----
LAB_HTTP_PORT=5000
rm -rf "$LAB_DIR/state"           # nobody's (run 1); this igdd runs as root, which must own it
lab_conf "$LAB_DIR/igdd.conf" "sim_static_forward = TCP 9443"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
out=$(upnpc1 -a $LAN1_IP 8443 8443 TCP 3600)
expect "sim: AddPortMapping of the gateway's TCP service port: 718" "718" "$out"
out=$(upnpc1 -a $LAN1_IP 51820 51820 UDP 3600)
expect "sim: AddPortMapping of the gateway's UDP service port: 718" "718" "$out"
out=$(upnpc1 -a $LAN1_IP 9443 9443 TCP 3600)
expect "sim: AddPortMapping of the simulated static forward: 718" "718" "$out"
out=$(natpmpc1 -a 8443 8443 tcp 3600)
np=$(echo "$out" | natpmp_port)
[ -n "$np" ] && [ "$np" != 8443 ] || { echo "$out"; lab_fail "sim: NAT-PMP gave port '$np'"; }
lab_ok "sim: NAT-PMP asking for the gateway's port got $np"
out=$(upnpc1 -a $LAN1_IP 18600 18600 TCP 3600)
expect "sim: upnpc -a TCP 18600" "redirected to internal $LAN1_IP:18600" "$out"
lab_spawn gw_18600 $NS_GW $PEER serve tcp 18600 "the gateway's sim-lab service"
wait_log "TCP/18600 -> $LAN1_IP:18600 is on a port the gateway itself now uses: removed" ||
  lab_fail "sim: the mapping of TCP/18600 was not removed"
lab_ok "sim: the router wins over a mapping made before its service started"
echo "PASS: router"
