#!/usr/bin/env bash
# Static checks first (banned functions, cppcheck, clang-tidy), then build
# igdd and run the whole test suite (unit, golden, fuzz corpus replay,
# namespace tests), then the same suite again under AddressSanitizer +
# UndefinedBehaviorSanitizer, then every fuzz target for a bounded time.
# Namespace tests need root: run as a user, the script starts itself again
# with sudo; without sudo (a fresh Debian 12 has none: be root there) it
# runs unprivileged and they are reported as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ] && [ -z "${IGDD_NO_SUDO:-}" ]; then
  if command -v sudo >/dev/null; then
    exec sudo "$PWD/scripts/test.sh" "$@"     # $0 may be relative to another directory
  fi
  echo "test.sh: not root and no sudo: namespace tests will be skipped" >&2
fi
./scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

echo "== static analysis"
./scripts/static-analysis.sh -j"$jobs"

echo "== build (warnings are errors) and test"
cmake -S . -B build -DIGDD_WERROR=ON -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure

echo "== build and test under ASan + UBSan"
cmake -S . -B build-asan -DIGDD_WERROR=ON -DIGDD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure

echo "== fuzz: every target for a bounded time (tests/fuzz/README.md)"
./scripts/fuzz.sh -t "${IGDD_FUZZ_SECONDS:-25}" -j"$jobs"
