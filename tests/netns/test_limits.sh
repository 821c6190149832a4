#!/usr/bin/env bash
# Hostile load against the HTTP server (ARCHITECTURE rule 4), in the
# namespace lab with the sim backend: connections in total and per source
# address, idle connections giving way to a new host, eight addresses
# keeping kept-alive connections busy while a ninth is still served, the
# request count and lifetime of a connection, a slow-loris attacker
# (connections sending a header byte per second, and slow bodies) while a
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
# Two runs of igdd on one state directory (persist_leases): the first with
# the longest http_timeout (300 s) and an http_max_lifetime no check
# reaches, so that nothing the checks hold open is cut however slow this
# machine is; the second with http_timeout 3 s for the checks of the time
# limit itself (slow loris, kept-alive client, stuck reader), whose set-up
# (4000 mappings) the first run made. The malformed requests run at the
# per-address limit: an answer to a malformed request lingers (drains the
# rest) before it closes, and a lingering connection does not count
# against http_max_per_ip (only against http_max_connections, where a
# full server makes a connection wait, never fails it), however many of
# them this machine's speed leaves draining at once. The first run's
# last reload sets http_max_lifetime to 3 s for the lifetime check (read
# per request: no restart).
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
# http_max_lifetime's largest value: no connection here reaches it.
LIFETIME=86400
STUCK_BASE=30000
STUCK_COUNT=4000
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
limits_conf() { # limits_conf HTTP_TIMEOUT [HTTP_MAX_PER_IP [HTTP_MAX_LIFETIME]]
  lab_conf "$LAB_DIR/igdd.conf" "http_max_per_ip = ${2:-$PER_IP}" "http_max_connections = $TOTAL" \
    "http_timeout = $1" "http_max_lifetime = ${3:-$LIFETIME}" "persist_leases = yes"
}
limits_start() {
  igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
  port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$IGDD_LOG" | head -1)
  [ -n "$port" ] || lab_fail "no http port in the start-up line"
}
# limits_reload WHAT: SIGHUP with the configuration just written, and
# wait for the daemon to say it took it (the n-th reload line).
reloads=0
reloaded() { [ "$(grep -c "configuration reloaded" "$IGDD_LOG")" -ge $reloads ]; }
limits_reload() {
  reloads=$((reloads + 1))
  kill -HUP "$IGDD_PID"
  lab_until reloaded || lab_fail "no reload with $1"
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

# Eight addresses keep their connections alive, asking every second,
# more than all the slots: a ninth host is still served every time.
hostile in_lan1 fair-share "$GW_LAN_IP" "$port" --attack-src "${HOG[@]}" --good-src $FAIR \
  --per-ip $PER_IP --gap 1 --duration 8 || lab_fail "fair shares"
alive "fair shares"

hostile in_lan1 max-requests "$GW_LAN_IP" "$port" --limit 1000 || lab_fail "requests per connection"
alive "requests per connection"

# Answered connections that linger (drain) count against no per-address limit,
# and one host's lingering connections filling every slot give way to another.
hostile in_lan1 lingering "$GW_LAN_IP" "$port" --per-ip $PER_IP --total $TOTAL --src "${SRC[3]}" \
  --other $FAIR ||
  lab_fail "lingering connections and http_max_per_ip"
alive "lingering connections"

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

# The stuck reader's listing, made now: persist_leases brings it to run 2.
hostile in_lan1 fill "$GW_LAN_IP" "$port" --client "$LAN1_IP" --count $STUCK_COUNT \
  --base $STUCK_BASE || lab_fail "4000 mappings for the stuck reader"
alive "4000 mappings"

# A connection's lifetime: kept alive and asking every second, it is
# ended once it has lived http_max_lifetime (3 s), not before.
limits_conf 300 $PER_IP 3
limits_reload "http_max_lifetime = 3"
hostile in_lan1 lifetime "$GW_LAN_IP" "$port" --gap 1 --lifetime 3 || lab_fail "lifetime"
alive "lifetime"
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
