"""Run `petra` as a real subprocess and read its metrics endpoint."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PETRA = [sys.executable, "-m", "petra.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PetraProcess:
    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*PETRA, *args], stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, cwd=Path(__file__).resolve().parents[2],
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


def scrape(port: int) -> dict[str, float]:
    """Metric samples by their full name with labels, e.g. `petra_ticks_total`."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^(\S+?(?:\{.*\})?)\s+(\S+)$", line)
        if match:
            samples[match.group(1)] = float(match.group(2))
    return samples


def wait_for_metrics(port: int, process: PetraProcess, timeout: float = 30.0) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            raise AssertionError(f"petra exited with {process.proc.returncode}:\n{process.log}")
        try:
            return scrape(port)
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"metrics endpoint never came up:\n{process.log}")
