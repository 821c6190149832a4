#!/usr/bin/env bash
# STUN behind another NAT: the lab's "wan" namespace becomes an upstream
# gateway that masquerades (Linux nft NAT) towards an "internet"
# namespace, where Debian's stund answers on two addresses (RFC 3489 /
# 5780 alternate address). igdd (sim backend, external_ip = its WAN
# address 203.0.113.1) with stun_server set learns the upstream's public
# address 198.51.100.1, the NAT's mapping (endpoint-independent: Linux
# keeps one mapping per source) and filtering (address and port
# dependent: conntrack lets only the contacted address:port back in),
# shown by igddctl status (text and JSON). A second igdd whose only
# server is silent reports the failure and keeps serving the LAN; a reload
# to a server that answers starts STUN again there, a reload without
# stun_server turns it off.
set -u
IGDD=$(readlink -f "$1")
CTL=$(dirname "$IGDD")/igddctl
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require nft stund
[ -x "$CTL" ] || lab_skip "igddctl not built beside igdd"
lab_up
lab_internet
ip -n "$NS_GW" route add default via "$WAN_IP"
ip netns exec "$NS_WAN" nft -f - <<'NFT' || lab_fail "nft masquerade in the upstream namespace"
table ip upstream {
  chain post { type nat hook postrouting priority srcnat; oifname "inet0" masquerade; }
}
NFT

SOCK=$LAB_DIR/igdd.sock
ctl() { timeout $LAB_T "$CTL" -s "$SOCK" "$@" 2>&1; }
status_line() { ctl status | sed -n "s/^$1: //p"; }
stun_settled() { case $(status_line stun) in ok|failed) return 0 ;; esac; return 1; }

lab_conf "$LAB_DIR/igdd.conf" "stun_server = 198.51.100.2:3478"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
lab_until stun_settled || lab_fail "the STUN run did not end within the safety timeout"
st=$(ctl status)
echo "$st" | sed -n 's/^\(stun.*\)/  | \1/p'
[ "$(status_line stun)" = ok ] || lab_fail "STUN failed: $st"
mapped=$(status_line stun_mapped)
case $mapped in
  198.51.100.1:[0-9]*) lab_ok "igdd learnt the upstream's public address ($mapped)" ;;
  *) lab_fail "stun_mapped is '$mapped', expected 198.51.100.1:PORT" ;;
esac
[ "$(status_line stun_server)" = 198.51.100.2:3478 ] || lab_fail "stun_server: $(status_line stun_server)"
[ "$(status_line stun_mapping)" = endpoint-independent ] ||
  lab_fail "mapping '$(status_line stun_mapping)', expected endpoint-independent (Linux masquerade)"
lab_ok "mapping behaviour: endpoint-independent"
[ "$(status_line stun_filtering)" = address-and-port-dependent ] ||
  lab_fail "filtering '$(status_line stun_filtering)', expected address-and-port-dependent (conntrack)"
lab_ok "filtering behaviour: address-and-port-dependent"
json=$(ctl status --json)
echo "$json" | $PY -c '
import json, sys
s = json.loads(sys.stdin.readline())["stun"]
assert s["state"] == "ok" and s["mapped"].startswith("198.51.100.1:"), s
assert s["runs"] >= 1, s
' || lab_fail "status --json: $json"
lab_ok "status --json carries the STUN findings"
grep -q "STUN 198.51.100.2:3478: the internet sees 203.0.113.1:[0-9]* as 198.51.100.1:" "$IGDD_LOG" ||
  lab_fail "no log line with the finding"
[ "$(grep -c 'the internet sees' "$IGDD_LOG")" = 1 ] || lab_fail "the finding logged more than once"
lab_ok "one log line: $(grep -o 'the internet sees.*' "$IGDD_LOG")"
igdd_stop

# A silent server (an address nobody answers on): the run fails, the
# status says so, and the LAN service is unaffected.
lab_conf "$LAB_DIR/igdd2.conf" "stun_server = 198.51.100.4:3478"
igdd_start "$IGDD" "$LAB_DIR/igdd2.conf"
case $(status_line stun) in waiting|querying) ;; *) lab_fail "a run in progress shows '$(status_line stun)'" ;; esac
ctl add TCP 8080 "$LAN1_IP" 80 >/dev/null || lab_fail "the control socket while STUN waits"
lab_until stun_settled || lab_fail "the silent run did not end within the safety timeout"
[ "$(status_line stun)" = failed ] || lab_fail "silent server: stun is '$(status_line stun)'"
[ "$(status_line stun_mapped)" = - ] || lab_fail "a failed run reports '$(status_line stun_mapped)'"
lab_wait_line "$IGDD_LOG" "STUN: none of the 1 stun_server answered" || lab_fail "no failure line"
lab_ok "silent server: status failed, one warning, LAN service unaffected"

# stun_server by reload (docs/CONFIG.md "Reloading"): the client starts
# again on the new list, and stops when the key goes.
lab_conf "$LAB_DIR/igdd2.conf" "stun_server = 198.51.100.2:3478"
kill -HUP $IGDD_PID
lab_wait_line "$IGDD_LOG" "configuration reloaded from" || lab_fail "the reload did not complete"
stun_ok() { [ "$(status_line stun)" = ok ]; }
lab_until stun_ok || lab_fail "STUN after a reload to a server that answers: $(status_line stun)"
[ "$(status_line stun_server)" = 198.51.100.2:3478 ] || lab_fail "stun_server: $(status_line stun_server)"
lab_ok "stun_server changed by reload: the new server asked, the finding shown"
lab_conf "$LAB_DIR/igdd2.conf"
kill -HUP $IGDD_PID
reloaded_twice() { [ "$(grep -c 'configuration reloaded from' "$IGDD_LOG")" -ge 2 ]; }
lab_until reloaded_twice || lab_fail "the second reload did not complete"
stun_off() { [ "$(status_line stun)" = off ]; }
lab_until stun_off || lab_fail "stun_server removed by reload: stun is '$(status_line stun)'"
lab_ok "stun_server removed by reload: STUN off"
echo "all STUN tests passed"
