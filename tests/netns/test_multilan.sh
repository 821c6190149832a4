#!/usr/bin/env bash
# Several LANs (lan_interface given twice): the gateway's home LAN br-lan
# (192.168.77.1/24, hosts lan1 and lan2) and a guest LAN br-guest (a
# second bridge, host guest), which has no address when igdd starts.
# Checked with real clients:
#   - br-guest served once its address appears (rtnetlink), without a
#     restart: SSDP, HTTP, NAT-PMP/PCP and their announcements;
#   - each host discovers the gateway on its own LAN, with its own LAN's
#     LOCATION address; an M-SEARCH or NAT-PMP request to the other LAN's
#     address, or an HTTP request to the other LAN's listener, gets
#     nothing;
#   - a control point maps only into its own LAN: 606 for the other LAN's
#     address (also with secure_mode = no, after a reload), 718 for an
#     external port the other LAN holds;
#   - ACL rules naming a LAN (`on br-guest`, `on br-lan`);
#   - events per LAN: a subscriber on each LAN gets its NOTIFYs; a
#     CALLBACK naming the other LAN's host is refused;
#   - the guest LAN renumbered without a restart: its mappings removed,
#     byebye/alive and the NAT-PMP/PCP announcements with the new
#     address, discovery and mappings on the new subnet, the home LAN
#     untouched;
#   - with nft: a mapping for a guest host carries a real TCP connection
#     from the WAN, and after the guest LAN is renumbered the helper takes
#     the new subnet (it reads the LANs' prefixes again itself);
#   - metrics_listen on the second LAN's address: accepted at start, a
#     guest host scrapes it.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require upnpc curl
[ -x $PY ] || lab_skip "$PY missing"
lab_up
NS_GUEST=igddt-g-$LAB_ID
lab_ns_add $NS_GUEST
ip -n $NS_GW link add br-guest type bridge
ip -n $NS_GW link set br-guest up
ip link add pg netns $NS_GW type veth peer name eth0 netns $NS_GUEST
ip -n $NS_GW link set pg master br-guest
ip -n $NS_GW link set pg up
ip -n $NS_GUEST link set eth0 up
GUEST_GW=192.168.88.1
GUEST_IP=192.168.88.2
ip -n $NS_GUEST addr add $GUEST_IP/24 dev eth0
in_guest() { ip netns exec $NS_GUEST "$@"; }
in_gw() { ip netns exec $NS_GW "$@"; }
RAW="$PY $HERE/ssdp_raw.py"
PCPC="$PY $HERE/pcp_client.py"
SUB="$HERE/gena_subscriber.py"
IGD1=urn:schemas-upnp-org:device:InternetGatewayDevice:1

# map NS URL CLIENT EXT [INT]: upnpc -a through the description at URL.
map() {
  ip netns exec "$1" timeout $LAB_T upnpc -i -u "$2" -a "$3" "${5:-$4}" "$4" TCP 600 2>&1
}
# upnpc_s NS DESC: upnpc -i -s from NS found the gateway at DESC (run it
# with lab_until: upnpc waits 2 s for each search and cannot be told to
# wait longer; on a slow machine it may miss the answers); its output in
# $upnpc_out.
upnpc_s() {
  upnpc_out=$(ip netns exec "$1" timeout $LAB_T upnpc -i -s 2>&1)
  echo "$upnpc_out" | grep -q "desc: $2"
}

LAB_HTTP_PORT=5000
lab_conf "$LAB_DIR/igdd.conf" "lan_interface = br-guest" \
  "acl = deny 20000-20999 0.0.0.0/0 0-65535 on br-guest" \
  "acl = allow 80 0.0.0.0/0 80 on br-lan"
HOME_URL=http://$GW_LAN_IP:5000/rootDesc.xml
GUEST_URL=http://$GUEST_GW:5000/rootDesc.xml

# 1. Started with br-guest address-less: it waits, the home LAN is served.
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
grep -q "lan_interface 'br-guest': no address yet" "$IGDD_LOG" || lab_fail "no word about br-guest"
lab_ok "started with an address-less LAN: said so, did not fail"
out=$(in_guest $RAW search 239.255.255.250 eth0 $IGD1 --wait 1.5)
expect "no SSDP on br-guest while it has no address" '"answers": 0' "$out"

# 2. br-guest's address appears: followed without a restart.
lab_listen_announcements $NS_GUEST 4 "$LAB_DIR/guest-notify.jsonl" "$LAB_DIR/guest-announce.out"
NPID=$LAB_SSDP_PID APID=$LAB_PCP_PID
ip -n $NS_GW addr add $GUEST_GW/24 dev br-guest
ip -n $NS_GUEST route add default via $GUEST_GW
lab_expect_line "rtnetlink: br-guest's new address followed" "$IGDD_LOG" "LAN br-guest addresses now:.* $GUEST_GW/24"
lab_expect_line "HTTP listens on br-guest's address (the same port)" "$IGDD_LOG" \
  "http: listening on $GUEST_GW \(br-guest\) port 5000"
wait $APID
out=$(cat "$LAB_DIR/guest-announce.out")
expect "NAT-PMP announcement on br-guest from its new address" "natpmp from=$GUEST_GW result=0" "$out"
expect "PCP ANNOUNCE on br-guest" "pcp-announce from=$GUEST_GW result=0" "$out"
lab_expect_line "ssdp:alive on br-guest with LOCATION br-guest's address" "$LAB_DIR/guest-notify.jsonl" \
  "\"from\": \"$GUEST_GW\".*\"location\": \"http://$GUEST_GW:5000/rootDesc.*\"nts\": \"ssdp:alive\""
lab_bg_stop $NPID
out=$(cat "$LAB_DIR/guest-notify.jsonl")
refute "no announcement of the home LAN's address on br-guest" "$GW_LAN_IP" "$out"

# 3. Discovery: each LAN with its own LOCATION.
lab_until upnpc_s $NS_LAN1 "http://$GW_LAN_IP:5000/rootDesc1.xml"
expect "lan1 discovers the gateway at the home LAN's address" "desc: http://$GW_LAN_IP:5000/rootDesc1.xml" "$upnpc_out"
lab_until upnpc_s $NS_GUEST "http://$GUEST_GW:5000/rootDesc1.xml"
out=$upnpc_out
expect "guest discovers the gateway at br-guest's address" "desc: http://$GUEST_GW:5000/rootDesc1.xml" "$out"
expect "guest: its local address" "Local LAN ip address : $GUEST_IP" "$out"
refute "guest never sees the home LAN's LOCATION" "desc: http://$GW_LAN_IP" "$out"
out=$(in_guest $RAW search $GW_LAN_IP eth0 ssdp:all --wait 1.5)
expect "guest's unicast M-SEARCH to the home LAN's address: no answer" '"answers": 0' "$out"
# (no answer expected: short fixed waits, slowness can only make them pass)
out=$(in_guest curl -s --max-time 5 "$HOME_URL" 2>&1)
refute "guest's HTTP request to the home LAN's listener: nothing answered" "HTTP/|<root" "$out"
out=$(in_guest $PCPC -w 3 $GW_LAN_IP $GUEST_IP natpmp-ext)
expect "guest's NAT-PMP request to the home LAN's address: no answer" "^timeout" "$out"
out=$(in_guest $PCPC $GUEST_GW $GUEST_IP natpmp-ext)
expect "guest's NAT-PMP request on its own LAN answered" "natpmp result=0 addr=$GW_WAN_IP" "$out"

# 4. Mappings: each control point in its own LAN only; ACL rules naming a LAN.
out=$(map $NS_LAN1 $HOME_URL $LAN1_IP 30000)
refute "lan1 maps 30000 for itself" "failed" "$out"
out=$(map $NS_GUEST $GUEST_URL $GUEST_IP 30000)
expect "guest asks 30000, held by the home LAN: 718" "failed with code 718" "$out"
out=$(map $NS_GUEST $GUEST_URL $GUEST_IP 30001)
refute "guest maps 30001 for itself" "failed" "$out"
out=$(map $NS_GUEST $GUEST_URL $LAN1_IP 30002)
expect "guest maps for a home LAN host: 606" "failed with code 606" "$out"
out=$(map $NS_GUEST $GUEST_URL $GUEST_IP 20500)
expect "acl 'deny 20000-20999 ... on br-guest': 606 for guest" "failed with code 606" "$out"
out=$(map $NS_LAN1 $HOME_URL $LAN1_IP 20500)
refute "  ... the same port for lan1: allowed" "failed" "$out"
out=$(map $NS_LAN1 $HOME_URL $LAN1_IP 80)
refute "acl 'allow 80 ... on br-lan': lan1 maps port 80" "failed" "$out"
out=$(map $NS_GUEST $GUEST_URL $GUEST_IP 80)
expect "  ... not for guest (well-known port): 606" "failed with code 606" "$out"
out=$(in_guest timeout $LAB_T natpmpc -g $GUEST_GW -a 31000 31000 tcp 600 2>&1)
expect "guest: NAT-PMP mapping on its LAN" "Mapped public port 31000 protocol TCP" "$out"
# The 3-box model stays inside a LAN.
sed -i 's/^secure_mode = .*//' "$LAB_DIR/igdd.conf"
echo "secure_mode = no" >>"$LAB_DIR/igdd.conf"
kill -HUP $IGDD_PID
wait_for "reload" grep -q "configuration reloaded" "$IGDD_LOG"
out=$(map $NS_GUEST $GUEST_URL $LAN1_IP 30003)
expect "secure_mode = no: guest maps for a home LAN host: still 606" "failed with code 606" "$out"
out=$(map $NS_GUEST $GUEST_URL 192.168.88.3 30004)
refute "secure_mode = no: guest maps for another guest host" "failed" "$out"
out=$(map $NS_LAN1 $HOME_URL $GUEST_IP 30005)
expect "secure_mode = no: lan1 maps for the guest: 606" "failed with code 606" "$out"

# 5. Events per LAN.
lab_bg $NS_LAN1 $PY "$SUB" subscribe --event-url "http://$GW_LAN_IP:5000/evt/IPConn" --bind $LAN1_IP \
  --count 2 --duration $LAB_T >"$LAB_DIR/home-sub.jsonl"
H=$LAB_PID
lab_bg $NS_GUEST $PY "$SUB" subscribe --event-url "http://$GUEST_GW:5000/evt/IPConn" --bind $GUEST_IP \
  --count 2 --duration $LAB_T >"$LAB_DIR/guest-sub.jsonl"
G=$LAB_PID
wait_for "home initial event" grep -q '"seq": 0' "$LAB_DIR/home-sub.jsonl"
wait_for "guest initial event" grep -q '"seq": 0' "$LAB_DIR/guest-sub.jsonl"
out=$(map $NS_LAN1 $HOME_URL $LAN1_IP 30006)
wait $H
wait $G
expect "home LAN subscriber: its change event" '"seq": 1' "$(cat "$LAB_DIR/home-sub.jsonl")"
expect "guest LAN subscriber: the same change event, delivered on its LAN" '"seq": 1' "$(cat "$LAB_DIR/guest-sub.jsonl")"
expect "  ... from the gateway's address on br-guest" "\"from\": \"$GUEST_GW\"" "$(cat "$LAB_DIR/guest-sub.jsonl")"
expect "  ... and the home LAN's from its address on br-lan" "\"from\": \"$GW_LAN_IP\"" "$(cat "$LAB_DIR/home-sub.jsonl")"
out=$(in_guest $PY "$SUB" subscribe --event-url "http://$GUEST_GW:5000/evt/IPConn" --bind $GUEST_IP \
  --callback "http://$LAN1_IP:5000/x" --duration 1 2>&1)
expect "guest naming a home LAN host as CALLBACK: 412" '"status": 412' "$out"

# 6. br-guest renumbered: 192.168.88.0/24 -> 192.168.99.0/24.
NEW_GW=192.168.99.1
NEW_IP=192.168.99.2
lab_listen_announcements $NS_GUEST 4 "$LAB_DIR/guest-notify2.jsonl" "$LAB_DIR/guest-announce2.out"
NPID=$LAB_SSDP_PID APID=$LAB_PCP_PID
ip -n $NS_GW addr del $GUEST_GW/24 dev br-guest
ip -n $NS_GW addr add $NEW_GW/24 dev br-guest
ip -n $NS_GUEST addr del $GUEST_IP/24 dev eth0
ip -n $NS_GUEST addr add $NEW_IP/24 dev eth0
ip -n $NS_GUEST route replace default via $NEW_GW
renumbered() { # renumbered OLD NEW: the last word about br-guest has NEW and not OLD
  grep "LAN br-guest addresses now:" "$IGDD_LOG" | tail -1 | grep " $2/24" | grep -vq " $1/24"
}
wait_for "the renumbering followed" renumbered $GUEST_GW $NEW_GW
lab_wait_line "$IGDD_LOG" "LAN br-guest renumbered: 3 mapping\(s\) no longer on a LAN removed" ||
  lab_fail "the old subnet's mappings (30001, 30004, NAT-PMP 31000) were not removed"
lab_ok "renumbered: the old subnet's 3 mappings removed"
wait $APID
expect "NAT-PMP announcement from the new address" "natpmp from=$NEW_GW result=0" "$(cat "$LAB_DIR/guest-announce2.out")"
lab_expect_line "renumbered: ssdp:byebye" "$LAB_DIR/guest-notify2.jsonl" '"nts": "ssdp:byebye"'
lab_expect_line "renumbered: ssdp:alive with the new LOCATION" "$LAB_DIR/guest-notify2.jsonl" \
  "\"location\": \"http://$NEW_GW:5000/.*\"nts\": \"ssdp:alive\""
lab_bg_stop $NPID
lab_until upnpc_s $NS_GUEST "http://$NEW_GW:5000/rootDesc1.xml"
expect "guest discovers the gateway at the new address" "desc: http://$NEW_GW:5000/rootDesc1.xml" "$upnpc_out"
out=$(map $NS_GUEST http://$NEW_GW:5000/rootDesc.xml $NEW_IP 30007)
refute "guest maps on the new subnet" "failed" "$out"
out=$(in_lan1 timeout $LAB_T upnpc -i -u $HOME_URL -l 2>&1)
expect "the home LAN's mappings stay" "TCP 30000->$LAN1_IP:30000" "$out"
kill -0 $IGDD_PID 2>/dev/null || lab_fail "igdd died"

# 7. nft: a guest host's mapping with real packets, before and after a renumbering.
if ! command -v nft >/dev/null 2>&1; then
  echo "skipped: nft is not installed"
  lab_ok "several LANs"
  exit 0
fi
igdd_stop
rm -f "$LAB_DIR/igdd.log"
mkdir -p "$LAB_DIR/nftstate"
chown nobody "$LAB_DIR/nftstate"
{
  echo "backend = nft"
  echo "lan_interface = br-lan"
  echo "lan_interface = br-guest"
  echo "wan_interface = wan0"
  echo "http_port = 5000"
  echo "state_dir = $LAB_DIR/nftstate"
  echo "control_socket = $LAB_DIR/igdd.sock"
  echo "user = nobody"
  echo "metrics_listen = $NEW_GW:9655"
} >"$LAB_DIR/igdd-nft.conf"
igdd_start "$IGDD" "$LAB_DIR/igdd-nft.conf"
NEWURL=http://$NEW_GW:5000/rootDesc.xml
out=$(in_guest curl -sS --max-time $LAB_T http://$NEW_GW:9655/metrics 2>&1)
expect "metrics_listen on the guest LAN's address: a guest host scrapes it" '^igdd_uptime_seconds [0-9]+' "$out"
lab_bg $NS_GUEST $PY "$HERE/peer.py" serve tcp 8080 "hello from the guest LAN" >"$LAB_DIR/guest-srv.out" 2>&1
wait_for "guest service" grep -q ready "$LAB_DIR/guest-srv.out"
out=$(map $NS_GUEST $NEWURL $NEW_IP 18080 8080)
refute "nft: guest maps 18080 -> its 8080" "failed" "$out"
out=$(in_wan $PY "$HERE/peer.py" get tcp $GW_WAN_IP 18080 2>&1)
expect "nft: a TCP connection from the WAN reaches the guest host" "hello from the guest LAN" "$out"
ip -n $NS_GW addr del $NEW_GW/24 dev br-guest
ip -n $NS_GW addr add 192.168.66.1/24 dev br-guest
ip -n $NS_GUEST addr del $NEW_IP/24 dev eth0
ip -n $NS_GUEST addr add 192.168.66.2/24 dev eth0
ip -n $NS_GUEST route replace default via 192.168.66.1
wait_for "the renumbering followed (nft)" renumbered $NEW_GW 192.168.66.1
out=$(map $NS_GUEST http://192.168.66.1:5000/rootDesc.xml 192.168.66.2 18081 8080)
refute "nft: after the renumbering the helper takes the new subnet" "failed" "$out"
lab_wait_line "$IGDD_LOG" "helper: LAN prefixes read again" || lab_fail "the helper did not read the LANs again"
out=$(in_wan $PY "$HERE/peer.py" get tcp $GW_WAN_IP 18081 2>&1)
expect "nft: WAN -> the renumbered guest host" "hello from the guest LAN" "$out"
lab_ok "several LANs"
