#!/usr/bin/env bash
# Installs what the browser end-to-end test (tests/browser, CTest label `browser`) needs:
# Debian's chromium (puppeteer-core drives it; no bundled browser is downloaded), Node.js and
# npm when `node` is absent, and the test's npm packages (npm ci). Idempotent; apt needs root or sudo.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
browser_dir="$here/../tests/browser"

missing=()
dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed" || missing+=(chromium)
# Node may come from elsewhere (nvm, NodeSource); only install Debian's when there is none.
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "install-browser-test-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci is skipped when node_modules is at least as new as the lock file (npm writes its own
# copy of the lock into node_modules on every install).
cd "$browser_dir"
if [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install-browser-test-deps: npm packages present"
  exit 0
fi
echo "install-browser-test-deps: npm ci in tests/browser"
PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
