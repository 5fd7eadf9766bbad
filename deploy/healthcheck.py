#!/usr/bin/env python3
"""PETRA's container health check: asks the control API over its Unix socket, needs no token.

    healthcheck.py            liveness:  the control API answers and a scan ran in the last --stale-after s
                              (10 by default; three scan periods for a plant that scans slower)
    healthcheck.py --ready    readiness: the same, a first scan has completed, and no actor is hung

Exit 0 when healthy, 1 when not, with the reason on stdout (Docker keeps it
in `docker inspect`'s health log; Kubernetes in the pod's events). It is the
systemd unit's watchdog translated: `WatchdogSec=10` restarts PETRA when its
scans stop (petra.sdnotify.WatchdogGate pings only while scans complete), and
here `--stale-after 10` makes the probe fail when the last scan tick is older
than that. PETRA's `last_tick_monotonic` is CLOCK_MONOTONIC, the same clock
for every process of a container, so the probe compares it with its own.

The socket is $PETRA_SOCKET (the image sets /run/petra/control.sock). Its
file mode is the access control: only the container's user reaches it, which
is why the probe needs no credentials and no TCP listener has to be opened.
Standard library only, so the probe starts in ~30 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sys
import time
from typing import Any


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def status(path: str, timeout: float) -> dict[str, Any]:
    conn = _UnixConnection(path, timeout)
    try:
        conn.request("GET", "/v1/status")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET /v1/status answered {response.status}")
        data: dict[str, Any] = json.loads(body)
        return data
    finally:
        conn.close()


def problem(data: dict[str, Any], ready: bool, stale_after: float, now: float) -> str | None:
    """Why PETRA is not healthy (None when it is), from its `GET /v1/status`."""
    scan = data.get("scan") or {}
    last = scan.get("last_tick_monotonic")
    age = now - float(last) if last is not None else float(data.get("uptime_s") or 0.0)
    # A plant scanning slower than that is given three of its scans.
    limit = max(stale_after, 3 * float(data.get("scan_time_ms") or 0) / 1000)
    if age > limit:
        return f"no scan for {age:.1f} s (more than {limit:g} s)"
    if ready and not scan.get("ticks"):
        return "no scan completed yet"
    hung = (data.get("actors") or {}).get("hung") or 0
    if ready and hung:
        return f"{hung} actor(s) hung"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ready", action="store_true", help="readiness rather than liveness")
    parser.add_argument("--socket", default=os.environ.get("PETRA_SOCKET", "/run/petra/control.sock"))
    parser.add_argument("--stale-after", type=float, default=10.0, metavar="S",
                        help="fail when the last scan is older than this (default 10, the unit's WatchdogSec)")
    parser.add_argument("--timeout", type=float, default=4.0, metavar="S", help="control API answer timeout")
    args = parser.parse_args(argv)
    try:
        data = status(args.socket, args.timeout)
    except (OSError, RuntimeError, ValueError, http.client.HTTPException) as exc:
        print(f"unhealthy: control API at {args.socket}: {type(exc).__name__}: {exc}")
        return 1
    why = problem(data, args.ready, args.stale_after, time.monotonic())
    if why is not None:
        print(f"unhealthy: {why}")
        return 1
    print(f"ok: {data.get('node_id')} scan ticks {(data.get('scan') or {}).get('ticks')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
