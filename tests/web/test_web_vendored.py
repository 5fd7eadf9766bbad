"""The vendored browser code matches VENDORED.json (tools/vendor-web.sh --check, offline), and the check fails
on a changed, missing or unlisted file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "vendor-web.sh"
VENDOR = ROOT / "petra" / "web" / "static" / "vendor"


def check(vendor: Path = VENDOR) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PETRA_WEB_VENDOR_DIR": str(vendor)}
    return subprocess.run([str(TOOL), "--check"], capture_output=True, text=True, env=env, timeout=60)


def test_the_committed_files_match_their_pinned_hashes_and_versions():
    done = check()
    assert done.returncode == 0, done.stderr
    files = json.loads((VENDOR / "VENDORED.json").read_text())["files"]
    assert {(f["package"], f["version"], f["file"]) for f in files} == {
        ("uplot", "1.6.32", "uplot/uPlot.esm.js"), ("uplot", "1.6.32", "uplot/uPlot.min.css"),
        ("uplot", "1.6.32", "uplot/LICENSE")}
    assert "MIT License" in (VENDOR / "uplot" / "LICENSE").read_text()


def test_a_changed_missing_or_unlisted_file_fails_the_check(tmp_path):
    copy = tmp_path / "vendor"
    shutil.copytree(VENDOR, copy)
    with (copy / "uplot" / "uPlot.esm.js").open("a") as file:
        file.write("\n// changed\n")
    done = check(copy)
    assert done.returncode == 1 and "uplot/uPlot.esm.js: sha256" in done.stderr
    shutil.copy(VENDOR / "uplot" / "uPlot.esm.js", copy / "uplot" / "uPlot.esm.js")
    (copy / "uplot" / "LICENSE").unlink()
    (copy / "extra.js").write_text("")
    done = check(copy)
    assert done.returncode == 1
    assert "uplot/LICENSE: missing" in done.stderr and "extra.js: not in VENDORED.json" in done.stderr
