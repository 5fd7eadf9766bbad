"""`petra run` speaking systemd's notify protocol to a real NOTIFY_SOCKET, plus signals and signatures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import yaml

from petra.security import generate_keypair, sign_file
from tests.control.test_control_server import UnixHTTPConnection, request
from tests.e2e.petra_process import PETRA, PetraProcess
from tests.helpers import wait_until

PLANT = {
    "scan_time_ms": 20,
    "signals": [{"name": "enable", "type": "bool", "initial": True}],
    "blocks": [{"name": "gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
                "outputs": {"count_out": "count"}}],
}


class NotifySocket:
    """The datagram socket systemd would own; collects what PETRA sends."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.path = path
        self.messages: list[tuple[float, str]] = []

    def drain(self) -> list[str]:
        while True:
            try:
                data = self.sock.recv(4096)
            except (TimeoutError, BlockingIOError):
                break
            self.messages.append((time.monotonic(), data.decode()))
        return [m for _, m in self.messages]

    def pings(self) -> list[float]:
        """When each WATCHDOG=1 arrived (after draining the socket)."""
        self.drain()
        return [t for t, m in self.messages if "WATCHDOG=1" in m]

    def wait_for(self, text: str, timeout: float = 20.0) -> None:
        wait_until(lambda: any(text in m for m in self.drain()), timeout=timeout)


def start(tmp_path: Path, plant: dict, *args: str, watchdog_usec: int = 400_000) -> tuple[PetraProcess, NotifySocket]:
    config = tmp_path / "plant.yaml"
    if not config.exists():
        config.write_text(yaml.safe_dump(plant, sort_keys=False))
    notify = NotifySocket(tmp_path / "notify.sock")
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": str(watchdog_usec)}
    process = PetraProcess(["run", str(config), "--metrics-port", "0", "--control-socket", str(tmp_path / "c.sock"),
                            *args], tmp_path / "petra.log", env=env)
    return process, notify


def test_ready_status_watchdog_reload_and_stopping_are_sent_at_the_right_moments(tmp_path):
    process, notify = start(tmp_path, PLANT)
    try:
        notify.wait_for("READY=1")
        ready = next(m for m in notify.drain() if "READY=1" in m)
        assert "STATUS=scan 20 ms" in ready
        wait_until(lambda: sum("WATCHDOG=1" in m for m in notify.drain()) >= 3, timeout=10)
        notify.messages.clear()
        process.proc.send_signal(signal.SIGHUP)
        notify.wait_for("READY=1")
        messages = notify.drain()
        reloading = next(i for i, m in enumerate(messages) if "RELOADING=1" in m)
        assert "MONOTONIC_USEC=" in messages[reloading]
        assert any("READY=1" in m for m in messages[reloading + 1:])
        assert process.terminate() == 0
        assert any("STOPPING=1" in m for m in notify.drain())
    finally:
        process.kill()
    assert "received SIGHUP: reloading" in process.log and "reload applied" in process.log


def test_watchdog_pings_stop_while_the_scan_is_wedged_and_resume_after(tmp_path):
    process, notify = start(tmp_path, PLANT)
    try:
        notify.wait_for("READY=1")
        wait_until(lambda: sum("WATCHDOG=1" in m for m in notify.drain()) >= 2)
        conn = UnixHTTPConnection(tmp_path / "c.sock")
        status, _ = request(conn, "POST", "/v1/actors/inject", {"path": "petra/core/logic/gen", "kind": "hang",
                                                                "arg": 4})
        assert status == 200
        wedged_at = time.monotonic()
        # The claim is about what does NOT arrive, so watch a fixed window of time.
        wait_until(lambda: time.monotonic() > wedged_at + 2.5, timeout=5)
        silent = [t for t in notify.pings() if wedged_at + 1.5 < t < wedged_at + 2.5]
        assert not silent, "pinged while the scan was wedged"
        wait_until(lambda: any(t > wedged_at + 2.5 for t in notify.pings()), timeout=15)
        assert process.proc.poll() is None
    finally:
        process.kill()


def test_an_unsigned_or_tampered_config_is_refused_at_start_when_signatures_are_required(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    generate_keypair(tmp_path / "ops.key")
    os.replace(tmp_path / "ops.key.pub", keys / "ops.pub")
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump(PLANT))
    args = [*PETRA, "run", str(config), "--metrics-port", "0", "--require-signed", "--trusted", str(keys),
            "--control-socket", str(tmp_path / "c.sock"), "--audit-log", str(tmp_path / "audit.log")]
    unsigned = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert unsigned.returncode == 2 and "refused" in unsigned.stderr and "no signature" in unsigned.stderr
    sign_file(config, tmp_path / "ops.key")
    config.write_text(config.read_text() + "\n# edited after signing\n")
    tampered = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert tampered.returncode == 2 and "does not match" in tampered.stderr
    assert "plant running" not in tampered.stderr and "Traceback" not in tampered.stderr
    refusals = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert [e["details"]["accepted"] for e in refusals] == [False, False]
    assert "does not match" in refusals[-1]["details"]["reason"]
