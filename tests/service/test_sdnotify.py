from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from petra.sdnotify import Notifier, WatchdogGate


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket standing in for systemd's notify socket."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    yield sock, str(path)
    sock.close()


def _receive(sock: socket.socket) -> bytes:
    return sock.recv(4096)


def test_ready_with_a_status_is_one_datagram(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path})

    assert notifier.ready("running: 120 signals, scan 50 ms")

    assert _receive(sock) == b"READY=1\nSTATUS=running: 120 signals, scan 50 ms"
    notifier.close()


def test_each_method_sends_its_documented_datagram(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "10000000"})

    notifier.ready()
    notifier.stopping()
    notifier.status("reloading plant.yaml")
    notifier.watchdog()

    assert [_receive(sock) for _ in range(4)] == [
        b"READY=1",
        b"STOPPING=1",
        b"STATUS=reloading plant.yaml",
        b"WATCHDOG=1",
    ]
    notifier.close()


def test_reloading_carries_the_monotonic_clock_in_microseconds(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path})
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000

    notifier.reloading()

    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    first, second = _receive(sock).decode().split("\n")
    assert first == "RELOADING=1"
    name, value = second.split("=")
    assert name == "MONOTONIC_USEC" and before <= int(value) <= after
    notifier.close()


def test_a_newline_in_a_status_cannot_inject_another_assignment(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path})

    notifier.status("bad signal name\nREADY=1")

    assert _receive(sock) == b"STATUS=bad signal name READY=1"
    notifier.close()


def test_an_abstract_namespace_socket_is_addressed_with_an_at_sign() -> None:
    name = f"petra-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "@" + name})

        assert notifier.ready("up")

        assert sock.recv(4096) == b"READY=1\nSTATUS=up"
        notifier.close()
    finally:
        sock.close()


def test_without_notify_socket_every_method_is_a_no_op() -> None:
    notifier = Notifier.from_env({"WATCHDOG_USEC": "10000000"})

    assert not notifier.enabled
    assert notifier.watchdog_interval_s is None
    assert not any(
        [
            notifier.ready("x"),
            notifier.reloading(),
            notifier.stopping(),
            notifier.status("x"),
            notifier.watchdog(),
        ]
    )


def test_from_env_reads_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch, listener: tuple[socket.socket, str]
) -> None:
    sock, path = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))

    notifier = Notifier.from_env()

    assert notifier.watchdog_interval_s == 2.0
    assert notifier.watchdog()
    assert _receive(sock) == b"WATCHDOG=1"
    notifier.close()


def test_the_watchdog_interval_is_half_of_watchdog_usec() -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": "/run/none", "WATCHDOG_USEC": "10000000"})

    assert notifier.watchdog_interval_s == 5.0


@pytest.mark.parametrize("usec", ["", "0", "-5", "ten seconds"])
def test_a_missing_or_invalid_watchdog_usec_disables_the_watchdog(usec: str) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": "/run/none", "WATCHDOG_USEC": usec})

    assert notifier.watchdog_interval_s is None
    assert not notifier.watchdog()


def test_a_watchdog_pid_of_another_process_disables_the_watchdog(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "4242"}

    notifier = Notifier.from_env(env, pid=1000)

    assert notifier.watchdog_interval_s is None
    assert not notifier.watchdog()
    assert Notifier.from_env(env, pid=4242).watchdog_interval_s == 5.0
    notifier.ready()
    assert _receive(sock) == b"READY=1"  # nothing else was sent before it
    notifier.close()


def test_a_send_failure_is_logged_once_and_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens.sock")})

    with caplog.at_level(logging.DEBUG, logger="petra.sdnotify"):
        results = [notifier.ready(), notifier.status("a"), notifier.stopping()]

    assert results == [False, False, False]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    notifier.close()


def test_a_relative_notify_socket_disables_notification() -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": "notify.sock"})

    assert not notifier.enabled
    assert not notifier.ready()


def test_the_gate_pings_while_scans_are_recent() -> None:
    gate = WatchdogGate(max_age_s=2.0)

    assert gate.should_ping(last_scan_monotonic=100.0, now=100.0)
    assert gate.should_ping(last_scan_monotonic=100.0, now=102.0)


def test_the_gate_stops_pinging_when_scans_stop() -> None:
    gate = WatchdogGate(max_age_s=2.0)

    assert not gate.should_ping(last_scan_monotonic=100.0, now=102.001)
    assert not gate.should_ping(last_scan_monotonic=100.0, now=5000.0)


def test_the_gate_does_not_ping_before_the_first_scan() -> None:
    assert not WatchdogGate(max_age_s=2.0).should_ping(last_scan_monotonic=None, now=100.0)


def test_the_gate_does_not_ping_for_a_scan_time_in_the_future() -> None:
    assert not WatchdogGate(max_age_s=2.0).should_ping(last_scan_monotonic=105.0, now=100.0)


@pytest.mark.parametrize("max_age", [0.0, -1.0, float("nan"), float("inf")])
def test_the_gate_needs_a_positive_finite_max_age(max_age: float) -> None:
    with pytest.raises(ValueError, match="max_age_s"):
        WatchdogGate(max_age_s=max_age)
