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

lab_skip() { echo "SKIP: $*"; exit 77; }

lab_require() {
  [ "$(id -u)" -eq 0 ] || lab_skip "namespace tests need root"
  local t
  for t in ip "$@"; do
    command -v "$t" >/dev/null 2>&1 || lab_skip "$t is not installed"
  done
}

lab_fail() { echo "FAIL: $*"; [ -n "$IGDD_LOG" ] && [ -f "$IGDD_LOG" ] && sed 's/^/  igdd: /' "$IGDD_LOG" | tail -40; exit 1; }
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

lab_down() {
  local ns
  LAB_TEARDOWN=1
  igdd_stop
  for ns in $NS_GW $NS_LAN1 $NS_LAN2 $NS_WAN; do
    ip netns del "$ns" 2>/dev/null || true
  done
  [ -n "$LAB_DIR" ] && rm -rf "$LAB_DIR"
  LAB_DIR=
}

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

# lab_wait_line FILE PATTERN: FILE has a line matching PATTERN (grep -E)
# within the safety timeout.
lab_wait_line() { lab_until grep -Eq -- "$2" "$1" 2>/dev/null; }

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
