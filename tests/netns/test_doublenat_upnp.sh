#!/usr/bin/env bash
# Behind another NAT whose gateway speaks UPnP IGD only (docs/POLICY.md
# "Behind another NAT"): igdd finds no PCP or NAT-PMP server at the WAN
# gateway, discovers its IGD with SSDP on the WAN interface and mirrors
# each mapping with AddPortMapping.
#
#   lan1 192.168.77.2 ── br-lan [gw: igdd, nft] wan0 10.0.0.2 ── eth0 10.0.0.1 [wan: the
#   upstream, UPnP only] inet0 198.51.100.1 ── inet 198.51.100.2/.3
#
# Two runs, each with its own upstream in the wan namespace: Debian's
# miniupnpd-nftables with enable_natpmp=no (which switches its PCP off
# too; stund in the internet namespace lets its STUN check pass), then
# igdd itself on the nft backend with enable_natpmp = no and enable_pcp =
# no. In each: upnpc on the LAN host maps TCP 8080 on the downstream igdd;
# the upstream's table gets 10.0.0.2:8080; a TCP connection from the
# internet namespace to 198.51.100.1:8080 reaches the LAN host through
# both NATs; upnpc sees 198.51.100.1 (GetExternalIPAddress on the
# upstream); deleting the mapping deletes it upstream; the upstream
# restarts with an empty table and a new BOOTID.UPNP.ORG, and igdd's next
# M-SEARCH (every IGDD_UPSTREAM_UPNP_CHECK_S, 30 s) makes it add the
# mapping again; igdd's shutdown deletes it upstream. Against igdd, a port
# the upstream holds for another host: AddPortMapping answers 729,
# AddAnyPortMapping the port the internet sees (upigdd_conflict).
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
UP_PID=
MINI_PID=
PEER="$PY $HERE/peer.py"
URL=http://$GW_LAN_IP:5000/rootDesc.xml
upnpc1() { in_lan1 timeout $LAB_T upnpc -i -u $URL "$@" 2>&1; }
ctl() { timeout $LAB_T "$CTL" -s "$LAB_DIR/igdd.sock" "$@" 2>&1; }
status_line() { ctl status | sed -n "s/^$1: //p"; }

# ---- the upstream's links, the internet, the LAN service ----
dn_up
lab_bg $NS_LAN1 $PEER serve tcp 8080 "hello from lan1 through two NATs" >"$LAB_DIR/srv.out" 2>&1
lab_wait_line "$LAB_DIR/srv.out" ready || lab_fail "the LAN service did not start"
mkdir -p "$LAB_DIR/state" "$LAB_DIR/upstate"
chown nobody "$LAB_DIR/state" "$LAB_DIR/upstate"
cat >"$LAB_DIR/igdd.conf" <<EOF2
backend = nft
lan_interface = br-lan
wan_interface = wan0
http_port = 5000
state_dir = $LAB_DIR/state
control_socket = $LAB_DIR/igdd.sock
user = nobody
EOF2

# ---- upstream 1: miniupnpd, UPnP only ----
dn_mini_conf no yes
# miniupnpd's and igdd's BOOTID.UPNP.ORG is the start time in seconds: a
# restart within the same second would keep it, so a start waits for the
# next second.
LAST_START=0
new_second() {
  while [ "$(date +%s)" = "$LAST_START" ]; do sleep 0.2; done
  LAST_START=$(date +%s)
}
mini_start() { new_second; dn_mini_start "HTTP listening on port 5555"; UP_PID=$MINI_PID; }

# ---- upstream 2: igdd itself, nft backend, UPnP only ----
cat >"$LAB_DIR/up.conf" <<EOF2
backend = nft
lan_interface = eth0
wan_interface = inet0
http_port = 5555
enable_natpmp = no
enable_pcp = no
wan_public = yes
state_dir = $LAB_DIR/upstate
control_socket = $LAB_DIR/up.sock
user = nobody
EOF2
upigdd_start() {
  new_second
  : >"$LAB_DIR/up.log"
  lab_bg $NS_WAN "$IGDD" -d -f "$LAB_DIR/up.conf" >>"$LAB_DIR/up.log" 2>&1
  UP_PID=$LAB_PID
  lab_wait_line "$LAB_DIR/up.log" "started" || { cat "$LAB_DIR/up.log"; lab_fail "the upstream igdd did not start"; }
}
upigdd_flush() { rm -f "$LAB_DIR/upstate"/*; }   # its leases: it restarts empty
# in its table and in its nft map (an element of dnat_any)
upigdd_has() {
  timeout $LAB_T "$CTL" -s "$LAB_DIR/up.sock" list 2>&1 | grep -Eq "^TCP +$1 +\* +10\.0\.0\.2:$1 " &&
    ip netns exec $NS_WAN nft list map ip igdd dnat_any 2>/dev/null | grep -q "tcp \. $1 : 10\.0\.0\.2 \. $1"
}

up_fail() { sed 's/^/  upstream: /' "$LAB_DIR/up.log" "$LAB_DIR/mini.log" 2>/dev/null | tail -20; ctl status | sed 's/^/  status: /'; lab_fail "$@"; }
up_stop() { lab_bg_stop "$UP_PID"; UP_PID=; MINI_PID=; }

# The upstream igdd holds TCP 8090 for another host (an admin mapping).
# The client is told the port the internet sees (docs/POLICY.md): igdd's
# AddPortMapping of 8090 upstream gets 729, its AddAnyPortMapping there
# reserves 8091; so the LAN client's AddPortMapping of 8090 fails with
# 729 and leaves nothing, here or upstream; its AddAnyPortMapping for 8090
# is moved to 8091 and answered 8091, where the internet reaches the LAN
# host through both NATs, the two tables in agreement.
upigdd_conflict() {
  local out
  up_list() { timeout $LAB_T "$CTL" -s "$LAB_DIR/up.sock" list 2>&1; }
  timeout $LAB_T "$CTL" -s "$LAB_DIR/up.sock" add TCP 8090 10.0.0.9 8090 >/dev/null 2>&1 ||
    lab_fail "the upstream's admin mapping"
  out=$(upnpc1 -e doublenat3 -a $LAN1_IP 8080 8090 TCP 3600)
  expect "igdd (upstream): AddPortMapping of a port the upstream holds for another host: 729"     "729" "$out"
  lab_wait_line "$IGDD_LOG" "TCP port 8090 is reachable from the internet as port 8091" ||
    lab_fail "the upstream's other port is not logged"
  none_8091() { ! up_list | grep -Eq "^TCP +8091 "; }
  lab_until none_8091 || up_fail "the upstream kept the port it reserved after the 729"
  ctl list | grep -Eq "^TCP +8090 " && lab_fail "igdd kept 8090 after answering 729: $(ctl list)"
  lab_ok "igdd (upstream): AddPortMapping 8090 answered 729; neither table keeps it"
  out=$(upnpc1 -e doublenat4 -n $LAN1_IP 8080 8090 TCP 3600)
  expect "igdd (upstream): AddAnyPortMapping for 8090 answers the port the internet sees"     "external 198.51.100.1:8091 TCP is redirected to internal $LAN1_IP:8080" "$out"
  ctl list | grep -Eq "^TCP +8091 +\* +$LAN1_IP:8080 " || lab_fail "igdd's table: $(ctl list)"
  at_8091() { up_list | grep -Eq "^TCP +8091 +\* +10\.0\.0\.2:8091 "; }
  lab_until at_8091 || up_fail "the upstream does not hold 8091 for igdd's 8091"
  other_0() { [ "$(status_line upstream_other_port)" = 0 ]; }
  lab_until other_0 || lab_fail "status: $(ctl status)"
  lab_ok "igdd (upstream): AddAnyPortMapping moved to 8091: both tables hold 8091"
  out=$(ip netns exec "$NS_INET" $PEER get tcp 198.51.100.1 8091)
  expect "igdd (upstream): the internet reaches the LAN host on the port the client was told" \
    "hello from lan1 through two NATs" "$out"
  upnpc1 -d 8091 TCP >/dev/null
  lab_until none_8091 || up_fail "the upstream kept 8091 after the delete"
}

# run NAME START HAS FLUSH [EXTRA]: one run against an upstream.
run() {
  local name=$1 start=$2 has=$3 flush=$4 extra=${5:-} out
  hasnt() { ! $has "$1"; }
  $start
  lab_ok "$name is the upstream gateway (UPnP IGD only, on 10.0.0.1:5555)"
  igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
  upnp_found() { [ "$(status_line upstream)" = upnp ]; }
  lab_until upnp_found || lab_fail "igdd did not find the upstream's IGD: $(ctl status)"
  lab_wait_line "$IGDD_LOG" "no PCP or NAT-PMP: UPnP urn:schemas-upnp-org:service:WANIPConnection" ||
    lab_fail "no UPnP log line"
  ext_known() { [ "$(status_line upstream_external_ip)" = 198.51.100.1 ]; }
  lab_until ext_known || lab_fail "igdd did not learn the upstream's address: $(ctl status)"
  lab_ok "$name: igdd uses the IGD (GetExternalIPAddress: 198.51.100.1)"
  out=$(upnpc1 -s)
  expect "$name: GetExternalIPAddress on igdd reports the upstream's address" \
    "ExternalIPAddress = 198.51.100.1" "$out"
  out=$(upnpc1 -e doublenat -a $LAN1_IP 8080 8080 TCP 3600)
  expect "$name: upnpc maps TCP 8080 on igdd" "is redirected to internal $LAN1_IP:8080" "$out"
  lab_until $has 8080 || up_fail "$name: the mapping did not appear upstream"
  mirrored_1() { [ "$(status_line upstream_mirrored)" = 1 ]; }
  lab_until mirrored_1 || lab_fail "status: $(ctl status)"
  lab_ok "$name: igdd mirrored it with AddPortMapping (10.0.0.2:8080)"
  out=$(ip netns exec "$NS_INET" $PEER get tcp 198.51.100.1 8080)
  expect "$name: a connection from the internet reaches the LAN host through both NATs" \
    "hello from lan1 through two NATs" "$out"
  out=$(upnpc1 -d 8080 TCP)
  lab_until hasnt 8080 || up_fail "$name: the upstream mapping outlived the local one"
  lab_ok "$name: deleting the local mapping deleted it upstream (DeletePortMapping)"
  out=$(upnpc1 -e doublenat -a $LAN1_IP 8080 8080 TCP 3600)
  lab_until $has 8080 || lab_fail "$name: the mapping did not come back upstream"
  # the upstream restarts with an empty table
  up_stop
  $flush
  hasnt 8080 || lab_fail "$name: the upstream still holds 8080 after the flush"
  $start
  lab_until $has 8080 || up_fail "$name: igdd did not add 8080 again after the upstream restarted"
  lab_wait_line "$IGDD_LOG" "BOOTID.UPNP.ORG changed|answers again" || lab_fail "no restart logged"
  lab_ok "$name: after the upstream restarted, igdd added the mapping again"
  out=$(ip netns exec "$NS_INET" $PEER get tcp 198.51.100.1 8080)
  expect "$name: the internet reaches the LAN host again" "hello from lan1 through two NATs" "$out"
  [ -n "$extra" ] && $extra
  igdd_stop
  lab_until hasnt 8080 || up_fail "$name: igdd's shutdown left its mapping upstream"
  lab_ok "$name: igdd's shutdown deleted its upstream mapping"
  up_stop
  rm -f "$LAB_DIR/state"/* 2>/dev/null
}

for r in ${DOUBLENAT_UPNP_RUNS:-miniupnpd igdd}; do
  case $r in
  miniupnpd)
    dn_mini_nft
    run miniupnpd mini_start mini_has mini_flush
    ip netns exec $NS_WAN nft delete table inet miniupnpd;;
  igdd) run "igdd (upstream)" upigdd_start upigdd_has upigdd_flush upigdd_conflict;;
  esac
done
echo "all double-NAT UPnP tests passed"
