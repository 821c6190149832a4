#!/usr/bin/env bash
# The nft backend's WAN connection driven by the admin's commands
# (docs/NFT.md "WAN commands"): wan_up_command / wan_down_command are
# small scripts that set the gateway's wan0 up or down (run by the
# privileged helper inside the gateway namespace, as user nobody with
# CAP_NET_ADMIN only). ForceTermination takes wan0 down and the
# connection to Disconnected; RequestConnection brings both back; an up
# command that fails leaves the connection Disconnected with
# LastConnectionError ERROR_UNKNOWN; without wan_down_command
# termination answers 501.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require curl
lab_up

URL=http://$GW_LAN_IP:5000/ctl/IPConn
ST=urn:schemas-upnp-org:service:WANIPConnection:2
in_gw() { ip netns exec $NS_GW "$@"; }
# soap ACTION: the response body (HTTP errors included).
soap() {
  in_lan1 curl -s -m $LAB_T -H 'Content-Type: text/xml; charset="utf-8"' \
    -H "SOAPAction: \"$ST#$1\"" --data-binary \
    "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body><u:$1 xmlns:u=\"$ST\"></u:$1></s:Body></s:Envelope>" \
    "$URL"
}
status() { soap GetStatusInfo; }
# wait_status STATE: GetStatusInfo comes to report STATE.
status_is() { out=$(status); echo "$out" | grep -q "<NewConnectionStatus>$1<"; }
wait_status() {
  lab_until status_is "$1" && return 0
  echo "$out" | sed 's/^/  | /'
  return 1
}
wan0_up() { in_gw ip -o link show wan0 | grep -q '[<,]UP[,>]'; }

# The commands: scripts nobody may run (LAB_DIR is root's 0700).
chmod 711 "$LAB_DIR"
mkdir -m 755 "$LAB_DIR/bin"
cat >"$LAB_DIR/bin/wan" <<'SH'
#!/bin/sh
# wan up|down|fail: what the test's wan_*_command runs.
echo "$1 $(id -u)" >>"${0%/*}/calls"
[ "$1" = fail ] && exit 3
exec ip link set wan0 "$1"
SH
chmod 755 "$LAB_DIR/bin/wan"
: >"$LAB_DIR/bin/calls"
chmod 666 "$LAB_DIR/bin/calls"

nft_wan_conf() { lab_nft_conf "$LAB_DIR/igdd.conf" "connection_control = all" "$@"; }

# ---- run 1: both commands ----
nft_wan_conf "wan_up_command = $LAB_DIR/bin/wan up" "wan_down_command = $LAB_DIR/bin/wan down"
out=$("$IGDD" -n -f "$LAB_DIR/igdd.conf" 2>&1)
expect "igdd -n prints the commands back" "^wan_down_command = $LAB_DIR/bin/wan down$" "$out"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
wait_status Connected || lab_fail "not Connected at start with wan0 up"
lab_ok "Connected at start (wan0 up)"

out=$(soap ForceTermination)
expect "ForceTermination answered" "ForceTerminationResponse" "$out"
wait_status Disconnected || lab_fail "not Disconnected after ForceTermination"
wan0_up && lab_fail "wan0 still up after ForceTermination"
expect "the helper ran wan_down_command as nobody" "^down $(id -u nobody)$" "$(cat "$LAB_DIR/bin/calls")"
lab_ok "ForceTermination: Disconnected, wan0 down"

out=$(soap RequestConnection)
expect "RequestConnection answered" "RequestConnectionResponse" "$out"
wait_status Connected || lab_fail "not Connected after RequestConnection"
wan0_up || lab_fail "wan0 not up after RequestConnection"
out=$(status)
expect "LastConnectionError after a good connect" "<NewLastConnectionError>ERROR_NONE<" "$out"
lab_ok "RequestConnection: Connected, wan0 up"
igdd_stop

# ---- run 2: an up command that fails ----
nft_wan_conf "wan_up_command = $LAB_DIR/bin/wan fail" "wan_down_command = $LAB_DIR/bin/wan down"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
wait_status Connected || lab_fail "run 2: not Connected at start"
soap ForceTermination >/dev/null
wait_status Disconnected || lab_fail "run 2: not Disconnected after ForceTermination"
out=$(soap RequestConnection)
if echo "$out" | grep -q "<errorCode>704<"; then
  lab_ok "a failing wan_up_command: RequestConnection 704"
else
  expect "RequestConnection answered" "RequestConnectionResponse" "$out"
fi
wait_status Disconnected || lab_fail "run 2: not Disconnected after a failing up command"
out=$(status)
expect "a failing wan_up_command: Disconnected, LastConnectionError ERROR_UNKNOWN" \
  "<NewLastConnectionError>ERROR_UNKNOWN<" "$out"
lab_wait_line "$IGDD_LOG" "wan_up_command failed: exit status 3" || lab_fail "its exit status is not logged"
lab_ok "its exit status is logged"
wan0_up && lab_fail "run 2: wan0 up after a failing up command"
in_gw ip link set wan0 up
igdd_stop

# ---- run 3: no wan_down_command: termination is not supported ----
nft_wan_conf "wan_up_command = $LAB_DIR/bin/wan up"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
wait_status Connected || lab_fail "run 3: not Connected at start"
out=$(soap ForceTermination)
expect "without wan_down_command ForceTermination answers 501" "<errorCode>501<" "$out"
wan0_up || lab_fail "run 3: wan0 went down"
igdd_stop
echo "PASS: nft_wan"
