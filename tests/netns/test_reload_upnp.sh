#!/usr/bin/env bash
# Reloading what the device says about itself and whether it speaks UPnP
# (docs/CONFIG.md "Reloading"; UDA 1.1 1.2.2, 1.2.3):
#   - a new friendly_name (and serial_number) in the file, then SIGHUP:
#     ssdp:byebye with the running CONFIGID.UPNP.ORG, then ssdp:alive with
#     a greater one, and a control point that reads the description again
#     (curl, upnpc) sees the new name; the document's configId follows;
#   - enable_upnp = no, then SIGHUP: ssdp:byebye, the HTTP and SSDP sockets
#     closed, upnpc finds no gateway, NAT-PMP still maps; yes again: the
#     sockets back, ssdp:alive, upnpc maps again;
#   - metrics_listen added and moved by reload (the old port closed); a
#     port that cannot be bound refuses the whole reload;
#   - a key that cannot change at run time is named with its reason.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require upnpc natpmpc curl ss
[ -x $PY ] || lab_skip "$PY missing"
lab_up
RAW="$PY $HERE/ssdp_raw.py"
BG=()      # background helpers, started with `ip netns exec` (it execs: $! is the helper)
reload_cleanup() {
  local p
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
  lab_down
}
trap reload_cleanup EXIT
expect() { # expect WHAT PATTERN OUTPUT
  echo "$3" | grep -Eq "$2" || { echo "$3" | sed 's/^/  | /'; lab_fail "$1"; }
  lab_ok "$1"
}
refute() { # refute WHAT PATTERN OUTPUT
  echo "$3" | grep -Eq "$2" && { echo "$3" | sed 's/^/  | /'; lab_fail "$1"; }
  lab_ok "$1"
}
igdd_sockets() {
  ip netns exec $NS_GW ss -H -lntup 2>/dev/null | grep "pid=$IGDD_PID," |
    awk '{ print $1, $5 }' | sort -u
}
# listen FILE: NOTIFYs heard on lan1 into FILE, from now on.
listen() {
  ip netns exec $NS_LAN1 $RAW listen eth0 --ipv4 >"$1" 2>&1 &
  BG+=($!)
  lab_wait_line "$1" '"ready": true' || lab_fail "the SSDP listener did not start"
}
# reload_wait N: SIGHUP, and the Nth "configuration reloaded" line.
reloads_at_least() { [ "$(grep -c 'configuration reloaded from' "$IGDD_LOG")" -ge "$1" ]; }
reload_wait() {
  kill -HUP $IGDD_PID
  lab_until reloads_at_least "$1" || lab_fail "reload $1 did not complete"
}
desc() { in_lan1 curl -s --max-time $LAB_T http://$GW_LAN_IP:5000/rootDesc.xml; }
conf=$LAB_DIR/igdd.conf
# write_conf NAME [LINES...]: the lab's configuration, friendly_name NAME.
write_conf() {
  local name=$1; shift
  LAB_HTTP_PORT=5000 lab_conf "$conf" "$@"
  sed -i "s/^friendly_name = .*/friendly_name = $name/" "$conf"
}
ROOT='"nt": "upnp:rootdevice"'

write_conf '"igdd lab"' "serial_number = SN-1"
igdd_start "$IGDD" "$conf"
out=$(desc)
expect "the running name" "<friendlyName>igdd lab</friendlyName>" "$out"
cid1=$(echo "$out" | sed -n 's/.*configId="\([0-9]*\)".*/\1/p' | head -1)
[ -n "$cid1" ] || lab_fail "no configId in the description"

# --- 1. the description keys ---
listen "$LAB_DIR/n1.jsonl"
write_conf '"Router #2"' "serial_number = SN-2" "http_timeout = 20"
reload_wait 1
lab_expect_line "ssdp:byebye with the running CONFIGID" "$LAB_DIR/n1.jsonl" \
  "\"configid\": \"$cid1\",.*$ROOT, \"nts\": \"ssdp:byebye\""
cid2=$((cid1 + 1))
lab_expect_line "ssdp:alive with the next CONFIGID" "$LAB_DIR/n1.jsonl" \
  "\"configid\": \"$cid2\",.*$ROOT, \"nts\": \"ssdp:alive\""
# Before the first ssdp:alive with the new value, a byebye with the old
# one; after it, no alive with another value (the listener may have heard
# the start-up's announcements before the reload).
first_alive=$(grep -n "\"configid\": \"$cid2\".*ssdp:alive" "$LAB_DIR/n1.jsonl" | head -1 | cut -d: -f1)
head -n "$first_alive" "$LAB_DIR/n1.jsonl" | grep -q "\"configid\": \"$cid1\".*ssdp:byebye" ||
  lab_fail "no ssdp:byebye with CONFIGID $cid1 before the first ssdp:alive with $cid2"
lab_ok "byebye with the old CONFIGID first, then alive with the new"
tail -n "+$first_alive" "$LAB_DIR/n1.jsonl" | grep 'ssdp:alive' | grep -v "\"configid\": \"$cid2\"" |
  grep -q . && lab_fail "an ssdp:alive after the reload with another CONFIGID"
out=$(desc)
expect "a control point reading the description sees the new name" \
  "<friendlyName>Router #2</friendlyName>" "$out"
expect "... and the new serial number" "<serialNumber>SN-2</serialNumber>" "$out"
expect "... and the new configId" "configId=\"$cid2\"" "$out"
out=$(in_lan1 timeout $LAB_T upnpc -u http://$GW_LAN_IP:5000/rootDesc.xml -s 2>&1)
expect "upnpc still talks to the gateway" "ExternalIPAddress = $GW_WAN_IP" "$out"
lab_expect_line "a restart-only key is named with its reason" "$IGDD_LOG" \
  "reload: http_timeout: takes effect at the next start \(.+\)"
grep -q "reload: friendly_name\|reload: serial_number" "$IGDD_LOG" &&
  lab_fail "a description key reported as waiting for the next start"
lab_ok "the description keys are applied, not deferred"

# Nothing changed in the description: CONFIGID stays.
out=$(in_lan1 timeout $LAB_T upnpc -u http://$GW_LAN_IP:5000/rootDesc.xml -e "reload test" \
  -a $LAN1_IP 8080 18080 TCP 3600 2>&1)
expect "lan1 maps TCP 18080" "is redirected" "$out"
write_conf '"Router #2"' "serial_number = SN-2" "http_timeout = 20" "max_mappings_per_client = 100"
reload_wait 2
expect "an unrelated key: the configId stays" "configId=\"$cid2\"" "$(desc)"

# --- 2. enable_upnp off and on ---
listen "$LAB_DIR/n2.jsonl"
write_conf '"Router #2"' "serial_number = SN-2" "http_timeout = 20" "enable_upnp = no"
reload_wait 3
lab_expect_line "enable_upnp = no: ssdp:byebye" "$LAB_DIR/n2.jsonl" "$ROOT, \"nts\": \"ssdp:byebye\""
lab_until sh -c "! ip netns exec $NS_GW ss -H -lntp | grep -q 'pid=$IGDD_PID,'" ||
  lab_fail "igdd still listens on TCP with enable_upnp = no"
lab_ok "enable_upnp = no: the HTTP listener is closed"
s=$(igdd_sockets)
refute "enable_upnp = no: no SSDP socket" ":1900$" "$s"
expect "enable_upnp = no: NAT-PMP/PCP still listen" "^udp .*:5351$" "$s"
out=$(in_lan1 timeout $LAB_T upnpc -i -l 2>&1)
expect "upnpc finds no gateway" "No IGD UPnP Device found|No valid UPNP Internet Gateway Device" "$out"
out=$(in_lan1 timeout $LAB_T natpmpc -g $GW_LAN_IP -a 29200 9200 tcp 3600 2>&1)
expect "natpmpc maps with UPnP off" "Mapped public port 29200 protocol TCP to local port 9200" "$out"

listen "$LAB_DIR/n3.jsonl"
write_conf '"Router #2"' "serial_number = SN-2" "http_timeout = 20" "enable_upnp = yes"
reload_wait 4
lab_expect_line "enable_upnp = yes again: ssdp:alive" "$LAB_DIR/n3.jsonl" "$ROOT, \"nts\": \"ssdp:alive\""
s=$(igdd_sockets)
expect "enable_upnp = yes again: an HTTP listener on port 5000" "^tcp .*:5000$" "$s"
expect "enable_upnp = yes again: the SSDP socket" "^udp .*:1900$" "$s"
out=$(in_lan1 timeout $LAB_T upnpc -i -l 2>&1)
expect "upnpc discovers the gateway again" "Router #2|ExternalIPAddress = $GW_WAN_IP" "$out"
expect "the mappings made meanwhile are listed" "29200->$LAN1_IP:9200" "$out"
expect "the UPnP mapping kept across" "18080->$LAN1_IP:8080" "$out"
out=$(in_lan1 timeout $LAB_T upnpc -i -a $LAN1_IP 8081 18081 TCP 3600 2>&1)
expect "upnpc maps again" "is redirected" "$out"

# --- 3. metrics_listen: bound where the file says, the old one closed ---
metrics() { ip netns exec $NS_GW curl -sS --max-time $LAB_T "http://$1/metrics" 2>&1; }
write_conf '"Router #2"' "serial_number = SN-2" "http_timeout = 20" "metrics_listen = 127.0.0.1:9655"
reload_wait 5
expect "metrics_listen added by reload: scraped" '^igdd_uptime_seconds [0-9]+' "$(metrics 127.0.0.1:9655)"
write_conf '"Router #2"' "serial_number = SN-2" "http_timeout = 20" "metrics_listen = 127.0.0.1:9656"
reload_wait 6
expect "metrics_listen moved by reload: scraped at the new port" '^igdd_uptime_seconds [0-9]+' \
  "$(metrics 127.0.0.1:9656)"
expect "... and the old port closed" "Connection refused|Failed to connect" "$(metrics 127.0.0.1:9655)"
# A port another socket holds: the reload is refused whole (the name stays).
ip netns exec $NS_GW $PY -c 'import socket,time,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 9657)); s.listen(1); print("ready", flush=True); time.sleep(float(sys.argv[1]))' $LAB_T \
  >"$LAB_DIR/holder.out" 2>&1 &
BG+=($!)
lab_wait_line "$LAB_DIR/holder.out" ready || lab_fail "the port holder did not start"
write_conf '"Router #3"' "serial_number = SN-2" "http_timeout = 20" "metrics_listen = 127.0.0.1:9657"
kill -HUP $IGDD_PID
lab_expect_line "a metrics port that cannot be bound refuses the reload" "$IGDD_LOG" \
  "reload: .*9657.*; the running configuration stays"
expect "... the running name stays" "<friendlyName>Router #2</friendlyName>" "$(desc)"
expect "... the running endpoint stays" '^igdd_uptime_seconds [0-9]+' "$(metrics 127.0.0.1:9656)"

# --- 4. a file that does not load changes nothing ---
echo "friendly_name = \"broken" >>"$conf"
kill -HUP $IGDD_PID
lab_expect_line "a bad file is refused" "$IGDD_LOG" "reload: .*; the running configuration stays"
expect "the running name stays" "<friendlyName>Router #2</friendlyName>" "$(desc)"
kill -0 $IGDD_PID || lab_fail "igdd exited"
igdd_stop
