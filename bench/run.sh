#!/usr/bin/env bash
# bench/run.sh - igdd beside miniupnpd (Debian's miniupnpd-nftables) in one run.
#
#   sudo bench/run.sh [--budget SECONDS] [--no-nft] [harness options]
#
# Installs what it needs (the project's packages, miniupnpd-nftables,
# python3-matplotlib), builds igdd and the load generator, runs
# bench/harness.py in network namespaces of its own, and writes
# bench/results/latest.{json,md} and throughput.png, and the results
# section of bench/README.md. On demand only: not part of scripts/test.sh.
#
# Environment: BENCH_BUILD_DIR (default build-bench: a build directory of
# its own, so that it never races another build of build/), IGDD (a
# prebuilt daemon to measure instead).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PY=/usr/bin/python3

[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: needs root (network namespaces, nftables)" >&2; exit 1; }

# --- what it needs -------------------------------------------------------
"$ROOT/scripts/install-deps.sh"
PKGS=(miniupnpd-nftables python3-matplotlib iproute2 nftables)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- build ---------------------------------------------------------------
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIGDD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" --target igdd loadgen >/dev/null
# A binary just written is still dirty in the page cache, and smaps counts
# those pages as the daemon's Private_Dirty until they are written back.
sync
IGDD_BIN=${IGDD:-$BUILD/igdd}
[ -x "$IGDD_BIN" ] || { echo "bench: no igdd at $IGDD_BIN" >&2; exit 1; }

# --- run, and clean up whatever happens ----------------------------------
LAB_ID=$$
WORK=$(mktemp -d /tmp/igdd-bench.XXXXXX)
# searchable by the unprivileged user igdd switches to (its state_dir is in here)
chmod 0711 "$WORK"
PIDS=$WORK/pids
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
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# read-only git: no index refresh, no lock
git_desc=$(GIT_OPTIONAL_LOCKS=0 git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "")
if [ -n "$git_desc" ] && [ -n "$(GIT_OPTIONAL_LOCKS=0 git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  git_desc="$git_desc+uncommitted changes"
fi
igdd_ver=$("$IGDD_BIN" -V 2>&1 | head -1 || true)
mini_ver=$(miniupnpd --version 2>&1 | head -1 || true)

status=0
"$PY" "$HERE/harness.py" --igdd "$IGDD_BIN" --loadgen "$BUILD/bench/loadgen" \
  --lab-id "$LAB_ID" --work "$WORK" --pidfile "$PIDS" \
  --out "$HERE/results" --readme "$HERE/README.md" \
  --igdd-version "$igdd_ver" --mini-version "$mini_ver" --git "$git_desc" "$@" || status=$?
echo
cat "$HERE/results/latest.md" 2>/dev/null || true
exit $status
