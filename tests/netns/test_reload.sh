#!/usr/bin/env bash
# Reloading the configuration (SIGHUP, docs/CONFIG.md "Reloading"): a new
# ACL applies to new requests and removes the mappings it refuses (not
# the others, not lan2's), a key that needs a restart is named in the log
# and keeps its running value, and a configuration that does not load
# leaves the running one in place.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require upnpc curl
lab_up
conf=$LAB_DIR/igdd.conf
LAB_HTTP_PORT=5000 lab_conf "$conf" "acl = allow 1024-65535 192.168.77.0/24 1024-65535"
igdd_start "$IGDD" "$conf"

# The description URL on the running port (5000): no discovery, which
# test_discovery.sh covers.
upnpc1() { in_lan1 timeout $LAB_T upnpc -i -u http://$GW_LAN_IP:5000/rootDesc.xml "$@" 2>&1; }
upnpc2() { in_lan2 timeout $LAB_T upnpc -i -u http://$GW_LAN_IP:5000/rootDesc.xml "$@" 2>&1; }
# wait_log PATTERN: a log line matching PATTERN comes.
wait_log() { lab_wait_line "$IGDD_LOG" "$1" || lab_fail "no log line matching '$1'"; }

expect "lan1 maps TCP 18080" "is redirected" "$(upnpc1 -a $LAN1_IP 8080 18080 TCP 3600)"
expect "lan1 maps UDP 19000" "is redirected" "$(upnpc1 -a $LAN1_IP 9000 19000 UDP 3600)"
expect "lan2 maps TCP 18090" "is redirected" "$(upnpc2 -a $LAN2_IP 7000 18090 TCP 3600)"

# External ports 18000-18089 refused from now on; the HTTP port changed
# too (a restart-only key).
LAB_HTTP_PORT=5001 lab_conf "$conf" \
  "acl = deny 18000-18089 0.0.0.0/0 0-65535" \
  "acl = allow 1024-65535 192.168.77.0/24 1024-65535"
kill -HUP $IGDD_PID
wait_log "configuration reloaded from .*: 1 mapping\(s\) the new policy refuses removed"
lab_ok "SIGHUP reloads: one mapping removed"
lab_wait_line "$IGDD_LOG" "reload: http_port: takes effect at the next start" ||
  lab_fail "the changed http_port was not reported"
lab_ok "a restart-only key is named in the log"
grep -q "reload: acl" "$IGDD_LOG" && lab_fail "acl reported as needing a restart"

out=$(upnpc1 -l)
echo "$out" | grep -q "18080->" && { echo "$out" | sed 's/^/  | /'; lab_fail "TCP 18080 survived the reload"; }
expect "lan1's UDP 19000 kept" "UDP +19000->$LAN1_IP:9000" "$out"
expect "lan2's TCP 18090 kept" "18090->$LAN2_IP:7000" "$(upnpc2 -l)"
out=$(upnpc1 -a $LAN1_IP 8081 18081 TCP 3600)
echo "$out" | grep -q "is redirected" && lab_fail "the new ACL let TCP 18081 through"
lab_ok "the new ACL refuses new mappings in 18000-18089"
code=$(in_lan1 curl -s -o /dev/null -w '%{http_code}' --max-time $LAB_T http://$GW_LAN_IP:5000/rootDesc.xml)
[ "$code" = 200 ] || lab_fail "HTTP no longer on the running port 5000 ($code)"
lab_ok "HTTP still on the running port"

# A configuration that does not load changes nothing.
echo "acl = permit everything" >>"$conf"
kill -HUP $IGDD_PID
wait_log "reload: .*; the running configuration stays"
lab_ok "a bad configuration is refused"
out=$(upnpc1 -a $LAN1_IP 8083 18083 TCP 3600)
echo "$out" | grep -q "is redirected" && lab_fail "the refused reload changed the ACL"
expect "the running ACL still applies" "UDP +19000->$LAN1_IP:9000" "$(upnpc1 -l)"
kill -0 $IGDD_PID || lab_fail "igdd exited"

# igddctl reload does the same, and answers with the outcome.
CTL="$(dirname "$IGDD")/igddctl"
if [ -x "$CTL" ]; then
  out=$(timeout $LAB_T "$CTL" -s "$LAB_DIR/igdd.sock" reload 2>&1)
  rc=$?
  [ $rc -eq 1 ] && echo "$out" | grep -q "the running configuration stays (error 422)" ||
    { echo "$out" | sed 's/^/  | /'; lab_fail "igddctl reload of a bad file: exit $rc"; }
  lab_ok "igddctl reload reports a bad file"
  LAB_HTTP_PORT=5000 lab_conf "$conf" "acl = deny 19000-19000 0.0.0.0/0 0-65535" \
    "acl = allow 1024-65535 192.168.77.0/24 1024-65535"
  out=$(timeout $LAB_T "$CTL" -s "$LAB_DIR/igdd.sock" reload 2>&1) ||
    { echo "$out" | sed 's/^/  | /'; lab_fail "igddctl reload failed"; }
  expect "igddctl reload removes UDP 19000" "removed: 1" "$out"
  out=$(upnpc1 -l)
  echo "$out" | grep -q "19000->" && lab_fail "UDP 19000 survived igddctl reload"
  expect "TCP 18080 allowed again" "is redirected" "$(upnpc1 -a $LAN1_IP 8080 18080 TCP 3600)"
fi
echo "PASS: reload"
