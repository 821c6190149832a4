#!/usr/bin/env bash
# Static checks of src/: the banned-function list (scripts/check-banned.sh),
# the layer rule (scripts/check-layers.sh, the table of docs/ARCHITECTURE.md),
# cppcheck (suppressions, each justified: .cppcheck-suppressions) and
# clang-tidy (checks, each exclusion justified: .clang-tidy). Any finding
# fails. The compile commands come from a configure-only Debug tree
# (build-static), so asserts are visible to the analyzer.
#
#   scripts/static-analysis.sh [-j JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
while getopts "j:" opt; do
  case $opt in
    j) jobs=$OPTARG ;;
    *) echo "usage: $0 [-j JOBS]" >&2; exit 2 ;;
  esac
done

for tool in cppcheck clang-tidy; do
  command -v $tool >/dev/null 2>&1 || { echo "static-analysis: $tool is not installed" >&2; exit 1; }
done

echo "-- banned functions"
./scripts/check-banned.sh src

echo "-- layers (docs/ARCHITECTURE.md, \"Layers\")"
./scripts/check-layers.sh

echo "-- cppcheck $(cppcheck --version | sed 's/^Cppcheck //')"
cppcheck -q --std=c11 --enable=warning,style,performance,portability -I src \
  --suppressions-list=.cppcheck-suppressions --inline-suppr --error-exitcode=1 \
  -j "$jobs" src
echo "cppcheck: clean"

echo "-- clang-tidy $(clang-tidy --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1)"
cmake -S . -B build-static -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DIGDD_TESTS=OFF >/dev/null
out=$(mktemp /tmp/igdd-tidy.XXXXXX)
trap 'rm -f "$out"' EXIT
rc=0
find src -name '*.c' | sort |
  xargs -P "$jobs" -n 2 clang-tidy -p build-static --quiet >"$out" 2>/dev/null || rc=$?
if [ $rc -ne 0 ] || grep -qE '(warning|error):' "$out"; then
  grep -E '(warning|error):' -A3 "$out" | sed "s|$PWD/||" | head -60 || true
  echo "clang-tidy: findings (see .clang-tidy)"
  exit 1
fi
echo "clang-tidy: clean"
