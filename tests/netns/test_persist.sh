#!/usr/bin/env bash
# Leases survive restarts (store/leasefile.h; WANIPConnection:2 2.3.16):
# mappings made with upnpc come back after igdd is killed with SIGKILL and
# started again on the same state_dir, with the lease they had left; a
# delete stays done; a mapping whose lease ran out while igdd was down
# does not come back; a damaged journal (a bad record in the middle, a
# torn last line) is skipped line by line and never stops igdd; a
# NAT-PMP lease meets the policy of the restart as a UPnP lease does (an
# acl that now denies its client drops it); the admin's permanent
# mappings (igddctl add without --lease) come back with no lease, and a
# PCP mapping keeps its nonce (another nonce is still refused after the
# restart, the same one renews it).
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_HTTP_PORT=5000
. "$HERE/lib.sh"
lab_require upnpc natpmpc
PCPC="$PY $HERE/pcp_client.py"
CTL=$(dirname "$IGDD")/igddctl
[ -x "$CTL" ] || lab_skip "igddctl not built beside igdd"
lab_up
lab_conf "$LAB_DIR/igdd.conf" "persist_leases = yes"
STATE=$LAB_DIR/state
JOURNAL=$STATE/leases.journal

# upnpc counts the documentation-range external address as reserved, so
# every call carries -i (see test_discovery.sh).
# A fixed HTTP port, so that clients skip discovery (-u) across restarts.
upnpc1() { in_lan1 timeout $LAB_T upnpc -i -u "http://$GW_LAN_IP:$LAB_HTTP_PORT/rootDesc.xml" "$@" 2>&1; }
absent() { # absent WHAT PATTERN OUTPUT
  echo "$3" | grep -Eq "$2" && { echo "$3" | sed 's/^/  | /'; lab_fail "$1"; }
  lab_ok "$1"
}
# A crash: no shutdown path runs.
igdd_crash() {
  kill -KILL "$IGDD_PID" 2>/dev/null
  wait "$IGDD_PID" 2>/dev/null
  IGDD_PID=
}
# The lease left on PROTO EXTPORT in upnpc -l output (the last field).
lease_of() { # lease_of OUTPUT PROTO EXTPORT
  echo "$1" | awk -v p="$2" -v e="$3" '$2 == p && index($3, e "->") == 1 { print $NF }'
}
# lease_between WHAT OUTPUT PROTO PORT MIN MAX
lease_between() {
  local l
  l=$(lease_of "$2" "$3" "$4")
  [ -n "$l" ] && [ "$l" -ge "$5" ] && [ "$l" -le "$6" ] ||
    { echo "$2" | sed 's/^/  | /'; lab_fail "$1: lease '$l' not in $5..$6"; }
  lab_ok "$1 (lease $l)"
}

igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
[ -f "$JOURNAL" ] || lab_fail "no $JOURNAL after start-up"
[ "$(stat -c %a "$STATE")" = 700 ] || lab_fail "$STATE is not mode 0700"
lab_ok "state_dir created 0700 with a journal"

# --- every acknowledged change survives kill -9 ---
t0=$(date +%s)
out=$(upnpc1 -e "web server" -a $LAN1_IP 8080 18080 TCP 3600)
expect "add TCP 18080" "is redirected to internal $LAN1_IP:8080" "$out"
# (No XML specials: upnpc prints descriptions without decoding entities.)
out=$(upnpc1 -e "50% off; a+b=c (x)" -a $LAN1_IP 8081 18081 TCP 1800)
expect "add TCP 18081 (odd description)" "is redirected to internal $LAN1_IP:8081" "$out"
out=$(upnpc1 -e "gone soon" -a $LAN1_IP 8082 18082 TCP 900)
expect "add TCP 18082" "is redirected" "$out"
for p in $(seq 20000 20019); do
  upnpc1 -e "batch $p" -a $LAN1_IP $p $p UDP 3600 | grep -q "is redirected" ||
    lab_fail "batch add UDP $p"
done
lab_ok "20 adds in a row"
out=$(upnpc1 -d 18082 TCP)
expect "delete TCP 18082" "returned : 0" "$out"
out=$(upnpc1 -e "short" -a $LAN1_IP 9000 19000 UDP 4)
expect "add UDP 19000 with a 4 s lease" "is redirected" "$out"
igdd_crash                          # right after the last answer
lab_ok "igdd killed with SIGKILL"
sleep 6                             # UDP 19000's lease runs out while down (at least 6 s: a lower bound)

igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
grep -q "leases restored from" "$IGDD_LOG" || lab_fail "no restore line in the log"
lab_ok "$(grep -o '[0-9]* leases restored from.*' "$IGDD_LOG" | head -1)"
out=$(upnpc1 -l)
el=$(( $(date +%s) - t0 + 2 ))
expect "TCP 18080 is back" "TCP +18080->$LAN1_IP:8080 +'web server'" "$out"
lease_between "TCP 18080 kept its lease, less the time down" "$out" TCP 18080 $((3600 - el)) 3600
expect "TCP 18081 is back with its description" "18081->$LAN1_IP:8081 +'50% off; a\\+b=c \\(x\\)'" "$out"
lease_between "TCP 18081 lease" "$out" TCP 18081 $((1800 - el)) 1800
absent "deleted TCP 18082 stays deleted" "18082->" "$out"
absent "UDP 19000 expired while igdd was down" "19000->" "$out"
n=$(echo "$out" | grep -c "UDP 2001[0-9]->\|UDP 2000[0-9]->")
[ "$n" -eq 20 ] || { echo "$out" | sed 's/^/  | /'; lab_fail "batch: $n of 20 back"; }
lab_ok "all 20 batch mappings are back"

# --- a damaged journal: a bad record in the middle, a torn last line ---
out=$(upnpc1 -e "d1" -a $LAN1_IP 7001 17001 TCP 3600)
expect "add TCP 17001" "is redirected" "$out"
out=$(upnpc1 -e "d2" -a $LAN1_IP 7002 17002 TCP 3600)
expect "add TCP 17002" "is redirected" "$out"
igdd_crash
# 17001's record: change its port in place, so that its CRC no longer
# matches; then a last line cut short, as a crash in mid-append leaves it.
grep -q " m TCP 17001 " "$JOURNAL" || lab_fail "no record of TCP 17001 in $JOURNAL"
sed -i 's/ m TCP 17001 / m TCP 17009 /' "$JOURNAL"
printf '0badc0de m TCP 17003 0.0.0.0 %s 7003 1 up' "$LAN1_IP" >>"$JOURNAL"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
kill -0 "$IGDD_PID" 2>/dev/null || lab_fail "igdd died on a damaged journal"
grep -q "checksum mismatch" "$IGDD_LOG" || lab_fail "the bad record was not logged"
lab_ok "damaged journal: bad record logged, igdd running"
out=$(upnpc1 -l)
absent "the damaged record is skipped" "1700[19]->" "$out"
expect "the record after it is back" "TCP +17002->$LAN1_IP:7002" "$out"
absent "the torn last line is ignored" "17003->" "$out"
expect "earlier mappings are still back" "TCP +18080->$LAN1_IP:8080" "$out"

# --- a clean stop keeps them too ---
igdd_stop
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
out=$(upnpc1 -l)
expect "after SIGTERM and a restart" "TCP +17002->$LAN1_IP:7002" "$out"

# --- NAT-PMP and PCP leases meet the policy of the restart too ---
out=$(in_lan2 timeout $LAB_T natpmpc -g $GW_LAN_IP -a 29100 9100 tcp 3600 2>&1)
expect "natpmpc from lan2: TCP 29100" "Mapped public port 29100 protocol TCP to local port 9100" "$out"
out=$(in_lan1 timeout $LAB_T natpmpc -g $GW_LAN_IP -a 29101 9101 udp 3600 2>&1)
expect "natpmpc from lan1: UDP 29101" "Mapped public port 29101 protocol UDP" "$out"
igdd_stop
# The administrator now keeps lan2 away from port mapping altogether.
lab_conf "$LAB_DIR/igdd.conf" "persist_leases = yes" "acl = deny 0-65535 $LAN2_IP 0-65535"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
out=$(timeout $LAB_T "$CTL" -s "$LAB_DIR/igdd.sock" list 2>&1)
absent "lan2's NAT-PMP lease is not restored under the new acl" "29100" "$out"
expect "lan1's NAT-PMP lease is restored" "UDP +29101 .*natpmp" "$out"
expect "lan1's UPnP leases are restored" "TCP +17002 " "$out"
grep -q "leases restored from .*, [1-9][0-9]* refused" "$IGDD_LOG" ||
  lab_fail "the refused lease is not counted in the restore line"
lab_ok "$(grep -o '[0-9]* leases restored from.*' "$IGDD_LOG" | tail -1)"

# --- permanent admin mappings and PCP nonces ---
ctl() { timeout $LAB_T "$CTL" -s "$LAB_DIR/igdd.sock" "$@" 2>&1; }
out=$(ctl add TCP 18600 $LAN1_IP 8600 --desc "admin permanent")
expect "igddctl add without a lease" "added TCP/18600 -> $LAN1_IP:8600" "$out"
out=$(ctl add UDP 18601 $LAN1_IP 8601 --desc "admin leased" --lease 3600)
expect "igddctl add with a lease" "added UDP/18601" "$out"
out=$(in_lan1 $PCPC $GW_LAN_IP $LAN1_IP map 77 6 9400 19400 3600 2>&1)
expect "PCP MAP create with nonce 77" "result=0 lifetime=3600 .*port=19400" "$out"
igdd_crash
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
out=$(ctl list)
expect "the permanent admin mapping is back" "TCP +18600 .*$LAN1_IP:8600" "$out"
expect "the leased admin mapping is back" "UDP +18601 " "$out"
out=$(upnpc1 -l)
expect "upnpc -l: TCP 18600 is back with its description" "TCP +18600->$LAN1_IP:8600 +'admin permanent'" "$out"
l=$(lease_of "$out" TCP 18600)
[ "$l" = 0 ] || { echo "$out" | sed 's/^/  | /'; lab_fail "TCP 18600 lease '$l', not 0 (permanent)"; }
lab_ok "TCP 18600 is still permanent (lease 0)"
out=$(in_lan1 $PCPC $GW_LAN_IP $LAN1_IP map 78 6 9400 0 3600 2>&1)
expect "PCP MAP with another nonce after the restart: NOT_AUTHORIZED" "result=2 " "$out"
out=$(in_lan1 $PCPC $GW_LAN_IP $LAN1_IP map 77 6 9400 0 1800 2>&1)
expect "PCP MAP with its nonce after the restart renews it" "result=0 lifetime=1800 .*port=19400" "$out"
out=$(ctl del TCP 18600)
expect "igddctl del of the permanent mapping" "deleted TCP/18600" "$out"
igdd_stop
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
out=$(ctl list)
absent "the deleted permanent mapping stays deleted" "TCP +18600 " "$out"
expect "the PCP mapping is still there" "TCP +19400 " "$out"
echo "PASS: persist"
