#!/usr/bin/env bash
# Behind another NAT, end to end (docs/POLICY.md "Behind another NAT"):
#
#   lan1 192.168.77.2 ── br-lan [gw: igdd, nft] wan0 10.0.0.2 ── eth0 10.0.0.1 [wan: Debian's
#   miniupnpd-nftables, PCP/NAT-PMP on 10.0.0.1:5351] inet0 198.51.100.1 ── inet 198.51.100.2/.3
#
# The lab's wan namespace becomes the upstream gateway (its LAN is
# 10.0.0.0/24, igdd's WAN address is private); Debian's stund in the
# internet namespace lets miniupnpd's own STUN check pass (it refuses to
# forward on a reserved WAN address otherwise). upnpc on the LAN host maps
# TCP 8080; igdd mirrors it on miniupnpd with PCP; a TCP connection from
# the internet namespace to 198.51.100.1:8080 reaches the LAN host through
# both NATs; upnpc sees 198.51.100.1 as the external address; deleting the
# mapping deletes it upstream; restarting miniupnpd (its PCP epoch starts
# again) makes igdd ask again; upstream_pcp turned off and on by reload
# takes the mappings off the upstream and puts them back.
set -u
IGDD=$(readlink -f "$1")
CTL=$(dirname "$IGDD")/igddctl
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require upnpc nft miniupnpd stund
[ -x $PY ] || lab_skip "$PY missing"
[ -x "$CTL" ] || lab_skip "igddctl not built beside igdd"
lab_up
MINI_PID=
PEER="$PY $HERE/peer.py"
URL=http://$GW_LAN_IP:5000/rootDesc.xml
upnpc1() { in_lan1 timeout $LAB_T upnpc -i -u $URL "$@" 2>&1; }
in_gw() { ip netns exec $NS_GW "$@"; }
ctl() { timeout $LAB_T "$CTL" -s "$LAB_DIR/igdd.sock" "$@" 2>&1; }
status_line() { ctl status | sed -n "s/^$1: //p"; }

# ---- the upstream: re-address the lab's WAN link, add the internet ----
ip -n $NS_GW addr flush dev wan0
ip -n $NS_GW addr add 10.0.0.2/24 dev wan0
ip -n $NS_GW route add default via 10.0.0.1
ip -n $NS_WAN addr flush dev eth0
ip -n $NS_WAN addr add 10.0.0.1/24 dev eth0
lab_internet
ip netns exec $NS_WAN nft -f - <<'NFT' || lab_fail "the upstream's nft table"
table inet miniupnpd {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "eth0" oifname "inet0" accept
    jump miniupnpd
  }
  chain miniupnpd { }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain prerouting_miniupnpd { }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "inet0" masquerade
  }
  chain postrouting_miniupnpd { }
}
NFT
cat >"$LAB_DIR/miniupnpd.conf" <<EOF2
ext_ifname=inet0
listening_ip=eth0
http_port=5555
enable_natpmp=yes
enable_upnp=no
secure_mode=yes
system_uptime=no
uuid=6c0ffee0-0000-4000-8000-0000000000d1
upnp_table_name=miniupnpd
upnp_nat_table_name=miniupnpd
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
ext_perform_stun=yes
ext_stun_host=198.51.100.2
ext_stun_port=3478
min_lifetime=120
max_lifetime=86400
allow 1024-65535 10.0.0.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF2
# mini_start: miniupnpd in the foreground in the upstream namespace (its
# own mount namespace from ip netns exec: /dev/console bound to /dev/null
# there only, for its syslog copy), waiting for its PCP socket.
mini_start() {
  : >"$LAB_DIR/mini.log"
  lab_bg $NS_WAN sh -c 'mount --bind /dev/null /dev/console && exec miniupnpd -d -f "$1" -P "$2"' \
    sh "$LAB_DIR/miniupnpd.conf" "$LAB_DIR/miniupnpd.pid" >>"$LAB_DIR/mini.log" 2>&1
  MINI_PID=$LAB_PID
  lab_wait_line "$LAB_DIR/mini.log" "Listening for NAT-PMP/PCP traffic" ||
    { cat "$LAB_DIR/mini.log"; lab_fail "miniupnpd did not start"; }
  grep -q "Port forwarding is now enabled" "$LAB_DIR/mini.log" ||
    { cat "$LAB_DIR/mini.log"; lab_fail "miniupnpd's STUN check did not enable forwarding"; }
}
mini_stop() { lab_bg_stop "$MINI_PID"; MINI_PID=; }
mini_rules() { ip netns exec $NS_WAN nft list chain inet miniupnpd prerouting_miniupnpd; }
mini_has() { mini_rules | grep -q "dport $1 dnat ip to 10.0.0.2:$1"; }
mini_hasnt() { ! mini_has "$1"; }
mini_start
lab_ok "miniupnpd is the upstream gateway (PCP/NAT-PMP on 10.0.0.1:5351)"

# ---- the downstream: igdd on the nft backend, a private WAN address ----
lab_nft_conf "$LAB_DIR/igdd.conf"
lab_bg $NS_LAN1 $PEER serve tcp 8080 "hello from lan1 through two NATs" >"$LAB_DIR/srv.out" 2>&1
lab_wait_line "$LAB_DIR/srv.out" ready || lab_fail "the LAN service did not start"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
pcp_found() { [ "$(status_line upstream)" = pcp ]; }
lab_until pcp_found || lab_fail "igdd did not find the upstream's PCP server: $(ctl status)"
[ "$(status_line wan_class)" = private ] || lab_fail "wan_class $(status_line wan_class)"
lab_ok "igdd: WAN 10.0.0.2 is private, PCP server at $(status_line upstream_server)"
ext_known() { [ "$(status_line upstream_external_ip)" = 198.51.100.1 ]; }
lab_until ext_known || lab_fail "igdd did not learn the upstream's address: $(ctl status)"
out=$(upnpc1 -s)
expect "before any mapping, GetExternalIPAddress reports the upstream's address" \
  "ExternalIPAddress = 198.51.100.1" "$out"

out=$(upnpc1 -e doublenat -a $LAN1_IP 8080 8080 TCP 3600)
expect "upnpc maps TCP 8080 on igdd" "is redirected to internal $LAN1_IP:8080" "$out"
lab_until mini_has 8080 || { mini_rules; lab_fail "the mapping did not appear upstream"; }
lab_ok "igdd mirrored it on miniupnpd (10.0.0.2:8080)"
mirrored_1() { [ "$(status_line upstream_mirrored)" = 1 ]; }
lab_until mirrored_1 || lab_fail "status: $(ctl status)"
[ "$(status_line upstream_external_ip)" = 198.51.100.1 ] || lab_fail "upstream ext $(status_line upstream_external_ip)"
out=$(upnpc1 -s)
expect "GetExternalIPAddress reports the upstream's address" "ExternalIPAddress = 198.51.100.1" "$out"
out=$(ip netns exec "$NS_INET" $PEER get tcp 198.51.100.1 8080)
expect "a connection from the internet reaches the LAN host through both NATs" \
  "hello from lan1 through two NATs" "$out"

out=$(upnpc1 -d 8080 TCP)
lab_until mini_hasnt 8080 || { mini_rules; lab_fail "the upstream mapping outlived the local one"; }
lab_ok "deleting the local mapping deleted it upstream"

# The upstream restarts and loses its mappings (its rules flushed, its
# epoch starts again at 0, one unsolicited ANNOUNCE to 224.0.0.1:5350):
# igdd's epoch check (RFC 6887 8.5) tells a restart from a clock that
# merely runs only once the old epoch was a few seconds old, so the last
# exchange before the restart comes after miniupnpd has run 5 s (a lower
# bound: slowness only makes it larger).
out=$(upnpc1 -e doublenat -a $LAN1_IP 8080 8080 TCP 3600)
lab_until mini_has 8080 || lab_fail "the mapping did not come back upstream"
mini_age_5() { [ "$(ps -o etimes= -p "$MINI_PID" | tr -d ' ')" -ge 5 ] 2>/dev/null; }
lab_until mini_age_5 || lab_fail "miniupnpd's age"
out=$(upnpc1 -e doublenat2 -a $LAN1_IP 8082 8082 TCP 3600)
lab_until mini_has 8082 || lab_fail "8082 did not appear upstream"
ip netns exec $NS_WAN nft flush chain inet miniupnpd prerouting_miniupnpd
ip netns exec $NS_WAN nft flush chain inet miniupnpd miniupnpd
mini_stop
mini_hasnt 8080 || lab_fail "the upstream still holds 8080 after the flush"
mini_start
lab_until mini_has 8080 || { mini_rules; lab_fail "igdd did not re-create 8080 after the upstream restarted"; }
lab_until mini_has 8082 || { mini_rules; lab_fail "igdd did not re-create 8082 after the upstream restarted"; }
lab_wait_line "$IGDD_LOG" "epoch went back" || lab_fail "no epoch reset logged"
lab_ok "after the upstream restarted, igdd re-created the mapping (epoch reset)"
out=$(ip netns exec "$NS_INET" $PEER get tcp 198.51.100.1 8080)
expect "the internet reaches the LAN host again" "hello from lan1 through two NATs" "$out"

# upstream_pcp by reload (docs/CONFIG.md "Reloading"): no stops the
# mirroring and takes igdd's mappings off the upstream; yes again puts
# them back.
echo "upstream_pcp = no" >>"$LAB_DIR/igdd.conf"
kill -HUP $IGDD_PID
lab_until mini_hasnt 8080 || { mini_rules; lab_fail "upstream_pcp = no by reload left 8080 upstream"; }
lab_until mini_hasnt 8082 || { mini_rules; lab_fail "upstream_pcp = no by reload left 8082 upstream"; }
lab_ok "upstream_pcp = no by reload: the upstream mappings deleted"
sed -i 's/^upstream_pcp = no$/upstream_pcp = yes/' "$LAB_DIR/igdd.conf"
kill -HUP $IGDD_PID
lab_until mini_has 8080 || { mini_rules; lab_fail "upstream_pcp = yes by reload: 8080 not mirrored again"; }
lab_until mini_has 8082 || { mini_rules; lab_fail "upstream_pcp = yes by reload: 8082 not mirrored again"; }
lab_ok "upstream_pcp = yes by reload: mirrored again"
igdd_stop
lab_until mini_hasnt 8080 || lab_fail "igdd's shutdown left its mapping upstream"
lab_until mini_hasnt 8082 || lab_fail "igdd's shutdown left 8082 upstream"
lab_ok "igdd's shutdown deleted its upstream mappings"
echo "all double-NAT tests passed"
