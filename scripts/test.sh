#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: install dependencies, build, run CTest,
# lint (scripts/lint.sh: clang-tidy over src/, about 5 minutes on 2 cores, and the text checks),
# then fuzz each parser of untrusted input for 30 s (scripts/fuzz.sh).
# Data: ../shared/data beside the checkout (or $MOODTUNES_DATA).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
export MOODTUNES_DATA=${MOODTUNES_DATA:-$root/../shared/data}
status=0
(cd "${BUILD_DIR:-$root/build}" && ctest --output-on-failure -j "${MOODTUNES_TEST_JOBS:-2}" --timeout 600 "$@") || status=1
# Against the compile commands of the build above; a finding fails the run as a test would.
"$root/scripts/lint.sh" || status=1
# Then the parsers of untrusted input under libFuzzer for a bounded time (a clang build of its
# own); MOODTUNES_FUZZ_SECONDS=0 skips it.
if [ "${MOODTUNES_FUZZ_SECONDS:-30}" != 0 ]; then
  "$root/scripts/fuzz.sh" "${MOODTUNES_FUZZ_SECONDS:-30}" || status=1
fi
exit $status
