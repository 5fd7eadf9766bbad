"""A truncated WAL file is refused at start with a message that names it, never a bus error."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from tests.e2e.petra_process import PetraProcess, free_port, wait_for_metrics
from tests.helpers import wait_until
from tests.storage.conftest import ramp_config

ROOT = Path(__file__).resolve().parents[2]


def test_a_truncated_wal_is_refused_at_start_with_the_file_and_what_to_do(tmp_path: Path) -> None:
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump(ramp_config(tmp_path, {}, generators=1, scan_ms=20)))
    port = free_port()
    first = PetraProcess(["run", str(config), "--metrics-port", str(port)], tmp_path / "first.log")
    try:
        wait_for_metrics(port, first)
        data = tmp_path / "wal" / "data.mdb"
        wait_until(lambda: data.stat().st_size > 64 * 1024, timeout=30)
    finally:
        assert first.terminate() == 0, first.log
    os.truncate(data, data.stat().st_size // 2)

    second = PetraProcess(["run", str(config), "--metrics-port", str(free_port())], tmp_path / "second.log")
    code = second.proc.wait(60)
    second.kill()
    assert code == 1, f"exit {code} (a negative code is the signal that killed it):\n{second.log}"
    assert str(data) in second.log and "truncated" in second.log
    move = next(line for line in second.log.splitlines() if "mv " in line)
    command = move[move.index("(mv ") + 1:move.index(")", move.index("(mv "))]

    for command_line in (["storage", "check"], ["check"]):  # both say it without starting anything
        check = subprocess.run([sys.executable, "-m", "petra.cli", *command_line, str(config)],
                               capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert check.returncode == 1 and str(data) in check.stderr, (command_line, check.stderr)

    subprocess.run(shlex.split(command), check=True)  # what the message says to do
    port = free_port()
    third = PetraProcess(["run", str(config), "--metrics-port", str(port)], tmp_path / "third.log")
    try:
        wait_for_metrics(port, third)
        assert "started a new, empty log" in third.log and ".damaged-" in third.log
    finally:
        assert third.terminate() == 0, third.log
