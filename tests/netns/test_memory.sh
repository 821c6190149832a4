#!/usr/bin/env bash
# Memory and shares a LAN host cannot take (docs/LIMITS.md), on the sim
# backend with secure_mode = no (any LAN host may map ports to any other):
#   - max_mappings_per_client counts what one control point makes: three
#     addresses take 4,096 mappings each, and the first cannot add one
#     more for another internal client (728), as it could once, up to
#     every port of the gateway;
#   - the listing attack: those 12,288 mappings with 256-byte
#     descriptions of '"' (the longest escape), and 16 connections from
#     each address asking for the whole GetListOfPortMappings (about
#     24 MiB each) and reading nothing. Answers are written in parts as
#     the peer takes them, so the daemon's peak RSS grows by at most
#     IGDD_HTTP_MAX_RESPONSE + 32 KiB per connection (the bound in
#     docs/LIMITS.md), not by the answers' size;
#   - a client that reads gets the whole listing, every entry once, and
#     upnpc -L (miniupnpc, which reads chunked answers) the 1000 it asks.
set -u
IGDD=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
lab_require upnpc
[ -x $PY ] || lab_skip "$PY missing"
lab_up
SRC=($LAN1_IP 192.168.77.40 192.168.77.41)
for a in "${SRC[@]:1}"; do ip -n "$NS_LAN1" addr add "$a/24" dev eth0; done
PER_CLIENT=4096
CONNS=16                        # per address: 48 in all
lab_conf "$LAB_DIR/igdd.conf" "secure_mode = no" "http_max_per_ip = $CONNS" "http_timeout = 120"
# Under AddressSanitizer freed memory is held in quarantine: RSS would
# measure the sanitizer, not igdd.
if ldd "$IGDD" 2>/dev/null | grep -q libasan; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
fi
igdd_start "$IGDD" "$LAB_DIR/igdd.conf"
port=$(sed -n 's/.*http port \([0-9]*\).*/\1/p' "$IGDD_LOG" | head -1)
[ -n "$port" ] || lab_fail "no http port in the start-up line"
status_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$IGDD_PID/status"; }
# in_lan1_py CODE: Python in lan1 with hostile_http.py importable (each
# of its waits is bounded by the safety timeout).
in_lan1_py() { in_lan1 $PY -c "import sys; sys.path.insert(0, '$HERE'); $1"; }

# ---- 4,096 mappings per address; the per-client limit per control point ----
for i in 0 1 2; do
  in_lan1_py "
import hostile_http as h
e = [('', $(( (i + 1) * 10000 )) + k, '${SRC[$i]}', '\"' * 256) for k in range($PER_CLIENT)]
h.bulk_add('$GW_LAN_IP', $port, e, src='${SRC[$i]}')
" || lab_fail "4096 mappings from ${SRC[$i]}"
done
lab_ok "3 addresses x $PER_CLIENT mappings with 256-byte descriptions"
in_lan1_py "
import hostile_http as h
for client in ('$LAN2_IP', '192.168.77.50'):
    a = next(h.soap_many('$GW_LAN_IP', $port, 'AddPortMapping',
                         [h.add_args('', 40000, client, 'one more')], src='${SRC[0]}'))
    if b'<errorCode>728</errorCode>' not in a:
        raise SystemExit('a mapping for %s past the limit: %r' % (client, a[:300]))
print('ok: ${SRC[0]} made $PER_CLIENT: one more, for other internal clients, 728')
" || lab_fail "per-client limit with secure_mode = no"

# ---- the listing attack ----
sync
base=$(status_kb VmRSS)
in_lan1_py "
import select, socket, hostile_http as h
from labtime import SAFETY, until
req = h.soap_request('$GW_LAN_IP:$port', 'GetListOfPortMappings', [
    ('NewStartPort', 0), ('NewEndPort', 65535), ('NewProtocol', 'TCP'), ('NewManage', 1),
    ('NewNumberOfPorts', 0)]).replace(b'Connection: close\r\n', b'')
held = []
for src in ('${SRC[0]}', '${SRC[1]}', '${SRC[2]}'):
    for k in range($CONNS):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.bind((src, 0))
        s.connect(('$GW_LAN_IP', $port))
        s.sendall(req)
        held.append(s)
open('$LAB_DIR/held', 'w').write('%d\n' % len(held))
# The daemon has made each answer's first part and written what the
# socket takes (its first bytes are here), then waits for the reader.
waiting = set(held)
def all_started():
    ready, _, _ = select.select(list(waiting), [], [], 0.1)
    waiting.difference_update(ready)
    return not waiting
if not until(all_started):
    raise SystemExit('%d of %d listings not begun in %.0f s' % (len(waiting), len(held), SAFETY))
for s in held:
    s.close()
" || lab_fail "the unread listing connections"
peak=$(status_kb VmHWM)
bound=$(( 3 * CONNS * (128 + 32) ))
grew=$(( peak - base ))
echo "listing-memory: rss_base_kb=$base peak_kb=$peak grew_kb=$grew bound_kb=$bound connections=$(cat "$LAB_DIR/held")"
[ "$grew" -le "$bound" ] || lab_fail "peak RSS grew by $grew KiB with $((3 * CONNS)) unread listings (bound $bound KiB)"
lab_ok "$((3 * CONNS)) unread listings of $((3 * PER_CLIENT)) entries: peak RSS +$grew KiB (bound $bound KiB)"
kill -0 "$IGDD_PID" 2>/dev/null || lab_fail "igdd died"

# ---- a client that reads gets all of it ----
in_lan1_py "
import re, hostile_http as h
r = h.exchange('$GW_LAN_IP', $port, h.soap_request('$GW_LAN_IP:$port', 'GetListOfPortMappings', [
    ('NewStartPort', 0), ('NewEndPort', 65535), ('NewProtocol', 'TCP'), ('NewManage', 1),
    ('NewNumberOfPorts', 0)]), half_close=False)
head, _, body = r.raw.partition(b'\r\n\r\n')
if r.status != 200 or not r.closed or not re.search(rb'(?im)^transfer-encoding: *chunked', head):
    raise SystemExit('listing: %r' % head[:300])
ports = re.findall(rb'<p:NewExternalPort>(\d+)</p:NewExternalPort>', body)
if len(ports) != 3 * $PER_CLIENT or len(set(ports)) != len(ports):
    raise SystemExit('listing: %d entries, %d distinct' % (len(ports), len(set(ports))))
print('ok: a reader gets all %d entries of the %d-byte listing' % (len(ports), len(body)))
" || lab_fail "reading the whole listing"
# upnpc -L asks for 1000 entries (about 2 MB here: several parts).
out=$(in_lan1 timeout $LAB_T upnpc -i -u "http://$GW_LAN_IP:$port/rootDesc.xml" -L 2>&1)
n=$(echo "$out" | grep -c "^ *[0-9]* *TCP *1[0-9][0-9][0-9][0-9]->")
[ "$n" -eq 1000 ] && echo "$out" | grep -q " TCP 10999->" ||
  { echo "$out" | tail -5 | sed 's/^/  | /'; lab_fail "upnpc -L: $n entries"; }
lab_ok "upnpc -L reads a chunked listing: the $n entries it asked for"

igdd_stop
grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$IGDD_LOG" && lab_fail "sanitizer report in the log"
echo "PASS: memory"
