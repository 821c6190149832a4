#!/usr/bin/env bash
# The HTTP/1.1 server on the wire (RFC 9112; sim backend): curl with
# "Expect: 100-continue" (the interim 100 seen before the body is sent)
# and with a chunked SOAP body, both answered 200 with the external
# address; then http_wire.py: response fields, pipelining, HTTP/1.0
# keep-alive, Expect, chunked bodies, absolute-form, an unknown transfer
# coding, and a response of several MB held up by a reader with a small
# receive buffer (partial writes, EPOLLOUT).
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require curl
[ -x "$PY" ] || lab_skip "$PY missing"
lab_up
# The request time limit is test_limits.sh's subject: here it is the
# largest allowed, so that no slow moment of this machine cuts a
# connection the test is still using.
lab_conf "$LAB_DIR/igdd.conf" "http_timeout = 300"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$IGDD_LOG" | head -1)
[ -n "$port" ] || lab_fail "no http port in the start-up line"
URL="http://$GW_LAN_IP:$port/ctl/IPConn"
NS2=urn:schemas-upnp-org:service:WANIPConnection:2

cat >"$LAB_DIR/body.xml" <<XML
<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:GetExternalIPAddress xmlns:u="$NS2"></u:GetExternalIPAddress></s:Body></s:Envelope>
XML

soap_curl() { # soap_curl EXTRA-CURL-ARGS...: verbose output on stdout
  in_lan1 curl -sS -v --max-time $LAB_T -H 'Content-Type: text/xml; charset="utf-8"' \
    -H "SOAPAction: \"$NS2#GetExternalIPAddress\"" --data-binary @"$LAB_DIR/body.xml" "$@" \
    "$URL" 2>&1
}

out=$(soap_curl -H "Expect: 100-continue" --expect100-timeout $LAB_T)
echo "$out" | grep -q "^< HTTP/1.1 100 Continue" || { echo "$out" | sed 's/^/  | /'; lab_fail "curl Expect: no 100 Continue"; }
echo "$out" | grep -q "^< HTTP/1.1 200 OK" || { echo "$out" | sed 's/^/  | /'; lab_fail "curl Expect: no 200"; }
echo "$out" | grep -q "<NewExternalIPAddress>$GW_WAN_IP</NewExternalIPAddress>" ||
  lab_fail "curl Expect: no external address"
lab_ok "curl, Expect: 100-continue: 100 Continue, then 200 with the external address"

out=$(soap_curl -H "Transfer-Encoding: chunked")
echo "$out" | grep -q "^> Transfer-Encoding: chunked" || lab_fail "curl did not send a chunked body"
echo "$out" | grep -q "^< HTTP/1.1 200 OK" || { echo "$out" | sed 's/^/  | /'; lab_fail "curl chunked: no 200"; }
echo "$out" | grep -q "<NewExternalIPAddress>$GW_WAN_IP</NewExternalIPAddress>" ||
  lab_fail "curl chunked: no external address"
lab_ok "curl, chunked SOAP body: 200 with the external address"

out=$(in_lan1 curl -sS --max-time $LAB_T -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
  "http://$GW_LAN_IP:$port/rootDesc.xml" "http://$GW_LAN_IP:$port/rootDesc.xml" 2>&1)
[ "$(echo "$out" | tr '\n' ' ')" = "200 1 200 0 " ] || lab_fail "curl keep-alive: $out"
lab_ok "curl reuses the connection for a second request"

in_lan1 "$PY" "$HERE/http_wire.py" "$GW_LAN_IP" "$port" --client "$LAN1_IP" ||
  lab_fail "http_wire.py"
kill -0 "$IGDD_PID" 2>/dev/null || lab_fail "igdd died"
igdd_stop
grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$IGDD_LOG" && lab_fail "sanitizer report in the log"
echo "PASS: http"
