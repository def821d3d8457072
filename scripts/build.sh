#!/usr/bin/env bash
# Configures and builds moodtunes into ./build (Release). Extra args go to cmake, e.g.
#   scripts/build.sh -DMOODTUNES_SANITIZE=ON      (ASan/UBSan build; use a separate dir via BUILD_DIR)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja "$@" >/dev/null
cmake --build "$build" -j "${MOODTUNES_JOBS:-$(nproc)}"
