#!/usr/bin/env bash
# Install the Node-RED that benchmarks/vs_nodered.py compares PETRA with, if it is not there yet.
#
# The version is pinned by benchmarks/nodered/package.json and every dependency by its
# package-lock.json; they are installed with `npm ci` (exactly the lock, nothing resolved anew)
# into .cache/node-red/ (git-ignored), or into $PETRA_NODERED_DIR. Optional dependencies are
# left out (Node-RED's native bcrypt would need a compiler; it falls back to bcryptjs).
# A second run with the same lock file does nothing.
#
# Prints the path of Node-RED's red.js on its last line. Exit 0 when it is installed (already, or
# now), 3 when it is not and npm (or node) is not on PATH, npm's own status when the install fails.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
spec="$root/benchmarks/nodered"
dest="${PETRA_NODERED_DIR:-$root/.cache/node-red}"
red="$dest/node_modules/node-red/red.js"

if [[ -f "$red" ]] && cmp -s "$spec/package-lock.json" "$dest/package-lock.json"; then
    echo "$red"
    exit 0
fi

for tool in npm node; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "install-nodered: $tool not found on PATH (Debian: apt-get install -y nodejs npm)" >&2
        exit 3
    fi
done

pinned=$(node -p "require('$spec/package.json').dependencies['node-red']")
echo "install-nodered: installing node-red@$pinned (node $(node --version)) into $dest" >&2
mkdir -p "$dest"
cp "$spec/package.json" "$spec/package-lock.json" "$dest/"
(cd "$dest" && npm ci --omit=optional --omit=dev --no-audit --no-fund --loglevel=error >&2)

installed=$(node -p "require('$dest/node_modules/node-red/package.json').version")
if [[ "$installed" != "$pinned" ]]; then
    echo "install-nodered: expected node-red $pinned, npm installed $installed" >&2
    exit 1
fi
echo "$red"
