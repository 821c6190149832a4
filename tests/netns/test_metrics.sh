#!/usr/bin/env bash
# Monitoring (docs/MONITORING.md): the counters after real requests
# (upnpc, natpmpc, a refused AddPortMapping), through igddctl stats (text
# and JSON) and the Prometheus endpoint (metrics_listen): on the loopback
# from the gateway itself, on the LAN address from a LAN host, never from
# the WAN side; igdd refuses to start with metrics_listen on the WAN
# address. The scrape is read with curl as Prometheus would.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_HTTP_PORT=5000
. "$HERE/lib.sh"
lab_require upnpc natpmpc curl
CTL=$(dirname "$IGDD")/igddctl
[ -x "$CTL" ] || lab_skip "igddctl not built beside igdd"
lab_up
ctl() { timeout $LAB_T "$CTL" -s "$LAB_DIR/igdd.sock" "$@" 2>&1; }
upnpc1() { in_lan1 timeout $LAB_T upnpc -i -u "http://$GW_LAN_IP:5000/rootDesc.xml" "$@" 2>&1; }

lab_conf "$LAB_DIR/igdd.conf" "metrics_listen = 127.0.0.1:9655"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
expect "upnpc maps TCP 18080" "is redirected" "$(upnpc1 -a $LAN1_IP 8080 18080 TCP 3600)"
# A well-known port: refused by the default policy (606 or 718 as it says).
out=$(upnpc1 -a $LAN1_IP 22 22 TCP 3600)
expect "upnpc maps TCP 22: refused" "failed with code 60[6]|failed with code 7" "$out"
expect "natpmpc maps UDP 29000" "Mapped public port 29000 protocol UDP" \
  "$(in_lan1 timeout $LAB_T natpmpc -g $GW_LAN_IP -a 29000 9000 udp 3600 2>&1)"

out=$(ctl stats) || lab_fail "igddctl stats failed: $out"
expect "igddctl stats: AddPortMapping successes" "^requests upnp AddPortMapping 0: [1-9]" "$out"
expect "igddctl stats: the refusal with its code" "^requests upnp AddPortMapping [67][0-9][0-9]: 1$" "$out"
expect "igddctl stats: NAT-PMP map_udp" "^requests natpmp map_udp 0: 1$" "$out"
expect "igddctl stats: mappings by origin" "^mappings_upnp: 1$" "$out"
expect "igddctl stats: natpmp mapping" "^mappings_natpmp: 1$" "$out"
out=$(ctl stats --json | head -1)
echo "$out" | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
ok = [r for r in s["requests"] if r["protocol"] == "natpmp" and r["action"] == "map_udp" and r["code"] == 0]
assert ok and ok[0]["count"] == 1, s
assert s["mappings"]["upnp"] == 1 and s["mappings"]["natpmp"] == 1, s
assert "pcp_rate" in s["refused"], s
' || lab_fail "igddctl stats --json"
lab_ok "igddctl stats --json parses, with the same counts"

# The Prometheus endpoint on the loopback, scraped from the gateway.
out=$(ip netns exec $NS_GW curl -sS -i --max-time $LAB_T http://127.0.0.1:9655/metrics 2>&1)
expect "metrics: 200 with the text format" "^Content-Type: text/plain; version=0.0.4" "$(echo "$out" | tr -d '\r')"
expect "metrics: requests by action and code" \
  '^igdd_requests_total\{protocol="upnp",action="AddPortMapping",code="0"\} [1-9]' "$out"
expect "metrics: NAT-PMP" '^igdd_requests_total\{protocol="natpmp",action="map_udp",code="0"\} 1' "$out"
expect "metrics: mappings by origin" '^igdd_mappings\{origin="natpmp"\} 1' "$out"
expect "metrics: helper round trips" '^igdd_helper_rtt_seconds_total [0-9]+\.[0-9]{6}' "$out"
out=$(ip netns exec $NS_GW curl -sS -o /dev/null -w '%{http_code}' --max-time $LAB_T http://127.0.0.1:9655/other 2>&1)
expect "metrics: another path is 404" "^404$" "$out"
out=$(ip netns exec $NS_GW curl -sS -o /dev/null -w '%{http_code}' -X POST --max-time $LAB_T http://127.0.0.1:9655/metrics 2>&1)
expect "metrics: POST is 405" "^405$" "$out"
out=$(in_lan1 curl -sS --max-time 3 http://$GW_LAN_IP:9655/metrics 2>&1)
expect "metrics on the loopback: nothing on the LAN address" "Connection refused|Failed to connect" "$out"
igdd_stop

# On the LAN address: a LAN host scrapes it; the WAN side gets nothing.
lab_conf "$LAB_DIR/igdd.conf" "metrics_listen = $GW_LAN_IP:9655"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
out=$(in_lan1 curl -sS --max-time $LAB_T http://$GW_LAN_IP:9655/metrics 2>&1)
expect "metrics on the LAN address: a LAN host scrapes it" '^igdd_uptime_seconds [0-9]+' "$out"
out=$(in_wan curl -sS --max-time 3 http://$GW_WAN_IP:9655/metrics 2>&1)
expect "metrics: nothing on the WAN address" "Connection refused|Failed to connect|timed out" "$out"
igdd_stop

# On the WAN address: igdd refuses to start, saying why.
lab_conf "$LAB_DIR/igdd.conf" "metrics_listen = $GW_WAN_IP:9655"
out=$(ip netns exec $NS_GW timeout $LAB_T "$IGDD" -d -f "$LAB_DIR/igdd.conf" 2>&1) &&
  lab_fail "igdd started with metrics_listen on the WAN address"
expect "metrics_listen on the WAN address: refused at start" "never on the WAN" "$out"
# And 0.0.0.0 already at igdd -n.
lab_conf "$LAB_DIR/bad.conf" "metrics_listen = 0.0.0.0:9655"
out=$("$IGDD" -n -f "$LAB_DIR/bad.conf" 2>&1) && lab_fail "igdd -n accepted metrics_listen = 0.0.0.0"
expect "igdd -n refuses metrics_listen = 0.0.0.0" "invalid metrics_listen '0.0.0.0:9655'" "$out"
echo "PASS: metrics"
