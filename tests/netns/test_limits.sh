#!/usr/bin/env bash
# Hostile load against the HTTP server (ARCHITECTURE rule 4), in the
# namespace lab with the sim backend: connections in total and per source
# address, a slow-loris attacker (connections sending a header byte per
# second, and slow bodies) while a well-behaved client keeps being
# answered, the request time limit, wire-level malformed requests
# (truncated and oversized headers, bad Content-Length, double framing)
# each with its defined answer and the mapping table unchanged, a peer
# outside the LAN, GENA subscriptions per source, a reader that takes
# nothing of a large answer, and the rate limit on the warnings all this
# causes.
# The small limits below are configuration; the defaults live in
# src/util/limits.h. Correctness is asserted, not timing: the well-behaved
# client's latency is printed (slowloris-figures:) for the record.
# Two runs of igdd on one state directory (persist_leases): the first with
# the longest http_timeout (300 s), so that nothing the checks hold open
# is cut however slow this machine is; the second with http_timeout 3 s
# for the checks of the time limit itself (slow loris, kept-alive client,
# stuck reader), whose set-up (4000 mappings) the first run made. After
# the connection limits, the first run is reloaded with http_max_per_ip =
# http_max_connections: an answer to a malformed request lingers (drains
# the rest) before it closes, and how many of one address's connections
# linger at once depends on this machine's speed, so the malformed
# requests must not meet the per-address limit (a full server makes a
# connection wait, never fails it).
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
STUCK_BASE=30000
STUCK_COUNT=4000
lab_up
# Extra source addresses for lan1: the per-address limit counts addresses.
SRC=(192.168.77.4 192.168.77.5 192.168.77.6 192.168.77.7)
for a in "${SRC[@]}"; do ip -n "$NS_LAN1" addr add "$a/24" dev eth0; done
# The WAN host may route to the LAN address (to be refused there).
ip -n "$NS_WAN" route add 192.168.77.0/24 via "$GW_WAN_IP"
limits_conf() { # limits_conf HTTP_TIMEOUT [HTTP_MAX_PER_IP]
  lab_conf "$LAB_DIR/igdd.conf" "http_max_per_ip = ${2:-$PER_IP}" "http_max_connections = $TOTAL" \
    "http_timeout = $1" "persist_leases = yes"
}
limits_start() {
  igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
  port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$IGDD_LOG" | head -1)
  [ -n "$port" ] || lab_fail "no http port in the start-up line"
}

# hostile NS-RUNNER ARGS...: output kept (every wait inside is bounded).
hostile() {
  local run=$1; shift
  $run "$PY" "$HOSTILE" "$@" 2>&1 | tee -a "$LAB_DIR/hostile.out"
  return "${PIPESTATUS[0]}"
}
alive() {
  kill -0 "$IGDD_PID" 2>/dev/null || lab_fail "igdd died: $1"
}
no_sanitizer_report() {
  grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$IGDD_LOG" && lab_fail "sanitizer report in the log"
}

# ---- run 1: limits, with the longest request time limit ----
limits_conf 300
limits_start

hostile in_lan1 conn-limits "$GW_LAN_IP" "$port" --per-ip $PER_IP --total $TOTAL \
  --src "${SRC[@]}" || lab_fail "connection limits"
alive "connection limits"

limits_conf 300 $TOTAL
kill -HUP "$IGDD_PID"
lab_wait_line "$IGDD_LOG" "configuration reloaded" || lab_fail "no reload with http_max_per_ip = $TOTAL"

hostile in_lan1 malformed "$GW_LAN_IP" "$port" --client "$LAN1_IP" || lab_fail "malformed requests"
alive "malformed requests"

hostile in_wan refused "$GW_LAN_IP" "$port" || lab_fail "a peer outside the LAN"
alive "a peer outside the LAN"

# Subscriptions per source at the default (IGDD_GENA_MAX_PER_SOURCE 16);
# the CALLBACK is a LAN host where nothing listens (deliveries fail fast).
hostile in_lan1 gena-limits "$GW_LAN_IP" "$port" --per-source 16 --src "$LAN1_IP" "${SRC[3]}" \
  --callback "http://$LAN1_IP:49999/events" || lab_fail "GENA limits"
alive "GENA limits"

# The stuck reader's listing, made now: persist_leases brings it to run 2.
hostile in_lan1 fill "$GW_LAN_IP" "$port" --client "$LAN1_IP" --count $STUCK_COUNT \
  --base $STUCK_BASE || lab_fail "4000 mappings for the stuck reader"
igdd_stop
no_sanitizer_report

# ---- run 2: the request time limit, http_timeout 3 s ----
limits_conf $TIMEOUT
t_start=$(lab_now_ms)
limits_start
lab_wait_line "$IGDD_LOG" "$STUCK_COUNT leases restored" || lab_fail "the 4000 mappings were not restored"

hostile in_lan1 slowloris "$GW_LAN_IP" "$port" --attack-src "${SRC[0]}" "${SRC[1]}" \
  --body-src "${SRC[2]}" --good-src "$LAN1_IP" --per-ip $PER_IP \
  --timeout $TIMEOUT --duration 8 || lab_fail "slow loris"
alive "slow loris"

hostile in_lan1 keepalive "$GW_LAN_IP" "$port" --timeout $TIMEOUT || lab_fail "kept-alive client"
alive "kept-alive client"

# A reader that takes nothing of a large answer: abandoned after
# http_timeout, with one (rate-limited) warning.
hostile in_lan1 stuck-reader "$GW_LAN_IP" "$port" --count $STUCK_COUNT --base $STUCK_BASE \
  --log "$IGDD_LOG" || lab_fail "stuck reader"
alive "stuck reader"
grep -q "HTTP response not taken in $TIMEOUT s" "$IGDD_LOG" || lab_fail "no warning about the stuck reader"

# Dozens of connections were cut; the warning about them is rate-limited:
# at most HTTP_IO_WARN_BURST (5) per HTTP_IO_WARN_INTERVAL_MS (a minute,
# src/net/http_io.c), so at most 5 per started minute of this run (a
# bound from the time measured: a slow run may log more, rightly).
n=$(grep -c "HTTP request not complete" "$IGDD_LOG" || true)
minutes=$(( ($(lab_now_ms) - t_start) / 60000 + 1 ))
cut=$(sed -n 's/^slowloris-figures:.* cut=\([0-9]*\).*/\1/p' "$LAB_DIR/hostile.out" | tail -1)
[ "$n" -ge 1 ] || lab_fail "no warning about the slow connections"
[ "$n" -le $((5 * minutes)) ] || lab_fail "$n warnings about slow connections in $minutes minute(s): not rate-limited"
lab_ok "slow-connection warnings rate-limited: $n lines for ${cut:-?} connections cut"
igdd_stop
no_sanitizer_report
echo "PASS: limits"
