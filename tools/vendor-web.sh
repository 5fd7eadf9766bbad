#!/usr/bin/env bash
# Vendor the web HMI's third-party browser code into petra/web/static/vendor/, or check it.
#
#   tools/vendor-web.sh            fetch each pinned package from npm (`npm pack`, into a temp dir), check the
#                                  tarball against its pinned sha512 integrity, copy the files the page uses
#                                  and the licence, and write vendor/VENDORED.json (package, version, file,
#                                  sha256, source path in the package, licence)
#   tools/vendor-web.sh --check    offline: every file VENDORED.json names exists with its sha256, and no
#                                  other file is in vendor/; exit 1 on a mismatch (a test runs this)
#
# The page has no build step: these files are served as they are (petra/web/app.py). To move to a new
# version, change PINNED below (version and the integrity `npm view uplot@X dist.integrity` prints), run
# the script, look at the diff, run the browser tests, commit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
vendor="${PETRA_WEB_VENDOR_DIR:-$root/petra/web/static/vendor}"  # another folder: for the check's own test
manifest="$vendor/VENDORED.json"

# package version integrity licence  (then the files: source-in-package:dest-under-vendor)
PINNED=(
  "uplot 1.6.32 sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw== MIT dist/uPlot.esm.js:uplot/uPlot.esm.js dist/uPlot.min.css:uplot/uPlot.min.css LICENSE:uplot/LICENSE"
)

check() {
    if [[ ! -f "$manifest" ]]; then
        echo "vendor-web: $manifest is missing: run tools/vendor-web.sh" >&2
        exit 1
    fi
    python3 - "$vendor" "$manifest" <<'PY'
import hashlib, json, pathlib, sys
vendor, manifest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
files = json.loads(manifest.read_text())["files"]
bad = []
for entry in files:
    path = vendor / entry["file"]
    if not path.is_file():
        bad.append(f"{entry['file']}: missing")
    elif hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
        bad.append(f"{entry['file']}: sha256 {hashlib.sha256(path.read_bytes()).hexdigest()} "
                   f"!= {entry['sha256']} ({entry['package']}@{entry['version']})")
named = {entry["file"] for entry in files} | {"VENDORED.json"}
extra = sorted(p.relative_to(vendor).as_posix() for p in vendor.rglob("*") if p.is_file())
bad += [f"{name}: not in VENDORED.json" for name in extra if name not in named]
for line in bad:
    print(f"vendor-web: {line}", file=sys.stderr)
if bad:
    sys.exit(1)
print(f"vendor-web: {len(files)} files match VENDORED.json")
PY
}

if [[ "${1:-}" == "--check" ]]; then
    check
    exit $?
fi
if [[ $# -gt 0 ]]; then
    echo "usage: tools/vendor-web.sh [--check]" >&2
    exit 2
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "vendor-web: npm not found on PATH (Debian: apt-get install -y npm)" >&2
    exit 3
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
entries="$work/entries.jsonl"
: >"$entries"
for line in "${PINNED[@]}"; do
    read -r package version integrity licence files <<<"$line"
    files="${line#* * * * }"
    mkdir -p "$work/$package"
    tarball=$(cd "$work/$package" && npm pack "$package@$version" --silent --loglevel=error | tail -n1)
    got="sha512-$(openssl dgst -sha512 -binary "$work/$package/$tarball" | base64 -w0)"
    if [[ "$got" != "$integrity" ]]; then
        echo "vendor-web: $package@$version: the tarball's integrity $got is not the pinned $integrity" >&2
        exit 1
    fi
    tar -xzf "$work/$package/$tarball" -C "$work/$package"
    rm -rf "${vendor:?}/$package"
    for pair in $files; do
        source="${pair%%:*}" dest="${pair#*:}"
        mkdir -p "$(dirname "$vendor/$dest")"
        cp "$work/$package/package/$source" "$vendor/$dest"
        sum=$(sha256sum "$vendor/$dest" | cut -d' ' -f1)
        printf '{"package": "%s", "version": "%s", "file": "%s", "source": "%s", "sha256": "%s", "licence": "%s", "integrity": "%s"}\n' \
            "$package" "$version" "$dest" "$source" "$sum" "$licence" "$integrity" >>"$entries"
    done
    echo "vendor-web: $package@$version vendored" >&2
done
python3 - "$entries" "$manifest" <<'PY'
import json, pathlib, sys
files = [json.loads(line) for line in pathlib.Path(sys.argv[1]).read_text().splitlines() if line]
doc = {"about": "Third-party browser code of the web HMI, written by tools/vendor-web.sh (check: --check).",
       "files": files}
pathlib.Path(sys.argv[2]).write_text(json.dumps(doc, indent=2) + "\n")
PY
check
