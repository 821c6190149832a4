#!/usr/bin/env bash
# igdd started as root with the nft backend and `user = nobody` (the
# engine becomes nobody once its sockets are open; util/statedir.h):
#   - a new state_dir, the UUID file and the lease files are nobody's;
#   - 8,000 lease updates from one host: the journal is compacted by the
#     engine as it runs (no "compaction failed"), and stays bounded;
#   - 4,000 AddPortMapping with NewRemoteHost 127.0.0.1 (and 0.x, 224.x)
#     are answered 402 before the backend: the helper never sees them and
#     the log does not grow with them;
#   - an existing state_dir: one of root's holding only igdd's files (left
#     by an igdd that ran as root) is handed over with its files, and
#     the leases come back; one another user can write, one of another
#     user's, one of root's holding a foreign file, a symlink: igdd
#     refuses to start and says why.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require nft stat
[ -x $PY ] || lab_skip "$PY missing"
id nobody >/dev/null 2>&1 || lab_skip "no user nobody"
lab_up
STATE=$LAB_DIR/state
JOURNAL=$STATE/leases.journal
URL=http://$GW_LAN_IP:5000
NOBODY=$(id -u nobody)

conf() { # conf [extra lines...]
  rm -f "$LAB_DIR/igdd.log"
  {
    echo "backend = nft"
    echo "lan_interface = br-lan"
    echo "wan_interface = wan0"
    echo "http_port = 5000"
    echo "state_dir = $STATE"
    echo "control_socket = $LAB_DIR/igdd.sock"
    echo "user = nobody"
    local l
    for l in "$@"; do echo "$l"; done
  } >"$LAB_DIR/igdd.conf"
}
owner() { stat -c %u "$1"; }
expect_owner() { # expect_owner PATH...
  local f
  for f in "$@"; do
    [ -e "$f" ] || lab_fail "$f missing"
    [ "$(owner "$f")" = "$NOBODY" ] || lab_fail "$f belongs to uid $(owner "$f"), not nobody"
  done
}
# refused WHAT PATTERN: igdd does not start, and says PATTERN.
refused() {
  local out rc
  out=$(ip netns exec $NS_GW timeout $LAB_T "$IGDD" -d -f "$LAB_DIR/igdd.conf" 2>&1)
  rc=$?
  [ $rc -ne 0 ] && [ $rc -ne 124 ] || { echo "$out" | sed 's/^/  | /'; lab_fail "$1: started (exit $rc)"; }
  echo "$out" | grep -q "$2" || { echo "$out" | sed 's/^/  | /'; lab_fail "$1: no '$2'"; }
  lab_ok "$1: refused ($(echo "$out" | grep -o "state_dir .*" | head -1))"
}
# in_lan1_py CODE...: Python in lan1 with hostile_http.py importable
# (each of its waits is bounded by the safety timeout).
in_lan1_py() { in_lan1 $PY -c "import sys; sys.path.insert(0, '$HERE'); $1"; }

# ---- a new state_dir, as root with user = nobody ----
conf
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
[ "$(stat -c %a "$STATE")" = 700 ] || lab_fail "$STATE mode $(stat -c %a "$STATE")"
expect_owner "$STATE" "$STATE/uuid" "$STATE/leases.snap" "$JOURNAL"
lab_ok "a new state_dir (0700), its uuid and lease files belong to nobody"

# ---- 8,000 lease updates from one host: the journal is compacted ----
in_lan1_py "
import hostile_http as h
e = [('', 20000 + i % 40, '$LAN1_IP', 'refresh %04d ' % i + 'x' * 200) for i in range(8000)]
h.bulk_add('$GW_LAN_IP', 5000, e)
" || lab_fail "8,000 updates"
# Compaction runs in steps from the loop: wait (at most the safety
# timeout) until the journal is back under its bound, max(1 MiB, 2 x
# snapshot).
journal_bounded() { [ "$(stat -c %s "$JOURNAL")" -le $((1 << 20)) ]; }
lab_until journal_bounded
size=$(stat -c %s "$JOURNAL")
grep -q "compaction failed" "$IGDD_LOG" && lab_fail "compaction failed: $(grep "compaction failed" "$IGDD_LOG" | head -1)"
[ "$size" -le $((1 << 20)) ] || lab_fail "the journal holds $size bytes after 8,000 updates"
expect_owner "$STATE" "$STATE/leases.snap" "$JOURNAL"
lab_ok "8,000 updates from one host: journal $size bytes, compacted as nobody"

# ---- NewRemoteHost no remote host can have: 402, never the helper ----
lines=$(wc -l <"$IGDD_LOG")
in_lan1_py "
import hostile_http as h
hosts = ('127.0.0.1', '0.1.2.3', '224.0.0.1', '255.255.255.255')
args = (h.add_args(hosts[i % 4], 30000 + i % 100, '$LAN1_IP', 'x') for i in range(4000))
for i, a in enumerate(h.soap_many('$GW_LAN_IP', 5000, 'AddPortMapping', args)):
    if b'<errorCode>402</errorCode>' not in a:
        raise SystemExit('request %d (%s): %r' % (i, hosts[i % 4], a[:300]))
print('ok: 4000 AddPortMapping with an impossible NewRemoteHost: 402 each')
" || lab_fail "impossible remote hosts"
added=$(( $(wc -l <"$IGDD_LOG") - lines ))
grep -q "refused a request from the engine" "$IGDD_LOG" && lab_fail "the helper saw an impossible remote host"
[ "$added" -le 5 ] || { tail -20 "$IGDD_LOG" | sed 's/^/  | /'; lab_fail "$added log lines for them"; }
in_gw nft list table ip igdd 2>/dev/null | grep -q "127.0.0.1\|224.0.0.1" && lab_fail "in the nft table"
lab_ok "the helper never saw them; $added log lines"
igdd_stop

# ---- an existing state_dir ----
# Left by an igdd that ran as root: root's, with igdd's files only.
chown -R root:root "$STATE"
conf
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
expect_owner "$STATE" "$STATE/uuid" "$STATE/leases.snap" "$JOURNAL"
grep -q "[1-9][0-9]* leases restored" "$IGDD_LOG" || lab_fail "leases not restored after the hand-over"
lab_ok "a state_dir of root's with igdd's files handed over to nobody: $(grep -o '[0-9]* leases restored' "$IGDD_LOG" | head -1)"
igdd_stop

chmod 0777 "$STATE"
refused "a state_dir other users can write" "other users can write it"
chmod 0770 "$STATE"
refused "a state_dir its group can write" "other users can write it"
chmod 0700 "$STATE"
chown 4242 "$STATE"
refused "a state_dir of another user's" "belongs to uid 4242"
chown root "$STATE"
echo "not igdd's" >"$STATE/notes.txt"
refused "a state_dir of root's with a foreign file" "holds 'notes.txt'"
rm -f "$STATE/notes.txt"
mv "$STATE" "$LAB_DIR/real-state"
ln -s "$LAB_DIR/real-state" "$STATE"
refused "a symlink as state_dir" "not a directory"
rm -f "$STATE"
mv "$LAB_DIR/real-state" "$STATE"
chmod 0700 "$LAB_DIR"
refused "a state_dir nobody cannot reach" "cannot reach it"
chmod 0711 "$LAB_DIR"
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
lab_ok "and with the directory put right, igdd starts"
igdd_stop
grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$IGDD_LOG" && lab_fail "sanitizer report in the log"
echo "PASS: rootstart"
