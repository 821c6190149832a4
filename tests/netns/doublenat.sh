# doublenat.sh - the two-NAT lab shared by test_doublenat.sh (PCP and
# NAT-PMP upstream) and test_doublenat_upnp.sh (UPnP IGD upstream);
# sourced after lib.sh and lab_up:
#
#   lan1 192.168.77.2 ── br-lan [gw: igdd] wan0 10.0.0.2 ── eth0 10.0.0.1 [wan: the upstream]
#   inet0 198.51.100.1 ── inet 198.51.100.2/.3 (Debian's stund: miniupnpd's STUN check)

# dn_up: re-address the lab's WAN link as the upstream's LAN, add the
# internet namespace and its STUN server.
dn_up() {
  ip -n $NS_GW addr flush dev wan0
  ip -n $NS_GW addr add 10.0.0.2/24 dev wan0
  ip -n $NS_GW route add default via 10.0.0.1
  ip -n $NS_WAN addr flush dev eth0
  ip -n $NS_WAN addr add 10.0.0.1/24 dev eth0
  lab_internet
}

# dn_mini_nft: the table miniupnpd's nft backend fills (it does not make it).
dn_mini_nft() {
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
}

# dn_mini_conf NATPMP UPNP: miniupnpd.conf with enable_natpmp (which is
# PCP too) and enable_upnp as given.
dn_mini_conf() {
  cat >"$LAB_DIR/miniupnpd.conf" <<EOF2
ext_ifname=inet0
listening_ip=eth0
http_port=5555
enable_natpmp=$1
enable_upnp=$2
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
}

# dn_mini_start READY: miniupnpd in the foreground in the upstream
# namespace (its own mount namespace from ip netns exec: /dev/console
# bound to /dev/null there only, for its syslog copy), waiting for the
# log line READY and for its STUN check to enable forwarding. Its PID in
# MINI_PID.
dn_mini_start() {
  : >"$LAB_DIR/mini.log"
  lab_bg $NS_WAN sh -c 'mount --bind /dev/null /dev/console && exec miniupnpd -d -f "$1" -P "$2"' \
    sh "$LAB_DIR/miniupnpd.conf" "$LAB_DIR/miniupnpd.pid" >>"$LAB_DIR/mini.log" 2>&1
  MINI_PID=$LAB_PID
  lab_wait_line "$LAB_DIR/mini.log" "$1" ||
    { cat "$LAB_DIR/mini.log"; lab_fail "miniupnpd did not start"; }
  grep -q "Port forwarding is now enabled" "$LAB_DIR/mini.log" ||
    { cat "$LAB_DIR/mini.log"; lab_fail "miniupnpd's STUN check did not enable forwarding"; }
}
mini_stop() { lab_bg_stop "$MINI_PID"; MINI_PID=; }
mini_rules() { ip netns exec $NS_WAN nft list chain inet miniupnpd prerouting_miniupnpd; }
mini_has() { mini_rules | grep -q "dport $1 dnat ip to 10.0.0.2:$1"; }
mini_hasnt() { ! mini_has "$1"; }
mini_flush() {
  ip netns exec $NS_WAN nft flush chain inet miniupnpd prerouting_miniupnpd
  ip netns exec $NS_WAN nft flush chain inet miniupnpd miniupnpd
}
