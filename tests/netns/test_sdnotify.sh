#!/usr/bin/env bash
# Readiness for the service manager (util/sdnotify.h; the unit's
# Type=notify): igdd started with $NOTIFY_SOCKET sends READY=1 with a
# STATUS= line once it answers (the description is served at that very
# moment), RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 on
# SIGTERM. Once with an abstract socket name, once with a path.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_HTTP_PORT=5000
. "$HERE/lib.sh"
lab_up
lab_conf "$LAB_DIR/igdd.conf"
URL=http://$GW_LAN_IP:5000/rootDesc.xml

# one_run NAME: a start, a reload and a stop with NOTIFY_SOCKET=NAME.
one_run() {
  local name=$1 out=$LAB_DIR/notify.$2 lpid
  : >"$out"
  lab_bg $NS_GW $PY "$HERE/notify_listener.py" "$name" "$out" "$URL"
  lpid=$LAB_PID
  lab_wait_line "$out" "^listening" || lab_fail "the listener did not start"
  LAB_IGDD_WRAP="env NOTIFY_SOCKET=$name" igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
  lab_wait_line "$out" "^http=" || lab_fail "$2: no READY=1"
  grep -Eq "^READY=1\|STATUS=serving LAN br-lan $GW_LAN_IP \(http port 5000\), 0 mapping" "$out" ||
    { sed 's/^/  | /' "$out"; lab_fail "$2: READY=1 without the STATUS line"; }
  grep -q "^http=200$" "$out" || { sed 's/^/  | /' "$out"; lab_fail "$2: not answering at READY=1"; }
  lab_ok "$2: READY=1 with its STATUS, and the description answers then"
  kill -HUP "$IGDD_PID"
  lab_wait_line "$out" "^RELOADING=1\|MONOTONIC_USEC=[0-9]+\|STATUS=reloading " ||
    { sed 's/^/  | /' "$out"; lab_fail "$2: no RELOADING=1 on SIGHUP"; }
  lab_until [ "$(grep -c '^READY=1' "$out")" -ge 2 ] ||
    { sed 's/^/  | /' "$out"; lab_fail "$2: no READY=1 after the reload"; }
  [ "$(grep -n '^RELOADING=1' "$out" | cut -d: -f1)" -lt "$(grep -n '^READY=1' "$out" | tail -1 | cut -d: -f1)" ] ||
    lab_fail "$2: READY=1 came before RELOADING=1"
  lab_ok "$2: RELOADING=1, then READY=1 on SIGHUP"
  igdd_stop
  lab_wait_line "$out" "^STOPPING=1\|STATUS=stopping: SIGTERM" ||
    { sed 's/^/  | /' "$out"; lab_fail "$2: no STOPPING=1 on SIGTERM"; }
  lab_ok "$2: STOPPING=1 on SIGTERM"
  wait "$lpid" 2>/dev/null
}
one_run "@igdd-notify-$$" abstract
one_run "$LAB_DIR/notify.sock" path

# Without NOTIFY_SOCKET: no message, no complaint.
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
grep -qi "notify" "$IGDD_LOG" && lab_fail "a notify message without NOTIFY_SOCKET"
lab_ok "no NOTIFY_SOCKET: nothing said about it"
igdd_stop
echo "PASS: sdnotify"
