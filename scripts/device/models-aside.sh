#!/usr/bin/env bash
# Sets the shipped models (models/*.mtm, 34 MB) aside for a call to the lent GPU machine, and
# puts them back. That machine gets the working tree (tracked and untracked-not-ignored files)
# plus the carried packs, 64 MiB in all; with the models in it the packs of scripts/device/pack.sh
# do not fit, and train-gpu.sh never reads them. `aside` takes them out of the index and the
# tree (kept under .git/, which does not travel); `back` restores both, byte for byte. Nothing
# is committed either way; git status shows them deleted while they are aside.
# usage: scripts/device/models-aside.sh aside|back
set -euo pipefail
cd "$(dirname "$0")/../.."
stash=.git/moodtunes-models-aside
case ${1:-} in
  aside)
    [[ ! -e $stash ]] || { echo "models-aside: already aside ($stash exists); run 'back' first" >&2; exit 1; }
    mapfile -t models < <(git ls-files 'models/*.mtm')
    ((${#models[@]})) || { echo "models-aside: no tracked models/*.mtm" >&2; exit 1; }
    # A model changed and not committed would come back as HEAD's; refuse rather than lose it.
    git diff --quiet HEAD -- "${models[@]}" || { echo "models-aside: a model differs from HEAD; commit it first" >&2; exit 1; }
    mkdir -p "$stash"
    for m in "${models[@]}"; do mv "$m" "$stash/"; done
    git rm -q --cached -- "${models[@]}"
    echo "models-aside: ${#models[@]} models set aside; run '$0 back' after the device call"
    ;;
  back)
    [[ -d $stash ]] || { echo "models-aside: nothing aside" >&2; exit 1; }
    mv "$stash"/*.mtm models/
    rmdir "$stash"
    git reset -q -- models
    git diff --quiet HEAD -- models || { echo "models-aside: models/ differs from HEAD after restoring" >&2; exit 1; }
    echo "models-aside: models restored"
    ;;
  *) echo "usage: models-aside.sh aside|back" >&2; exit 2 ;;
esac
