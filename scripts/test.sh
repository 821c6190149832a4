#!/usr/bin/env bash
# Static checks first (banned functions, cppcheck, clang-tidy), then build
# igdd and run the whole test suite (unit, golden, fuzz corpus replay,
# namespace tests), then the same suite again under AddressSanitizer +
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
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ] && [ -z "${IGDD_NO_SUDO:-}" ]; then
  if command -v sudo >/dev/null; then
    # $0 may be relative to another directory; sudo drops the environment
    exec sudo ${IGDD_TEST_TIMEOUT_SCALE:+IGDD_TEST_TIMEOUT_SCALE=$IGDD_TEST_TIMEOUT_SCALE} \
      "$PWD/scripts/test.sh" "$@"
  fi
  echo "test.sh: not root and no sudo: namespace tests will be skipped" >&2
fi
./scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
scale=${IGDD_TEST_TIMEOUT_SCALE:-1}
case $scale in ''|*[!0-9]*|0) echo "IGDD_TEST_TIMEOUT_SCALE must be a positive integer" >&2; exit 2 ;; esac

t_all=$SECONDS
t_stage=$SECONDS
times=()
# stage_done NAME: record how long the stage that just ended took.
stage_done() {
  times+=("$(printf '%-34s %4d s' "$1" $((SECONDS - t_stage)))")
  t_stage=$SECONDS
}
report() {
  local rc=$? t
  echo "== stage times"
  for t in "${times[@]}"; do echo "  $t"; done
  [ $rc -eq 0 ] || echo "  (stopped by a failure; $((SECONDS - t_stage)) s into the next stage)"
  printf '  %-34s %4d s\n' "total" $((SECONDS - t_all))
}
trap report EXIT

echo "== static analysis"
./scripts/static-analysis.sh -j"$jobs"
stage_done "static analysis"

echo "== build (warnings are errors) and test"
export IGDD_TEST_TIMEOUT_SCALE=$scale
cmake -S . -B build -DIGDD_WERROR=ON -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure
stage_done "plain build + test"

echo "== build and test under ASan + UBSan"
export IGDD_TEST_TIMEOUT_SCALE=$((4 * scale))
cmake -S . -B build-asan -DIGDD_WERROR=ON -DIGDD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure
stage_done "ASan + UBSan build + test"

echo "== fuzz: every target for a bounded time (tests/fuzz/README.md)"
./scripts/fuzz.sh -t "${IGDD_FUZZ_SECONDS:-25}" -j"$jobs"
stage_done "fuzz (build + run)"
