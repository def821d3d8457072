#!/usr/bin/env bash
# One command from a fresh Debian 12 machine: install the dependencies, build, prepare the music
# catalog, then run moodtunes on real input:
#   scripts/setup.sh --serve [ARGS]  the web app: `moodtunes serve ARGS`, then open the URL it prints
#   scripts/setup.sh                 camera 0 if there is one, else a FER-2013 face from the data
#   scripts/setup.sh photo.jpg ...   the faces in your photos
#   scripts/setup.sh --camera 1      another camera
# Extra variables: MOODTUNES_DATA (default ../shared/data), MOODTUNES_CATALOG.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
mt="${BUILD_DIR:-$root/build}/src/cli/moodtunes"
data=${MOODTUNES_DATA:-$root/../shared/data}

# The catalog: the local Deezer dataset copy when present, else the pinned download (sha256 checked).
if [ -d "$data/deezer-mood" ]; then
  "$mt" catalog setup --data "$data/deezer-mood"
else
  "$mt" catalog setup
fi

echo
if [ "${1:-}" = "--serve" ]; then
  shift
  echo "Open the address below in a browser and allow the camera (Ctrl-C stops the server)."
  exec "$mt" serve "$@"
elif [ $# -gt 0 ]; then
  exec "$mt" suggest "$@"
elif [ -e /dev/video0 ]; then
  echo "Reading your face from camera 0 for 3 seconds..."
  exec "$mt" suggest --camera 0
else
  face=$(find "$data/fer2013/val/happy" -name '*.jpg' 2>/dev/null | sort | head -1 || true)
  if [ -z "$face" ]; then
    echo "No camera and no FER-2013 data: run 'scripts/setup.sh YOUR_PHOTO.jpg'." >&2
    exit 2
  fi
  echo "No camera found: reading a FER-2013 face ($face). Try: scripts/setup.sh YOUR_PHOTO.jpg"
  exec "$mt" suggest "$face"
fi
