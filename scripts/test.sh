#!/usr/bin/env bash
# Build igdd and run the whole test suite (unit, golden, namespace tests),
# then the same suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Namespace tests need root; without it they are reported as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

echo "== build (warnings are errors) and test"
cmake -S . -B build -DIGDD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure

echo "== build and test under ASan + UBSan"
cmake -S . -B build-asan -DIGDD_WERROR=ON -DIGDD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure
