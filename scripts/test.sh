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
# while the static analysis and the sanitizer build only compute, so the
# two overlap: the analysis and then the ASan + UBSan build run in the
# background while the plain build's tests run, and ctest runs
# IGDD_TEST_JOBS tests at once (default: twice the cores; tests that share
# something fixed hold a RESOURCE_LOCK or RUN_SERIAL, tests/CMakeLists.txt);
# the fuzz targets are built beside the sanitizer pass's tests. The fuzz
# runs themselves go alone: their budget is time, and they need the cores.
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
bg_pid=
bg_log=$(mktemp /tmp/igdd-test-bg.XXXXXX)
# stage_done NAME: record how long the stage that just ended took.
stage_done() {
  times+=("$(printf '%-44s %4d s' "$1" $((SECONDS - t_stage)))")
  t_stage=$SECONDS
}
report() {
  local rc=$? t
  if [ -n "$bg_pid" ]; then     # its own process group (set -m below)
    kill -- "-$bg_pid" 2>/dev/null || true
    wait "$bg_pid" 2>/dev/null || true
  fi
  rm -f "$bg_log" "$bg_log.times"
  echo "== stage times"
  for t in "${times[@]}"; do echo "  $t"; done
  [ $rc -eq 0 ] || echo "  (stopped by a failure; $((SECONDS - t_stage)) s into the next stage)"
  printf '  %-44s %4d s\n' "total" $((SECONDS - t_all))
}
trap report EXIT

echo "== build (warnings are errors)"
export IGDD_TEST_TIMEOUT_SCALE=$scale
cmake -S . -B build -DIGDD_WERROR=ON -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build build -j"$jobs"
stage_done "plain build"

# In the background: the static analysis, then the sanitizer build (its
# configure sees the sanitizer pass's scale, for CTest's backstop). Its
# output is shown once it is done. A process group of its own, so that a
# failure of the tests ends all of it.
echo "== static analysis, then the ASan + UBSan build: in the background (shown below)"
set -m
(
  t0=$SECONDS
  echo "== static analysis"
  ./scripts/static-analysis.sh -j"$jobs"
  echo "static $((SECONDS - t0))" >"$bg_log.times"
  t0=$SECONDS
  echo "== build under ASan + UBSan"
  IGDD_TEST_TIMEOUT_SCALE=$((4 * scale)) \
    cmake -S . -B build-asan -DIGDD_WERROR=ON -DIGDD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-asan -j"$jobs"
  echo "asan-build $((SECONDS - t0))" >>"$bg_log.times"
) >"$bg_log" 2>&1 </dev/null &
bg_pid=$!
set +m

echo "== test (plain build, $tjobs at once)"
ctest --test-dir build --output-on-failure -j"$tjobs"
stage_done "plain tests (analysis, ASan build beside)"

bg_rc=0
wait "$bg_pid" || bg_rc=$?
bg_pid=
cat "$bg_log"
while read -r what secs; do
  case $what in
    static) times+=("$(printf '%-44s %4d s' "  static analysis (background)" "$secs")") ;;
    asan-build) times+=("$(printf '%-44s %4d s' "  ASan + UBSan build (background)" "$secs")") ;;
  esac
done <"$bg_log.times" 2>/dev/null || true
[ $bg_rc -eq 0 ] || { echo "static analysis or the ASan + UBSan build failed (above)" >&2; exit 1; }
stage_done "waiting for the background after the tests"

echo "== the fuzz targets' build: in the background (shown below)"
set -m
(
  t0=$SECONDS
  ./scripts/fuzz.sh -b -j"$jobs"
  echo "fuzz-build $((SECONDS - t0))" >"$bg_log.times"
) >"$bg_log" 2>&1 </dev/null &
bg_pid=$!
set +m

echo "== test under ASan + UBSan ($tjobs at once)"
export IGDD_TEST_TIMEOUT_SCALE=$((4 * scale))
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$tjobs"
stage_done "ASan + UBSan tests (fuzz build beside)"

bg_rc=0
wait "$bg_pid" || bg_rc=$?
bg_pid=
cat "$bg_log"
secs=$(sed -n 's/^fuzz-build //p' "$bg_log.times" 2>/dev/null || true)
[ -z "$secs" ] || times+=("$(printf '%-44s %4d s' "  fuzz build (background)" "$secs")")
[ $bg_rc -eq 0 ] || { echo "the fuzz targets' build failed (above)" >&2; exit 1; }
stage_done "waiting for the fuzz build after the tests"

echo "== fuzz: every target for a bounded time (tests/fuzz/README.md)"
./scripts/fuzz.sh -t "${IGDD_FUZZ_SECONDS:-25}" -j"$jobs"
stage_done "fuzz runs"
