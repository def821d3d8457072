#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input (fuzz/: images, CSV imports, model files, the HTTP API's
# JSON bodies) with libFuzzer, ASan and UBSan: configures a clang build of its own in
# build-fuzz/ (not the g++ build), builds only the fuzz targets, then runs each for
# SECONDS_PER_TARGET (default 30) over its seed corpus (fuzz/corpus/<name>, read only; what the
# fuzzer adds goes to build-fuzz/corpus/<name>). Exits non-zero when any target finds a crash,
# leak, timeout (>10 s an input) or OOM (>2 GiB); the input is saved in build-fuzz/artifacts/.
# Needs clang and libclang-rt-14-dev (scripts/debian-packages.txt). Env: FUZZ_TARGETS="image csv
# model requests" (a subset), FUZZ_BUILD_DIR (default build-fuzz), MOODTUNES_BUILD_JOBS (2).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
targets=${FUZZ_TARGETS:-image csv model requests}

command -v clang++ >/dev/null || { echo "fuzz.sh: needs clang and libclang-rt-14-dev (scripts/install-deps.sh)" >&2; exit 1; }
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DMOODTUNES_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 1; }
fi
cmake --build "$build" -j "${MOODTUNES_BUILD_JOBS:-2}" --target moodtunes_fuzzers

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in $targets; do
  work="$build/corpus/$t"
  artifacts="$build/artifacts/$t/"
  log="$build/fuzz-$t.log"
  mkdir -p "$work" "$artifacts"
  if "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
       -print_final_stats=1 -artifact_prefix="$artifacts" "$work" "$root/fuzz/corpus/$t" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz.sh: fuzz_$t ok: ${runs:-?} inputs in ${seconds} s, ${cov:-cov: ?}"
  else
    status=1
    echo "fuzz.sh: fuzz_$t FAILED (log: $log, input: $artifacts)" >&2
    grep -E '^==[0-9]+==ERROR|SUMMARY|runtime error|Test unit written|^    #[0-9] ' "$log" | head -40 >&2 || tail -40 "$log" >&2
  fi
done
exit $status
