#!/usr/bin/env bash
# Static checks: clang-tidy (.clang-tidy) over every .cpp of src/, against the compile commands
# of a configured build (build/compile_commands.json, or $BUILD_DIR's), two files at a time; then
# the whole repository for text that belongs to one machine or one working session: "session N"
# labels and absolute paths of the machine a file was written on (its work, root-home and
# temporary run folders). Listening sessions are a
# product term and are not matched (only "session" followed by a number is).
# Exits non-zero when either finds anything. Needs clang-tidy (Debian: clang-tidy).
#   scripts/lint.sh              everything
#   scripts/lint.sh --no-tidy    only the text checks (seconds)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=${MOODTUNES_LINT_JOBS:-2}
status=0

# Text checks. Tracked and new files only (not build outputs, .git or node_modules); this script
# names the patterns it looks for, so it is left out.
cd "$root"
files() { git ls-files --cached --others --exclude-standard -z | grep -zv -e '^scripts/lint.sh$' -e 'node_modules/'; }
if files | xargs -0 grep -nIE '[Ss]ession [0-9]' -- 2>/dev/null; then
  echo "lint: \"session N\" labels above (say what changed, not when)" >&2
  status=1
fi
if files | xargs -0 grep -nIE '(^|[^[:alnum:]_.~-])/(work|root)/|(^|[^[:alnum:]_.~-])/tmp/r' -- 2>/dev/null; then
  echo "lint: absolute machine paths above (use paths relative to the repository or the data root)" >&2
  status=1
fi

if [[ ${1:-} != --no-tidy ]]; then
  tidy=$(command -v clang-tidy || command -v clang-tidy-14 || true)
  [[ -n $tidy ]] || { echo "lint: clang-tidy not found (apt-get install clang-tidy)" >&2; exit 1; }
  [[ -f $build/compile_commands.json ]] ||
    { echo "lint: no $build/compile_commands.json (configure the build first: scripts/build.sh)" >&2; exit 1; }
  # Only the sources this build compiles (a build without dlib or LibTorch has fewer).
  mapfile -t sources < <(python3 - "$build/compile_commands.json" "$root/src/" <<'PY'
import json, sys
seen = set()
for entry in json.load(open(sys.argv[1])):
    f = entry["file"]
    # src/train includes LibTorch, whose headers Debian's clang-tidy cannot parse against
    # libstdc++ 12 (c10::IValue errors in the headers, none in our code): g++ -Wall -Wextra
    # checks those files.
    if f.startswith(sys.argv[2] + "train/"):
        continue
    if f.startswith(sys.argv[2]) and f.endswith(".cpp") and f not in seen:
        seen.add(f)
        print(f)
PY
)
  started=$(date +%s)
  if ! printf '%s\0' "${sources[@]}" |
      xargs -0 -P "$jobs" -n 1 "$tidy" -p "$build" --quiet 2> >(grep -v -e '^[0-9]* warnings* generated' -e '^Suppressed' -e 'Use -header-filter' -e 'Use -system-headers' >&2); then
    echo "lint: clang-tidy findings above" >&2
    status=1
  fi
  echo "lint: clang-tidy over ${#sources[@]} files in $(( $(date +%s) - started )) s" >&2
fi
exit $status
