#!/usr/bin/env bash
# bench/nft_bulk.sh - what the nft backend's privileged helper takes for
# many mappings (docs/NFT.md): N mappings one request each (as N
# AddPortMapping actions send them), then all removed and applied again
# in batches of PRIV_BATCH_MAX (a start-up restore), with the kernel's
# counts read back after each phase. tests/netns/test_nft.sh runs the same
# tool and checks the counts; the times are only here (tests never
# assert durations).
#
#   sudo bench/nft_bulk.sh [N...]          (default: 1000 10000)
#
# Runs nft_bulk -t in a network namespace of its own (named
# igddb-nft-<PID>, deleted at the end) with a LAN bridge and a WAN veth,
# built in BENCH_BUILD_DIR (default build-bench, RelWithDebInfo; a build
# directory of its own, so that it never races a build of build/). On
# demand only: not part of scripts/test.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")

[ "$(id -u)" -eq 0 ] || { echo "bench/nft_bulk.sh: needs root (a network namespace, nftables)" >&2; exit 1; }
"$ROOT/scripts/install-deps.sh"
[ $# -gt 0 ] || set -- 1000 10000

BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" --target nft_bulk >/dev/null
BULK=
for b in "$BUILD/tests/nft_bulk" "$BUILD/bench/nft_bulk"; do
  [ -x "$b" ] && BULK=$b && break
done
[ -n "$BULK" ] || { echo "bench: nft_bulk was not built in $BUILD" >&2; exit 1; }

NS=igddb-nft-$$
WORK=$(mktemp -d /tmp/igdd-bench-nft.XXXXXX)
cleanup() {
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns list | grep -qw "$NS" && { echo "namespace $NS exists already; refusing" >&2; exit 1; }
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add br-lan type bridge
ip -n "$NS" addr add 192.168.77.1/24 dev br-lan
ip -n "$NS" link set br-lan up
ip -n "$NS" link add wan0 type veth peer name wan0-peer
ip -n "$NS" addr add 203.0.113.1/24 dev wan0
ip -n "$NS" link set wan0 up
ip -n "$NS" link set wan0-peer up
mkdir -p "$WORK/state"
chown nobody "$WORK/state"
printf '%s\n' "backend = nft" "lan_interface = br-lan" "wan_interface = wan0" \
  "state_dir = $WORK/state" "user = nobody" >"$WORK/igdd.conf"

echo "nft_bulk ($(basename "$BUILD"), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)):"
for n in "$@"; do
  echo "-- $n mappings"
  ip netns exec "$NS" "$BULK" -t "$WORK/igdd.conf" "$n" </dev/null | grep -v '^applied ' |
    sed 's/^/  /'
done
