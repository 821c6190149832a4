#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz, clang, ASan + UBSan) in
# build-fuzz and run each for a bounded time: the fuzz stage of
# scripts/test.sh, and the long runs of tests/fuzz/README.md.
#
#   scripts/fuzz.sh [-b] [-t SECONDS] [-j PARALLEL] [-o WORKDIR] [TARGET...]
#
#   -b  build the targets only (scripts/test.sh builds them while other
#       tests run)
#   -t  seconds per target (default 25)
#   -j  targets run at once (default 2)
#   -o  work directory: WORKDIR/TARGET/{corpus,log,crash-*} (default: a
#       fresh temporary directory, removed afterwards unless a target
#       failed). Reuse one to continue a long run where it stopped.
#   TARGET: ssdp soap http gena config ctl natpmp pcp leasefile priv stun pcpc igdc (default: all)
#
# Each target starts from its committed seeds (tests/fuzz/corpus/TARGET)
# plus what WORKDIR already holds; new corpus entries go to WORKDIR only.
# Exit 0 when every target ran clean, 1 when one crashed, failed a check,
# leaked or hung (its input is in WORKDIR/TARGET/). A hang is an input
# that runs longer than the tests' safety timeout (tests/netns/lib.sh,
# "Time": IGDD_TEST_TIMEOUT_BASE s times IGDD_TEST_TIMEOUT_SCALE), never a
# measure of speed. When clang's libFuzzer runtime is missing it says so
# and exits 0 (nothing run).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=25
par=2
work=
build_only=0
while getopts "bt:j:o:" opt; do
  case $opt in
    b) build_only=1 ;;
    t) secs=$OPTARG ;;
    j) par=$OPTARG ;;
    o) work=$OPTARG ;;
    *) echo "usage: $0 [-b] [-t SECONDS] [-j PARALLEL] [-o WORKDIR] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ssdp soap http gena config ctl natpmp pcp leasefile priv stun pcpc igdc)

# The safety timeout, from the one place that defines it.
base=$(sed -n 's/^IGDD_TEST_TIMEOUT_BASE=\([0-9]*\)$/\1/p' tests/netns/lib.sh)
scale=${IGDD_TEST_TIMEOUT_SCALE:-1}
case $base$scale in *[!0-9]*|'') echo "fuzz: no IGDD_TEST_TIMEOUT_BASE in tests/netns/lib.sh, or a bad IGDD_TEST_TIMEOUT_SCALE" >&2; exit 2 ;; esac
hang=$((base * scale))

# clang and its libFuzzer runtime (Debian: libclang-rt-14-dev).
probe=$(mktemp -d /tmp/igdd-fuzz-probe.XXXXXX)
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! command -v clang >/dev/null 2>&1 ||
   ! clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
  rm -rf "$probe"
  echo "SKIP: fuzzing needs clang with its libFuzzer runtime (Debian: clang libclang-rt-14-dev)"
  exit 0
fi
rm -rf "$probe"

CC=clang cmake -S . -B build-fuzz -DIGDD_FUZZ=ON -DIGDD_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$par" --target "${targets[@]/#/fuzz_}" >/dev/null
[ $build_only -eq 0 ] || exit 0

keep=0
if [ -z "$work" ]; then
  work=$(mktemp -d /tmp/igdd-fuzz.XXXXXX)
else
  keep=1
  mkdir -p "$work"
fi

# run_target T: one bounded run; its status in WORK/T/status.
run_target() {
  local t=$1 d=$work/$1 rc=0
  mkdir -p "$d/corpus"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$secs" -timeout="$hang" -rss_limit_mb=2048 \
    -dict=tests/fuzz/"$t".dict -close_fd_mask=2 -print_final_stats=1 \
    -artifact_prefix="$d/" "$d/corpus" tests/fuzz/corpus/"$t" >"$d/log" 2>&1 || rc=$?
  echo $rc >"$d/status"
}

pids=()
for t in "${targets[@]}"; do
  [ -x build-fuzz/tests/fuzz/fuzz_"$t" ] || { echo "fuzz: no target '$t'" >&2; exit 2; }
  while [ ${#pids[@]} -ge "$par" ]; do
    wait "${pids[0]}" || true
    pids=("${pids[@]:1}")
  done
  run_target "$t" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done

failed=0
for t in "${targets[@]}"; do
  d=$work/$t
  st=$(cat "$d/status" 2>/dev/null || echo 1)
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$d/log" | tail -1 || true)
  [ -n "$done_line" ] || done_line=$(grep -E '^#[0-9]+[[:space:]]' "$d/log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log" | tail -1)
  printf 'fuzz_%-7s %s  execs=%s exec/s=%s  %s\n' "$t" "$([ "$st" = 0 ] && echo ok || echo FAIL)" \
    "${execs:-?}" "${rate:-?}" "$(echo "$done_line" | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9/]*[a-zA-Z]*')"
  if [ "$st" != 0 ]; then
    failed=1
    { grep -E 'ERROR|SUMMARY|fuzz check failed|Test unit written' "$d/log" || tail -5 "$d/log"; } |
      head -8 | sed 's/^/    /'
  fi
done
if [ $failed -ne 0 ]; then
  echo "fuzz: failures; inputs and logs in $work"
  exit 1
fi
[ $keep -eq 1 ] || rm -rf "$work"
exit 0
