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
# takes the mappings off the upstream and puts them back; with
# unreachable_wan = refuse and no upstream, a new mapping is refused (729)
# while the existing ones stay, and granted once the upstream is back.
set -u
IGDD=$(readlink -f "$1")
CTL=$(dirname "$IGDD")/igddctl
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/doublenat.sh"
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
dn_up
dn_mini_nft
dn_mini_conf yes no
mini_start() { dn_mini_start "Listening for NAT-PMP/PCP traffic"; }
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
mini_flush
mini_stop
mini_hasnt 8080 || lab_fail "the upstream still holds 8080 after the flush"
mini_start
lab_until mini_has 8080 || { mini_rules; lab_fail "igdd did not re-create 8080 after the upstream restarted"; }
lab_until mini_has 8082 || { mini_rules; lab_fail "igdd did not re-create 8082 after the upstream restarted"; }
lab_wait_line "$IGDD_LOG" "epoch went back" || lab_fail "no epoch reset logged"
lab_ok "after the upstream restarted, igdd re-created the mapping (epoch reset)"
out=$(ip netns exec "$NS_INET" $PEER get tcp 198.51.100.1 8080)
expect "the internet reaches the LAN host again" "hello from lan1 through two NATs" "$out"

# A port the upstream holds already (the gateway's own NAT-PMP mapping of
# external 8090, made with natpmpc from its WAN address): a LAN host's
# NAT-PMP request for 8090 on igdd is answered with the port the internet
# sees, the one miniupnpd grants instead (docs/POLICY.md), where the
# internet reaches the LAN host through both NATs.
in_gw timeout $LAB_T natpmpc -g 10.0.0.1 -a 8090 9999 tcp 3600 >/dev/null 2>&1 ||
  lab_fail "natpmpc on the gateway's WAN side"
held_8090() { mini_rules | grep -q "dport 8090 dnat ip to 10.0.0.2:9999"; }
lab_until held_8090 || { mini_rules; lab_fail "the upstream does not hold 8090"; }
out=$(in_lan1 timeout $LAB_T natpmpc -g $GW_LAN_IP -a 8090 8080 tcp 3600 2>&1)
seen=$(printf '%s\n' "$out" | sed -n 's/^Mapped public port \([0-9]*\) protocol TCP to local port 8080.*/\1/p' | tail -1)
[ -n "$seen" ] || lab_fail "natpmpc on the LAN host: $out"
[ "$seen" != 8090 ] || lab_fail "NAT-PMP answered 8090, held upstream by another mapping: $out; $(mini_rules)"
mini_rules | grep -q "dport $seen dnat ip to 10.0.0.2:8090" ||
  { mini_rules; lab_fail "the upstream does not forward $seen to igdd's 8090"; }
lab_ok "NAT-PMP for 8090, held upstream: answered $seen, the port the upstream granted"
out=$(ip netns exec "$NS_INET" $PEER get tcp 198.51.100.1 "$seen")
expect "the internet reaches the LAN host on the port NAT-PMP answered" \
  "hello from lan1 through two NATs" "$out"
in_lan1 timeout $LAB_T natpmpc -g $GW_LAN_IP -a 8090 8080 tcp 0 >/dev/null 2>&1
gone_seen() { ! mini_rules | grep -q "dport $seen dnat"; }
lab_until gone_seen || { mini_rules; lab_fail "the NAT-PMP delete left $seen upstream"; }
in_gw timeout $LAB_T natpmpc -g 10.0.0.1 -a 8090 9999 tcp 0 >/dev/null 2>&1

# upstream_pcp by reload (docs/CONFIG.md "Reloading"): no stops the
# mirroring and takes igdd's mappings off the upstream; yes again puts
# them back. With unreachable_wan = refuse in the same reload, a new
# mapping nobody on the internet would reach is refused (729) while the
# existing ones stay; with the upstream back, it is granted.
printf 'upstream_pcp = no\nunreachable_wan = refuse\n' >>"$LAB_DIR/igdd.conf"
kill -HUP $IGDD_PID
lab_until mini_hasnt 8080 || { mini_rules; lab_fail "upstream_pcp = no by reload left 8080 upstream"; }
lab_until mini_hasnt 8082 || { mini_rules; lab_fail "upstream_pcp = no by reload left 8082 upstream"; }
lab_ok "upstream_pcp = no by reload: the upstream mappings deleted"
out=$(upnpc1 -e refused -a $LAN1_IP 8084 8084 TCP 3600)
expect "unreachable_wan = refuse, no upstream: AddPortMapping 729" "failed with code 729" "$out"
out=$(upnpc1 -l)
expect "unreachable_wan = refuse: the existing mapping stays" "TCP +8080->$LAN1_IP:8080" "$out"
refute "unreachable_wan = refuse: nothing added" "8084->" "$out"
sed -i 's/^upstream_pcp = no$/upstream_pcp = yes/' "$LAB_DIR/igdd.conf"
kill -HUP $IGDD_PID
lab_until mini_has 8080 || { mini_rules; lab_fail "upstream_pcp = yes by reload: 8080 not mirrored again"; }
lab_until mini_has 8082 || { mini_rules; lab_fail "upstream_pcp = yes by reload: 8082 not mirrored again"; }
lab_ok "upstream_pcp = yes by reload: mirrored again"
out=$(upnpc1 -e granted -a $LAN1_IP 8084 8084 TCP 3600)
expect "unreachable_wan = refuse, upstream mirrors: AddPortMapping granted" "is redirected to internal $LAN1_IP:8084" "$out"
lab_until mini_has 8084 || { mini_rules; lab_fail "8084 not mirrored"; }
lab_ok "8084 mirrored upstream"
igdd_stop
lab_until mini_hasnt 8080 || lab_fail "igdd's shutdown left its mapping upstream"
lab_until mini_hasnt 8082 || lab_fail "igdd's shutdown left 8082 upstream"
lab_until mini_hasnt 8084 || lab_fail "igdd's shutdown left 8084 upstream"
lab_ok "igdd's shutdown deleted its upstream mappings"
echo "all double-NAT tests passed"
