#!/usr/bin/env bash
# The whole test suite from a fresh Debian 12 machine: install dependencies, build, run CTest.
# Data: ../shared/data beside the checkout (or $MOODTUNES_DATA).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
export MOODTUNES_DATA=${MOODTUNES_DATA:-$root/../shared/data}
cd "${BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "${MOODTUNES_TEST_JOBS:-2}" --timeout 600 "$@"
