#!/usr/bin/env bash
# Static checks (banned functions, cppcheck, clang-tidy), a build of igdd
# and the whole test suite (unit, golden, fuzz corpus replay, namespace
# tests), the same suite again under AddressSanitizer +
# UndefinedBehaviorSanitizer, then every fuzz target for a bounded time.
# Namespace tests need root: run as a user, the script starts itself again
# with sudo; without sudo (a fresh Debian 12 has none: be root there) it
# runs unprivileged and they are reported as skipped.
#
# No test asserts a duration (the rule: tests/netns/lib.sh, "Time"): every
# wait is for a condition, bounded by one safety timeout, which
# IGDD_TEST_TIMEOUT_SCALE multiplies: 1 for the plain build, 4 for the
# sanitizer build (IGDD_TEST_TIMEOUT_SCALE set by the caller multiplies
# both, e.g. 3 on a slow machine or an emulator).
# Each stage's time and the total are printed at the end.
#
# Time: the namespace tests mostly wait (for an answer, a timer, a lease)
# while the static analysis and the builds only compute, so the two
# overlap: the analysis runs in the background from the start, the ASan +
# UBSan build beside the plain build's tests, the fuzz targets' build
# beside the sanitizer pass's tests, and ctest runs IGDD_TEST_JOBS tests
# at once (default: twice the cores; tests that share something fixed
# hold a RESOURCE_LOCK or RUN_SERIAL, tests/CMakeLists.txt). The fuzz runs
# go alone: their budget is time, and they need the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ] && [ -z "${IGDD_NO_SUDO:-}" ]; then
  if command -v sudo >/dev/null; then
    # $0 may be relative to another directory; sudo drops the environment
    exec sudo ${IGDD_TEST_TIMEOUT_SCALE:+IGDD_TEST_TIMEOUT_SCALE=$IGDD_TEST_TIMEOUT_SCALE} \
      ${IGDD_TEST_JOBS:+IGDD_TEST_JOBS=$IGDD_TEST_JOBS} "$PWD/scripts/test.sh" "$@"
  fi
  echo "test.sh: not root and no sudo: namespace tests will be skipped" >&2
fi
./scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
scale=${IGDD_TEST_TIMEOUT_SCALE:-1}
case $scale in ''|*[!0-9]*|0) echo "IGDD_TEST_TIMEOUT_SCALE must be a positive integer" >&2; exit 2 ;; esac
tjobs=${IGDD_TEST_JOBS:-$((2 * jobs))}
case $tjobs in ''|*[!0-9]*|0) echo "IGDD_TEST_JOBS must be a positive integer" >&2; exit 2 ;; esac

t_all=$SECONDS
t_stage=$SECONDS
times=()
declare -A bg_pids=()
bg_dir=$(mktemp -d /tmp/igdd-test-bg.XXXXXX)
# stage_done NAME: record how long the stage that just ended took.
stage_done() {
  times+=("$(printf '%-48s %4d s' "$1" $((SECONDS - t_stage)))")
  t_stage=$SECONDS
}
report() {
  local rc=$? t p
  for p in "${bg_pids[@]}"; do  # each its own process group (bg_start)
    kill -- "-$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$bg_dir"
  echo "== stage times"
  for t in "${times[@]}"; do echo "  $t"; done
  [ $rc -eq 0 ] || echo "  (stopped by a failure; $((SECONDS - t_stage)) s into the next stage)"
  printf '  %-48s %4d s\n' "total" $((SECONDS - t_all))
}
trap report EXIT

# bg_start NAME CMD...: CMD in the background, in a process group of its
# own (so that a failure elsewhere ends all of it), its output kept for
# bg_wait.
bg_start() {
  local name=$1; shift
  echo "== $name: in the background (its output follows when it is done)"
  set -m
  (
    set +e
    t0=$SECONDS
    "$@"
    rc=$?
    echo $((SECONDS - t0)) >"$bg_dir/$name.secs"
    exit $rc
  ) >"$bg_dir/$name.log" 2>&1 </dev/null &
  bg_pids[$name]=$!
  set +m
}
# bg_wait NAME: wait for it, show its output and its time; stop if it failed.
bg_wait() {
  local name=$1 rc=0
  wait "${bg_pids[$name]}" || rc=$?
  unset "bg_pids[$name]"
  echo "== $name (ran in the background)"
  cat "$bg_dir/$name.log"
  times+=("$(printf '%-48s %4d s' "  $name (in the background)" "$(cat "$bg_dir/$name.secs" 2>/dev/null || echo 0)")")
  [ $rc -eq 0 ] || { echo "$name failed (above)" >&2; exit 1; }
}
# The sanitizer build; its configure sees the sanitizer pass's scale (for
# CTest's backstop).
asan_build() {
  IGDD_TEST_TIMEOUT_SCALE=$((4 * scale)) \
    cmake -S . -B build-asan -DIGDD_WERROR=ON -DIGDD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null &&
  cmake --build build-asan -j"$jobs"
}

export IGDD_TEST_TIMEOUT_SCALE=$scale
bg_start "static analysis" ./scripts/static-analysis.sh -j"$jobs"

echo "== build (warnings are errors)"
cmake -S . -B build -DIGDD_WERROR=ON -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build build -j"$jobs"
stage_done "plain build (the analysis beside)"

bg_start "ASan + UBSan build" asan_build
echo "== test (plain build, $tjobs at once)"
ctest --test-dir build --output-on-failure -j"$tjobs"
stage_done "plain tests (the analysis, the ASan build beside)"
bg_wait "ASan + UBSan build"
stage_done "waiting for the ASan build"

bg_start "fuzz build" ./scripts/fuzz.sh -b -j"$jobs"
echo "== test under ASan + UBSan ($tjobs at once)"
export IGDD_TEST_TIMEOUT_SCALE=$((4 * scale))
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$tjobs"
stage_done "ASan + UBSan tests (the fuzz build beside)"
bg_wait "static analysis"
bg_wait "fuzz build"
stage_done "waiting for the analysis and the fuzz build"

echo "== fuzz: every target for a bounded time (tests/fuzz/README.md)"
./scripts/fuzz.sh -t "${IGDD_FUZZ_SECONDS:-25}" -j"$jobs"
stage_done "fuzz runs"
