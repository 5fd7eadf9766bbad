"""The systemd notify protocol (sd_notify(3)), spoken directly over a datagram socket.

systemd passes `NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace) and,
when `WatchdogSec=` is set, `WATCHDOG_USEC` and `WATCHDOG_PID`. Outside systemd none
is set and every method is a cheap no-op, so callers never need to check.

Notification is best effort: a failed send is logged once and never raised, because
the plant must keep running even if the service manager cannot hear it.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)


class Notifier:
    """Sends `READY=1`, `RELOADING=1`, `STOPPING=1`, `STATUS=...` and `WATCHDOG=1`.

    Every method returns True if the datagram was sent, False when disabled or failed.
    """

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self._address = _socket_address(address) if address else None
        self._watchdog_usec = watchdog_usec if self._address is not None else None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._failed_once = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, pid: int | None = None) -> Notifier:
        """Read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (for us only if the pid is ours)."""
        env = os.environ if environ is None else environ
        pid = os.getpid() if pid is None else pid
        return cls(env.get("NOTIFY_SOCKET") or None, _watchdog_usec(env, pid))

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to call `watchdog()`: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises."""
        return None if self._watchdog_usec is None else self._watchdog_usec / 2 / 1e6

    def ready(self, status: str | None = None) -> bool:
        """Startup (or a reload) is complete; systemd considers the unit started."""
        return self.send("READY=1", *([_status(status)] if status is not None else []))

    def reloading(self) -> bool:
        """A reload has begun; call `ready()` when it is done.

        systemd >= 253 (`Type=notify-reload`) wants the CLOCK_MONOTONIC time with it.
        """
        now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send("RELOADING=1", f"MONOTONIC_USEC={now_usec}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def status(self, text: str) -> bool:
        """One line shown by `systemctl status`."""
        return self.send(_status(text))

    def watchdog(self) -> bool:
        """Tell systemd we are alive; only sent when the watchdog is enabled for us."""
        if self._watchdog_usec is None:
            return False
        return self.send("WATCHDOG=1")

    def send(self, *assignments: str) -> bool:
        """Send `KEY=value` lines as one datagram."""
        if self._address is None:
            return False
        data = "\n".join(assignments).encode("utf-8")
        try:
            with self._lock:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                sock = self._sock
            sock.sendto(data, self._address)
        except OSError as exc:
            self._report(exc)
            return False
        return True

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    def _report(self, exc: OSError) -> None:
        if self._failed_once:
            log.debug("sd_notify to %r failed: %s", self._address, exc)
            return
        self._failed_once = True
        log.warning("sd_notify to %r failed (further failures are logged at debug): %s", self._address, exc)


@dataclass(frozen=True)
class WatchdogGate:
    """Decides whether to ping the watchdog: only if a scan completed recently.

    Pinging from a timer alone would keep a wedged plant alive; tying the ping to scan
    progress lets systemd restart a service whose clock or scans have stopped.
    Both times must come from the same monotonic clock.
    """

    max_age_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_age_s) and self.max_age_s > 0):
            raise ValueError(f"max_age_s must be a positive number of seconds, got {self.max_age_s!r}")

    def should_ping(self, last_scan_monotonic: float | None, now: float) -> bool:
        """True if the last completed scan is at most `max_age_s` old.

        No scan yet, or a scan time in the future (clocks mixed up), means no ping.
        """
        if last_scan_monotonic is None:
            return False
        age = now - last_scan_monotonic
        return 0.0 <= age <= self.max_age_s


def _socket_address(address: str) -> str | None:
    if address.startswith("@"):
        return "\0" + address[1:]
    if address.startswith("/"):
        return address
    log.warning("NOTIFY_SOCKET=%r is neither a path nor an @abstract name; not notifying systemd", address)
    return None


def _watchdog_usec(env: Mapping[str, str], pid: int) -> int | None:
    raw_usec, raw_pid = env.get("WATCHDOG_USEC"), env.get("WATCHDOG_PID")
    if not raw_usec:
        return None
    if raw_pid:
        try:
            if int(raw_pid) != pid:
                return None
        except ValueError:
            log.warning("WATCHDOG_PID=%r is not a pid; watchdog disabled", raw_pid)
            return None
    try:
        usec = int(raw_usec)
    except ValueError:
        usec = 0
    if usec <= 0:
        log.warning("WATCHDOG_USEC=%r is not a positive integer; watchdog disabled", raw_usec)
        return None
    return usec


def _status(text: str) -> str:
    # A newline would start a new assignment: STATUS must never be able to say READY=1.
    return "STATUS=" + " ".join(text.splitlines())
