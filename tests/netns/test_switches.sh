#!/usr/bin/env bash
# The switches an admin sets (docs/CONFIG.md): enable_upnp = no leaves
# NAT-PMP/PCP only (no SSDP socket, no HTTP listener, upnpc finds no
# gateway, natpmpc and PCP still map); pcp_third_party = yes lets a LAN
# host map a port to another LAN host with PCP THIRD_PARTY in secure mode,
# and without it (secure_mode = no alone) THIRD_PARTY is NOT_AUTHORIZED.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require upnpc natpmpc ss
lab_up
PCPC="$PY $HERE/pcp_client.py"
CTL=$(dirname "$IGDD")/igddctl
# The sockets igdd listens on in the gateway: "tcp 0.0.0.0:5000" lines.
igdd_sockets() {
  ip netns exec $NS_GW ss -H -lntup 2>/dev/null | grep "pid=$IGDD_PID," |
    awk '{ print $1, $5 }' | sort -u
}

# --- a positive control: UPnP on, the listeners are there ---
lab_conf "$LAB_DIR/igdd.conf"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
s=$(igdd_sockets)
expect "enable_upnp = yes: an HTTP listener" "^tcp " "$s"
expect "enable_upnp = yes: the SSDP socket" "^udp .*:1900$" "$s"
igdd_stop

# --- UPnP off ---
lab_conf "$LAB_DIR/igdd.conf" "enable_upnp = no" "pcp_third_party = yes"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
grep -q "UPnP off: NAT-PMP/PCP only" "$IGDD_LOG" || lab_fail "no 'UPnP off' in the start-up line"
s=$(igdd_sockets)
echo "$s" | grep -q "^tcp " && { echo "$s" | sed 's/^/  | /'; lab_fail "a TCP listener with enable_upnp = no"; }
lab_ok "enable_upnp = no: no TCP listener"
echo "$s" | grep -q ":1900$" && { echo "$s" | sed 's/^/  | /'; lab_fail "an SSDP socket with enable_upnp = no"; }
lab_ok "enable_upnp = no: no SSDP socket"
expect "enable_upnp = no: NAT-PMP/PCP still listens" "^udp .*:5351$" "$s"
out=$(in_lan1 timeout $LAB_T upnpc -i -l 2>&1)
expect "upnpc finds no gateway" "No IGD UPnP Device found|No valid UPNP Internet Gateway Device" "$out"
out=$(in_lan1 timeout $LAB_T natpmpc -g $GW_LAN_IP -a 29200 9200 tcp 3600 2>&1)
expect "natpmpc maps with UPnP off" "Mapped public port 29200 protocol TCP to local port 9200" "$out"

# --- PCP THIRD_PARTY: lan1 maps a port to lan2, in secure mode ---
out=$(in_lan1 $PCPC $GW_LAN_IP $LAN1_IP map 5 6 9300 19300 600 third=$LAN2_IP 2>&1)
expect "PCP THIRD_PARTY with pcp_third_party = yes" "result=0 lifetime=600 .*port=19300" "$out"
out=$(timeout $LAB_T "$CTL" -s "$LAB_DIR/igdd.sock" list 2>&1)
expect "the mapping goes to the named host" "TCP +19300 .*$LAN2_IP:9300" "$out"
out=$(in_lan1 $PCPC $GW_LAN_IP $LAN1_IP map 5 6 9301 19301 600 third=198.51.100.7 2>&1)
expect "PCP THIRD_PARTY naming a host outside the LAN: NOT_AUTHORIZED" "result=2 " "$out"
igdd_stop

lab_conf "$LAB_DIR/igdd.conf" "enable_upnp = no" "secure_mode = no"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
out=$(in_lan1 $PCPC $GW_LAN_IP $LAN1_IP map 6 6 9302 19302 600 third=$LAN2_IP 2>&1)
expect "PCP THIRD_PARTY without pcp_third_party (secure_mode = no): NOT_AUTHORIZED" "result=2 " "$out"
out=$(in_lan1 $PCPC $GW_LAN_IP $LAN1_IP map 6 6 9302 19302 600 2>&1)
expect "PCP MAP for itself still works" "result=0 lifetime=600 .*port=19302" "$out"
igdd_stop

# --- nothing to serve is refused by igdd -n ---
lab_conf "$LAB_DIR/bad.conf" "enable_upnp = no" "enable_natpmp = no" "enable_pcp = no"
out=$("$IGDD" -n -f "$LAB_DIR/bad.conf" 2>&1) && lab_fail "igdd -n accepted a configuration serving nothing"
expect "igdd -n: nothing to serve" "all no: nothing to serve" "$out"
echo "PASS: switches"
