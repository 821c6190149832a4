# tests/netns/lib.sh - a lab of network namespaces for igdd's tests.
#
#   lan1 (192.168.77.2) ─┐
#                        ├─ br-lan (192.168.77.1/24) [gateway, runs igdd] wan0 (203.0.113.1/24) ── wan (203.0.113.2)
#   lan2 (192.168.77.3) ─┘
#
# Every namespace name carries this shell's PID, so parallel runs cannot
# collide; the lab refuses to start if a name already exists and is always
# torn down on exit. Packets stay inside these namespaces.
#
# Time: the rule for every test (unit, golden, netns, fuzz, scripts)
# ------------------------------------------------------------------
# Tests never assert durations: a correct operation that is slow (a
# sanitizer build, a loaded 2-core machine, a CI runner) must pass.
#  - Wait for the condition itself (a log line, a file, an answer, a
#    process gone) with lab_until / lab_wait_line, never `sleep N` then
#    check, never a loop of a fixed count that then fails.
#  - Every such wait is bounded by ONE safety timeout, far above any
#    plausible duration: IGDD_TEST_TIMEOUT_BASE seconds (below) times
#    IGDD_TEST_TIMEOUT_SCALE (environment, default 1; scripts/test.sh
#    sets 4 for the ASan + UBSan pass). It is exported to every helper as
#    IGDD_TEST_TIMEOUT (seconds): the Python helpers read it through
#    tests/netns/labtime.py, the C unit tests through tests/unit/harness.h
#    (tests/CMakeLists.txt takes the base from this file), clients get it
#    as their timeout (timeout $LAB_T upnpc ..., curl -m $LAB_T). Reaching
#    it is a failure: something never happened.
#  - No `timeout N` around work that grows with load (a build, a whole
#    helper script): our helpers bound each of their own waits; CTest's
#    TIMEOUT is only a backstop against a hang.
#  - Behaviour that is about time (lease expiry, MX delay, idle and
#    request time limits) is checked by order and cause (the expiry
#    event comes, the element leaves the map, the log line appears), or
#    with a fake clock in a unit test. A lower bound is fine ("not
#    before the lease ends": slowness cannot break it), an upper bound
#    is not; where an upper bound matters, derive it from the time
#    actually measured (e.g. a lease left >= lease - elapsed).
#  - A check that something does NOT happen waits a fixed, short time:
#    slowness can only make it pass, never fail.
#  - Size the work for the build where it matters (lab_sanitized), and
#    keep throughput figures for bench/, never in a test.
IGDD_TEST_TIMEOUT_BASE=60
IGDD_TEST_TIMEOUT_SCALE=${IGDD_TEST_TIMEOUT_SCALE:-1}
case $IGDD_TEST_TIMEOUT_SCALE in
  ''|*[!0-9]*|0) echo "IGDD_TEST_TIMEOUT_SCALE must be a positive integer" >&2; exit 2 ;;
esac
LAB_T=$((IGDD_TEST_TIMEOUT_BASE * IGDD_TEST_TIMEOUT_SCALE))
export IGDD_TEST_TIMEOUT=$LAB_T IGDD_TEST_TIMEOUT_SCALE

LAB_ID=${LAB_ID:-$$}
NS_GW=igddt-gw-$LAB_ID
NS_LAN1=igddt-l1-$LAB_ID
NS_LAN2=igddt-l2-$LAB_ID
NS_WAN=igddt-wan-$LAB_ID
GW_LAN_IP=192.168.77.1
LAN1_IP=192.168.77.2
LAN2_IP=192.168.77.3
GW_WAN_IP=203.0.113.1
WAN_IP=203.0.113.2
PY=/usr/bin/python3
LAB_DIR=
IGDD_PID=
IGDD_LOG=
LAB_TEARDOWN=

LAB_BG=()        # PIDs of the helpers lab_bg started (the commands themselves)
LAB_FAILED=
LAB_NS_EXTRA=() # namespaces lab_ns_add made

lab_skip() { echo "SKIP: $*"; exit 77; }

lab_require() {
  [ "$(id -u)" -eq 0 ] || lab_skip "namespace tests need root"
  local t
  for t in ip "$@"; do
    command -v "$t" >/dev/null 2>&1 || lab_skip "$t is not installed"
  done
}

lab_fail() { LAB_FAILED=1; echo "FAIL: $*"; [ -n "$IGDD_LOG" ] && [ -f "$IGDD_LOG" ] && sed 's/^/  igdd: /' "$IGDD_LOG" | tail -40; exit 1; }
lab_ok() { echo "ok: $*"; }

lab_up() {
  local ns
  for ns in $NS_GW $NS_LAN1 $NS_LAN2 $NS_WAN; do
    ip netns list | grep -qw "$ns" && { echo "namespace $ns exists already; refusing"; exit 1; }
  done
  LAB_DIR=$(mktemp -d /tmp/igdd-lab.XXXXXX)
  # Searchable (not readable) by others: igdd started as root reaches its
  # state_dir in here as the unprivileged user it switches to.
  chmod 0711 "$LAB_DIR"
  trap lab_down EXIT
  for ns in $NS_GW $NS_LAN1 $NS_LAN2 $NS_WAN; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip -n $NS_GW link add br-lan type bridge
  ip -n $NS_GW link set br-lan up
  ip -n $NS_GW addr add $GW_LAN_IP/24 dev br-lan
  lab_port $NS_LAN1 $LAN1_IP p1
  lab_port $NS_LAN2 $LAN2_IP p2
  ip link add wan0 netns $NS_GW type veth peer name eth0 netns $NS_WAN
  ip -n $NS_GW addr add $GW_WAN_IP/24 dev wan0
  ip -n $NS_GW link set wan0 up
  ip -n $NS_WAN addr add $WAN_IP/24 dev eth0
  ip -n $NS_WAN link set eth0 up
  ip netns exec $NS_GW sysctl -qw net.ipv4.ip_forward=1
}

# lab_port NS IP NAME: a LAN host on the gateway's bridge.
lab_port() {
  ip link add "$3" netns $NS_GW type veth peer name eth0 netns "$1"
  ip -n $NS_GW link set "$3" master br-lan
  ip -n $NS_GW link set "$3" up
  ip -n "$1" addr add "$2/24" dev eth0
  ip -n "$1" link set eth0 up
  ip -n "$1" route add default via $GW_LAN_IP
}

# lab_ns_add NS: one more namespace for the test (its loopback up),
# refused if it exists already; lab_down looks into it and deletes it.
lab_ns_add() {
  ip netns list | grep -qw -- "$1" && lab_fail "namespace $1 exists already; refusing"
  LAB_NS_EXTRA+=("$1")
  ip netns add "$1"
  ip -n "$1" link set lo up
}

# lab_internet: the internet behind the WAN host: namespace NS_INET
# (198.51.100.2 and .3 on its eth0) linked to the WAN host's inet0
# (198.51.100.1), the WAN host forwarding, and a STUN server (stund, RFC
# 5389 with the second address for RFC 5780's tests) there, waited for
# until its sockets are open. The WAN host's routing and NAT are the
# test's.
NS_INET=igddt-inet-$LAB_ID
lab_internet() {
  lab_ns_add "$NS_INET"
  ip link add inet0 netns "$NS_WAN" type veth peer name eth0 netns "$NS_INET"
  ip -n "$NS_WAN" addr add 198.51.100.1/24 dev inet0
  ip -n "$NS_WAN" link set inet0 up
  ip -n "$NS_INET" addr add 198.51.100.2/24 dev eth0
  ip -n "$NS_INET" addr add 198.51.100.3/24 dev eth0
  ip -n "$NS_INET" link set eth0 up
  ip netns exec "$NS_WAN" sysctl -qw net.ipv4.ip_forward=1
  lab_bg "$NS_INET" stund -h 198.51.100.2 -a 198.51.100.3 >"$LAB_DIR/stund.log" 2>&1
  # stund is up when it answers (any client): wait for its sockets instead
  lab_until ip netns exec "$NS_INET" sh -c 'ss -uln | grep -q "198.51.100.3:3479"' ||
    lab_fail "stund did not open its sockets"
}

# lab_down: stop igdd, end what is left of the processes the test started
# (lab_left), delete the lab's namespaces (lab_ns_add's too), remove
# LAB_DIR.
lab_down() {
  local ns left=0
  LAB_TEARDOWN=1
  igdd_stop
  lab_left "${LAB_NS_EXTRA[@]}" || left=1
  for ns in $NS_GW $NS_LAN1 $NS_LAN2 $NS_WAN "${LAB_NS_EXTRA[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  [ -n "$LAB_DIR" ] && rm -rf "$LAB_DIR"
  LAB_DIR=
  [ $left -eq 0 ] || exit 1
}

# lab_bg NS CMD...: CMD in namespace NS in the background; redirect the
# call for its output (lab_bg $NS_LAN1 cmd >"$LAB_DIR/x.out" 2>&1), and
# set LAB_BG_IN=FILE for its input (a FIFO is then opened by CMD's side,
# not here, where it would block). ip netns exec execs CMD, and it is
# started here, not in a subshell, so LAB_PID is CMD's own PID (`wait
# $LAB_PID` waits for it, lab_bg_stop ends it), never a wrapper's; it is
# recorded for lab_left.
lab_bg() {
  local ns=$1; shift
  if [ -n "${LAB_BG_IN:-}" ]; then
    ip netns exec "$ns" "$@" <"$LAB_BG_IN" &
  else
    ip netns exec "$ns" "$@" &
  fi
  LAB_PID=$!
  LAB_BG+=("$LAB_PID")
}

# lab_spawn NAME NS CMD...: lab_bg with the output in $LAB_DIR/NAME.out,
# then wait for it to print "ready" (at most the safety timeout).
lab_spawn() {
  local name=$1 ns=$2; shift 2
  lab_bg "$ns" "$@" >"$LAB_DIR/$name.out" 2>&1
  lab_wait_line "$LAB_DIR/$name.out" ready || lab_fail "$name did not start"
}

# lab_bg_stop PID...: SIGTERM, and wait (bounded) until each has exited.
lab_bg_stop() {
  local p
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do
    lab_until lab_gone "$p" || kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}

# lab_gone PID: the process has exited (a zombie of ours counts as gone).
lab_gone() {
  local st
  st=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
  [ -z "$st" ] || [ "$st" = Z ]
}
# lab_ours PID: a helper lab_bg started that still runs (this shell's
# child: a PID reaped by `wait` and used again by another process is not).
lab_ours() {
  [ "$(awk '/^PPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = "$$" ] && ! lab_gone "$1"
}

# lab_ns_pids NS...: every process in those namespaces.
lab_ns_pids() {
  local ns
  for ns in "$@"; do ip netns pids "$ns" 2>/dev/null; done
}

# lab_left [NS...]: at teardown, once igdd has stopped: every helper
# lab_bg started is ended by its own PID (SIGTERM, then SIGKILL past the
# safety timeout); then no process may be left in the lab's namespaces
# (one started some other way, or the real command behind a wrapper
# whose PID was recorded instead); processes that exit by themselves
# (igdd's helper after igdd) get the safety timeout to go. What is left
# is killed; in a test that has not failed already, that is a failure
# of its own (1: lab_down then exits 1).
lab_left() {
  local bad=() p nss=("$NS_GW" "$NS_LAN1" "$NS_LAN2" "$NS_WAN" "$@")
  local ours=()
  for p in "${LAB_BG[@]}"; do lab_ours "$p" && ours+=("$p"); done
  for p in "${ours[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${ours[@]}"; do
    if ! lab_until lab_gone "$p"; then
      bad+=("$p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) (survived SIGTERM)")
      kill -KILL "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || true
  done
  LAB_BG=()
  [ -n "$LAB_FAILED" ] || lab_until lab_ns_empty "${nss[@]}" || true
  for p in $(lab_ns_pids "${nss[@]}"); do
    bad+=("$p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)")
    kill -KILL "$p" 2>/dev/null || true
  done
  [ ${#bad[@]} -eq 0 ] && return 0
  [ -n "$LAB_FAILED" ] && return 0
  echo "FAIL: processes left running at the end of the test (killed):"
  for p in "${bad[@]}"; do echo "  $p"; done
  LAB_FAILED=1
  return 1
}
lab_ns_empty() { [ -z "$(lab_ns_pids "$@")" ]; }

# lab_until CMD...: run CMD until it succeeds (0), at most the safety
# timeout ($LAB_T s); 1 when it never did. Polls every 0.1 s, then every
# 0.5 s after the first 2 s.
lab_until() {
  local end=$((SECONDS + LAB_T)) n=0
  while :; do
    "$@" && return 0
    [ $SECONDS -lt $end ] || return 1
    n=$((n + 1))
    if [ $n -le 20 ]; then sleep 0.1; else sleep 0.5; fi
  done
}

# expect WHAT PATTERN OUTPUT: OUTPUT has a line matching PATTERN
# (grep -E): "ok: WHAT"; else OUTPUT shown and "FAIL: WHAT".
expect() {
  echo "$3" | grep -Eq -- "$2" || { echo "$3" | sed 's/^/  | /'; lab_fail "$1"; }
  lab_ok "$1"
}
# refute WHAT PATTERN OUTPUT: no line of OUTPUT matches PATTERN.
refute() {
  echo "$3" | grep -Eq -- "$2" && { echo "$3" | sed 's/^/  | /'; lab_fail "$1"; }
  lab_ok "$1"
}

# lab_wait_line FILE PATTERN: FILE has a line matching PATTERN (grep -E)
# within the safety timeout.
lab_wait_line() { lab_until grep -Eq -- "$2" "$1" 2>/dev/null; }

# wait_for WHAT COMMAND...: COMMAND succeeds within the safety timeout,
# or "FAIL: WHAT".
wait_for() {
  local what=$1; shift
  lab_until "$@" >/dev/null 2>&1 || lab_fail "$what"
}

# lab_listen_announcements NS 4|6 SSDP_OUT PCP_OUT: on eth0 of NS, an
# SSDP listener (ssdp_raw.py: the IPv4 or the IPv6 groups) writing
# SSDP_OUT and a NAT-PMP/PCP announcement listener (pcp_client.py, for
# the safety timeout) writing PCP_OUT, both ready when this returns;
# their PIDs in LAB_SSDP_PID and LAB_PCP_PID (lab_bg).
lab_listen_announcements() {
  local here
  here=$(dirname "${BASH_SOURCE[0]}")
  if [ "$2" = 4 ]; then
    lab_bg "$1" $PY "$here/ssdp_raw.py" listen eth0 --ipv4 >"$3" 2>&1
    LAB_SSDP_PID=$LAB_PID
    lab_bg "$1" $PY "$here/pcp_client.py" listen $LAB_T >"$4" 2>&1
  else
    lab_bg "$1" $PY "$here/ssdp_raw.py" listen eth0 >"$3" 2>&1
    LAB_SSDP_PID=$LAB_PID
    lab_bg "$1" $PY "$here/pcp_client.py" listen6 $LAB_T >"$4" 2>&1
  fi
  LAB_PCP_PID=$LAB_PID
  wait_for "SSDP listener" grep -q ready "$3"
  wait_for "NAT-PMP/PCP listener" grep -q listening "$4"
}

# lab_expect_line WHAT FILE PATTERN: lab_wait_line, then "ok: WHAT"; or
# FILE shown and "FAIL: WHAT".
lab_expect_line() {
  lab_wait_line "$2" "$3" || { sed 's/^/  | /' "$2"; lab_fail "$1"; }
  lab_ok "$1"
}

# lab_wait_progress FILE PATTERN: like lab_wait_line, for long work that
# writes as it goes: the safety timeout runs from FILE's last change, so
# only work that stops moving fails.
lab_wait_progress() {
  local end=$((SECONDS + LAB_T)) size=-1 now
  while ! grep -Eq -- "$2" "$1" 2>/dev/null; do
    now=$(stat -c %s "$1" 2>/dev/null || echo 0)
    [ "$now" = "$size" ] || { size=$now; end=$((SECONDS + LAB_T)); }
    [ $SECONDS -lt $end ] || return 1
    sleep 0.2
  done
}

# lab_now_ms: the monotonic clock in ms (for lower bounds and for upper
# bounds derived from measured time; never for a fixed limit).
lab_now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# lab_sanitized BINARY: built with AddressSanitizer (to size work, never
# to relax a check).
lab_sanitized() { grep -qa __asan_init "$1"; }

# igdd_start IGDD CONF: start igdd in the gateway namespace and wait for
# its start-up line. It enters the namespace with `ip netns
# exec`, which mounts a /sys of that namespace for it; with LAB_NSENTER=1
# with `nsenter --net` instead, as a container or a service started into
# a namespace (systemd's NetworkNamespacePath=) runs it: /sys then lists
# another namespace's interfaces. LAB_IGDD_WRAP: words put before igdd
# (e.g. setpriv, to start it as the systemd unit does).
igdd_start() {
  local end=$((SECONDS + LAB_T))
  IGDD_LOG=$LAB_DIR/igdd.log
  # Empty the log before the background job opens it, so a second start
  # in one test never sees the previous run's start-up line.
  : >"$IGDD_LOG"
  local enter=(ip netns exec $NS_GW)
  [ "${LAB_NSENTER:-0}" = 1 ] && enter=(nsenter --net=/run/netns/$NS_GW)
  # shellcheck disable=SC2086  # LAB_IGDD_WRAP is words
  "${enter[@]}" ${LAB_IGDD_WRAP:-} "$1" -d -f "$2" >>"$IGDD_LOG" 2>&1 &
  IGDD_PID=$!
  until grep -q "started" "$IGDD_LOG" 2>/dev/null; do
    kill -0 $IGDD_PID 2>/dev/null || lab_fail "igdd exited during start-up"
    [ $SECONDS -lt $end ] || lab_fail "igdd did not start within the safety timeout ($LAB_T s)"
    sleep 0.1
  done
}

# igdd_stop: SIGTERM and wait for igdd to exit (a sanitizer build checks
# for leaks on the way out). Past the safety timeout: SIGKILL, and a
# failure unless the lab is being torn down anyway.
igdd_stop() {
  local end=$((SECONDS + LAB_T)) pid=$IGDD_PID
  [ -n "$pid" ] || return 0
  kill -TERM $pid 2>/dev/null || true
  while kill -0 $pid 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
  IGDD_PID=
  if kill -0 $pid 2>/dev/null; then
    kill -KILL $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    [ -n "$LAB_TEARDOWN" ] || lab_fail "igdd did not exit within $LAB_T s of SIGTERM"
    return 1
  fi
  wait $pid 2>/dev/null || true
}

# lab_conf FILE [extra lines...]: a sim-backend config for the gateway.
lab_conf() {
  local f=$1; shift
  {
    echo "backend = sim"
    echo "lan_interface = br-lan"
    echo "wan_interface = wan0"
    echo "external_ip = $GW_WAN_IP"
    echo "http_port = ${LAB_HTTP_PORT:-0}"
    echo "state_dir = $LAB_DIR/state"
    echo "control_socket = $LAB_DIR/igdd.sock"
    echo "friendly_name = igdd lab"
    # The lab's WAN is a documentation address (RFC 5737): declare it
    # reachable, as a provider's address would be.
    echo "wan_public = yes"
    local l
    for l in "$@"; do echo "$l"; done
  } >"$f"
}

# lab_soap NS CONTROL_URL ACTION: a WANIPConnection:2 action without
# arguments from namespace NS; 0 when it is answered 200.
lab_soap() {
  ip netns exec "$1" $PY - "$2" "$3" <<'PYEOF'
import os, sys, urllib.request
url, action = sys.argv[1], sys.argv[2]
ns = "urn:schemas-upnp-org:service:WANIPConnection:2"
body = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
        '<u:%s xmlns:u="%s"></u:%s></s:Body></s:Envelope>' % (action, ns, action)).encode()
req = urllib.request.Request(url, body, {"Content-Type": 'text/xml; charset="utf-8"',
                                         "SOAPAction": '"%s#%s"' % (ns, action)})
with urllib.request.urlopen(req, timeout=float(os.environ["IGDD_TEST_TIMEOUT"])) as r:
    assert r.status == 200, r.status
PYEOF
}

# lab_nft_conf FILE [extra lines...]: an nft-backend config for the
# gateway (the privileged helper, igdd as nobody, HTTP on port 5000,
# $LAB_DIR/state owned by nobody); the previous run's log removed, so that
# igdd_start never takes its start-up line for the next run's.
lab_nft_conf() {
  local f=$1 l; shift
  rm -f "$LAB_DIR/igdd.log"
  mkdir -p "$LAB_DIR/state"
  chown nobody "$LAB_DIR/state"
  {
    echo "backend = nft"
    echo "lan_interface = br-lan"
    echo "wan_interface = wan0"
    echo "http_port = 5000"
    echo "state_dir = $LAB_DIR/state"
    echo "control_socket = $LAB_DIR/igdd.sock"
    echo "user = nobody"
    for l in "$@"; do echo "$l"; done
  } >"$f"
}

in_lan1() { ip netns exec $NS_LAN1 "$@"; }
in_lan2() { ip netns exec $NS_LAN2 "$@"; }
in_wan() { ip netns exec $NS_WAN "$@"; }

# lab_npm IGDD: the npm clients of tests/npm, installed by npm ci from the
# registry exactly as package-lock.json pins them, in a directory beside
# the igdd binary (again only when the lock file changed); the node
# scripts of this directory are copied there so that their imports
# resolve. Sets NPM_DIR. Skips (exit 77) without node and npm, or when
# npm ci fails (the registry unreachable, say), with npm's reason. npm
# bounds each fetch itself (--fetch-timeout, two retries); the whole
# install is only held to 4 safety timeouts, a backstop for a registry
# that trickles (well under CTest's 15), never a measure of this machine.
lab_npm() {
  local src dir
  src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../npm" && pwd)
  dir=$(dirname "$1")/npm-clients
  command -v node >/dev/null 2>&1 || lab_skip "node is not installed (scripts/install-deps.sh installs Debian's when there is none)"
  command -v npm >/dev/null 2>&1 || lab_skip "npm is not installed"
  mkdir -p "$dir"
  if [ ! -d "$dir/node_modules" ] || ! cmp -s "$src/package-lock.json" "$dir/package-lock.json"; then
    rm -rf "$dir/node_modules" "$dir/package-lock.json"
    cp "$src/package.json" "$src/package-lock.json" "$dir/"
    if ! (cd "$dir" && timeout $((4 * LAB_T)) npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
          --fetch-retries=2 --fetch-timeout=60000) \
        >"$dir/npm-ci.log" 2>&1; then
      rm -rf "$dir/node_modules" "$dir/package-lock.json"
      lab_skip "npm ci could not install the npm clients (registry unreachable?): $(grep -m2 -E 'npm (ERR!|error) (code|errno|request|network)' "$dir/npm-ci.log" | tr '\n' ' ') (log: $dir/npm-ci.log)"
    fi
  fi
  cp "$(dirname "${BASH_SOURCE[0]}")"/npm_*.mjs "$dir/"
  NPM_DIR=$dir
}
