#!/usr/bin/env bash
# bench/bench_stall.sh - how long other clients wait while one client's large
# change runs (a 65,535-entry DeletePortMappingRange on the nft and sim
# backends, igdd beside miniupnpd at 100 entries, and a slow fdatasync).
#
#   sudo bench/bench_stall.sh [stall.py options, e.g. --phases nft,sync]
#
# Builds igdd, the load generator and bench/slowsync.so in build-bench/,
# runs bench/stall.py in network namespaces of its own and writes
# bench/results/stall.{json,md}. On demand only: not part of scripts/test.sh.
# See bench/README.md, "Loop stall".
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PY=/usr/bin/python3

[ "$(id -u)" -eq 0 ] || { echo "bench/bench_stall.sh: needs root (network namespaces, nftables)" >&2; exit 1; }

missing=()
for p in miniupnpd-nftables iproute2 nftables; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi

BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIGDD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j2 --target igdd loadgen slowsync >/dev/null
IGDD_BIN=${IGDD:-$BUILD/igdd}
[ -x "$IGDD_BIN" ] || { echo "bench: no igdd at $IGDD_BIN" >&2; exit 1; }

LAB_ID=$$
WORK=$(mktemp -d /tmp/igdd-stall.XXXXXX)
PIDS=$WORK/pids
STATE=$WORK/state-tmpfs
cleanup() {
  local pid ns
  if [ -f "$PIDS" ]; then
    while read -r pid; do
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done <"$PIDS"
  fi
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^igddb-$LAB_ID-" || true); do
    ip netns del "$ns" 2>/dev/null || true
  done
  if mountpoint -q "$STATE" 2>/dev/null; then umount "$STATE" || true; fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: scratch kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
# searchable by the unprivileged user igdd switches to (its state_dir is in here)
chmod 0711 "$WORK"
# state_dir on a tmpfs of its own: lease persistence on and the flush itself
# cheap, so that a slow flush is the one slowsync.so adds (bench/stall.py)
mkdir "$STATE"
mount -t tmpfs -o size=256m,mode=0755 igdd-stall "$STATE"

git_desc=$(GIT_OPTIONAL_LOCKS=0 git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "")
"$PY" "$HERE/stall.py" --igdd "$IGDD_BIN" --loadgen "$BUILD/bench/loadgen" \
  --slowsync "$BUILD/bench/slowsync.so" --lab-id "$LAB_ID" --work "$WORK" --pidfile "$PIDS" \
  --state-tmpfs "$STATE" --out "$HERE/results" --git "$git_desc" "$@"
