#!/usr/bin/env bash
# Hostile load against the HTTP server (ARCHITECTURE rule 4), in the
# namespace lab with the sim backend: connections in total and per source
# address, idle connections giving way to a new host, eight addresses
# keeping kept-alive connections busy while a ninth is still served, the
# request count and lifetime of a connection, a slow-loris attacker (many
# connections sending a header byte per second, and slow bodies) while a
# well-behaved client keeps being answered, the request time limit,
# wire-level malformed requests (truncated and oversized headers, bad
# Content-Length, double framing) each with its defined answer and the
# mapping table unchanged, a peer outside the LAN, GENA subscriptions
# (per address, their timeout, a CALLBACK at another host, every slot
# held by many addresses), a reader that takes nothing of a large answer,
# and the rate limit on the warnings all this causes.
# The small limits below are configuration; the defaults live in
# src/util/limits.h. Correctness is asserted, not timing: the well-behaved
# client's latency is printed (slowloris-figures:) for the record.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require
[ -x "$PY" ] || lab_skip "$PY missing"
HOSTILE="$HERE/hostile_http.py"

PER_IP=4
TOTAL=12
TIMEOUT=3
lab_up
# Extra source addresses for lan1: the per-address limit counts addresses.
SRC=(192.168.77.4 192.168.77.5 192.168.77.6 192.168.77.7)
# Eight more for the hosts that try to keep every connection slot, and
# one for the host that must still get one.
HOG=(192.168.77.20 192.168.77.21 192.168.77.22 192.168.77.23 192.168.77.24 192.168.77.25
     192.168.77.26 192.168.77.27)
FAIR=192.168.77.30
MORE=(192.168.77.31 192.168.77.32 192.168.77.33)
for a in "${SRC[@]}" "${HOG[@]}" $FAIR "${MORE[@]}"; do ip -n "$NS_LAN1" addr add "$a/24" dev eth0; done
# The WAN host may route to the LAN address (to be refused there).
ip -n "$NS_WAN" route add 192.168.77.0/24 via "$GW_WAN_IP"
# Long enough that no connection here reaches it (the last part of the
# test runs again with a short one).
LIFETIME=600
lab_conf "$LAB_DIR/igdd.conf" "http_max_per_ip = $PER_IP" "http_max_connections = $TOTAL" \
  "http_timeout = $TIMEOUT" "http_max_lifetime = $LIFETIME"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$IGDD_LOG" | head -1)
[ -n "$port" ] || lab_fail "no http port in the start-up line"

hostile() { # hostile NS-RUNNER ARGS...: bounded in time, output kept
  local run=$1; shift
  $run timeout 90 "$PY" "$HOSTILE" "$@" 2>&1 | tee -a "$LAB_DIR/hostile.out"
  return "${PIPESTATUS[0]}"
}
alive() {
  kill -0 "$IGDD_PID" 2>/dev/null || lab_fail "igdd died: $1"
}

hostile in_lan1 conn-limits "$GW_LAN_IP" "$port" --per-ip $PER_IP --total $TOTAL \
  --src "${SRC[@]}" || lab_fail "connection limits"
alive "connection limits"

# Eight addresses keep their connections alive, asking every second,
# more than all the slots: a ninth host is still served every time.
hostile in_lan1 fair-share "$GW_LAN_IP" "$port" --attack-src "${HOG[@]}" --good-src $FAIR \
  --per-ip $PER_IP --gap 1 --duration 8 || lab_fail "fair shares"
alive "fair shares"

hostile in_lan1 max-requests "$GW_LAN_IP" "$port" --limit 1000 || lab_fail "requests per connection"
alive "requests per connection"

hostile in_lan1 slowloris "$GW_LAN_IP" "$port" --attack-src "${SRC[0]}" "${SRC[1]}" \
  --body-src "${SRC[2]}" --good-src "$LAN1_IP" --conns 10 --per-ip $PER_IP \
  --timeout $TIMEOUT --duration 8 || lab_fail "slow loris"
alive "slow loris"

hostile in_lan1 keepalive "$GW_LAN_IP" "$port" --timeout $TIMEOUT || lab_fail "kept-alive client"
alive "kept-alive client"

hostile in_lan1 malformed "$GW_LAN_IP" "$port" --client "$LAN1_IP" || lab_fail "malformed requests"
alive "malformed requests"

hostile in_wan refused "$GW_LAN_IP" "$port" || lab_fail "a peer outside the LAN"
alive "a peer outside the LAN"

# Subscriptions at the defaults (IGDD_GENA_MAX_PER_SOURCE 8,
# IGDD_GENA_MAX_SUBSCRIPTIONS 128): 16 addresses fill every slot, a 17th
# still gets one. Each CALLBACK is its subscriber's own address, where
# nothing listens (deliveries fail fast).
hostile in_lan1 gena-limits "$GW_LAN_IP" "$port" --per-source 8 --total 128 \
  --src "$LAN1_IP" "${SRC[@]}" "${HOG[@]}" $FAIR "${MORE[@]}" --cb-port 49999 ||
  lab_fail "GENA limits"
alive "GENA limits"

# A reader that takes nothing of a large answer: abandoned after
# http_timeout, with one (rate-limited) warning.
hostile in_lan1 stuck-reader "$GW_LAN_IP" "$port" --client "$LAN1_IP" --timeout $TIMEOUT ||
  lab_fail "stuck reader"
alive "stuck reader"
grep -q "HTTP response not taken in $TIMEOUT s" "$IGDD_LOG" || lab_fail "no warning about the stuck reader"

# Dozens of connections were cut; the warning about them is rate-limited
# (a few per minute, the rest counted in the next one).
n=$(grep -c "HTTP request not complete" "$IGDD_LOG" || true)
[ "$n" -ge 1 ] || lab_fail "no warning about the slow connections"
[ "$n" -le 6 ] || lab_fail "$n warnings about slow connections: not rate-limited"
lab_ok "slow-connection warnings rate-limited: $n lines"
igdd_stop
grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$IGDD_LOG" && lab_fail "sanitizer report in the log"

# A connection's lifetime: kept alive and asking every second, it is
# ended once it has lived http_max_lifetime.
lab_conf "$LAB_DIR/igdd.conf" "http_max_lifetime = 3"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$IGDD_LOG" | head -1)
hostile in_lan1 lifetime "$GW_LAN_IP" "$port" --gap 1 --max-requests 30 || lab_fail "lifetime"
alive "lifetime"
igdd_stop
grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$IGDD_LOG" && lab_fail "sanitizer report in the log"
echo "PASS: limits"
