#!/usr/bin/env bash
# The nft backend with no wan_interface (docs/CONFIG.md, docs/PACKAGING.md),
# started the way a container or a systemd service with
# NetworkNamespacePath= runs it: `nsenter --net`, so /sys lists another
# namespace's interfaces and only igdd's own namespace (rtnetlink) knows
# the WAN; and as the systemd unit runs it: as its user with
# CAP_NET_ADMIN alone. igdd takes the interface of the IPv4 default route, reports it
# Connected with its address, counters and speed; the route going away
# changes nothing; the route moving to another interface stops igdd with
# status 75, and the next start takes the new one; no default route at
# all is one clear error.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require upnpc nft curl nsenter setpriv
lab_up
WAN1_GW_IP=198.51.100.1
WAN1_IP=198.51.100.2
in_gw() { ip netns exec $NS_GW "$@"; }
status() { in_lan1 timeout $LAB_T upnpc -i -u http://$GW_LAN_IP:5000/rootDesc.xml -s 2>&1; }
# A second way out: wan1 to the WAN host's eth1.
ip link add wan1 netns $NS_GW type veth peer name eth1 netns $NS_WAN
ip -n $NS_GW addr add $WAN1_GW_IP/24 dev wan1
ip -n $NS_GW link set wan1 up
ip -n $NS_WAN addr add $WAN1_IP/24 dev eth1
ip -n $NS_WAN link set eth1 up
ip -n $NS_GW route add default via $WAN_IP

# As the systemd unit starts it (packaging/igdd.service.in): as the user
# of the configuration, CAP_NET_ADMIN its only capability (ambient).
chmod 711 "$LAB_DIR"
mkdir -p "$LAB_DIR/state"
chown nobody "$LAB_DIR/state"
cat >"$LAB_DIR/igdd.conf" <<EOF
backend = nft
lan_interface = br-lan
http_port = 5000
state_dir = $LAB_DIR/state
control_socket = $LAB_DIR/state/igdd.sock
user = nobody
EOF
chmod 644 "$LAB_DIR/igdd.conf"
export LAB_NSENTER=1
export LAB_IGDD_WRAP="setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all,+net_admin
  --ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin --no-new-privs"
# The point of starting it this way: /sys does not show the gateway's WAN.
nsenter --net=/run/netns/$NS_GW test -e /sys/class/net/wan0 ||
  lab_ok "with nsenter --net, /sys/class/net has no wan0"

# ---- the WAN from the default route ----
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
expect "wan0 taken from the default route" \
  "wan_interface not set: using wan0, the interface of the IPv4 default route" "$(cat "$IGDD_LOG")"
expect "started as its user: the engine says so, the helper keeps CAP_NET_ADMIN" \
  "running as user 'nobody' with no capabilities" "$(cat "$IGDD_LOG")"
# Some traffic on wan0 to count (the port is closed: a SYN in, a RST out).
in_wan curl -s -m 5 -o /dev/null http://$GW_WAN_IP:9/ || true
out=$(status)
expect "Connected" "^Status : Connected" "$out"
expect "ExternalIPAddress is wan0's" "^ExternalIPAddress = $GW_WAN_IP\$" "$out"
expect "packets received on wan0 counted" "^Packets: Sent: +[0-9]+[[:space:]]+Recv: +[1-9]" "$out"
# veth reports 10 Gb/s over ethtool: the 32-bit bit rate saturates.
expect "the link speed read over ethtool" "MaxBitRateDown : 4294000000 bps" "$out"
out=$(in_lan1 timeout $LAB_T upnpc -i -u http://$GW_LAN_IP:5000/rootDesc.xml -a $LAN1_IP 8080 18080 TCP 600 2>&1)
expect "a mapping on the taken WAN" "is redirected to internal $LAN1_IP:8080" "$out"
expect "its rule is in table ip igdd" "18080" "$(in_gw nft list table ip igdd)"

# ---- the route going away (a PPP link dropping) changes nothing ----
in_gw ip route del default
expect "still Connected without a default route" "^ExternalIPAddress = $GW_WAN_IP\$" "$(status)"
kill -0 $IGDD_PID 2>/dev/null || lab_fail "igdd stopped when the default route went away"
lab_ok "igdd keeps running while there is no default route"

# ---- the route moving to another interface: exit 75, to be started again ----
in_gw ip route add default via $WAN1_IP
gone() { ! kill -0 $IGDD_PID 2>/dev/null; }
lab_until gone || lab_fail "igdd still runs $LAB_T s after the default route moved to wan1"
rc=0
wait $IGDD_PID || rc=$?
IGDD_PID=
expect "the move is logged" "default route moved from wan0 to wan1" "$(cat "$IGDD_LOG")"
[ "$rc" -eq 75 ] || lab_fail "exit status $rc after the route moved, want 75"
lab_ok "exit status 75 after the default route moved"
in_gw nft list table ip igdd >/dev/null 2>&1 && lab_fail "table ip igdd left after the exit"
lab_ok "table ip igdd removed on the way out"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
expect "started again on wan1" "using wan1, the interface of the IPv4 default route" "$(cat "$IGDD_LOG")"
out=$(status)
expect "ExternalIPAddress is wan1's" "^ExternalIPAddress = $WAN1_GW_IP\$" "$out"
expect "the lease came back" "18080" "$(in_gw nft list table ip igdd)"
igdd_stop

# ---- no default route and no wan_interface: one clear error ----
in_gw ip route del default
out=$(timeout $LAB_T nsenter --net=/run/netns/$NS_GW "$IGDD" -d -f "$LAB_DIR/igdd.conf" 2>&1)
rc=$?
[ "$rc" -ne 0 ] || lab_fail "igdd started without a default route and without wan_interface"
expect "no default route: the error names the key" \
  "wan_interface is not set and there is no IPv4 default route to take it from .*: set wan_interface in" "$out"
echo "PASS: wan_auto"
