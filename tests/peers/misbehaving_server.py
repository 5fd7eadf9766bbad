"""A real TCP server on loopback that accepts connections and answers badly, for driver tests.

Modes, per request (each chunk of bytes received):
  * ``random``: a few dozen random bytes;
  * ``bad_length``: the request's first 4 bytes (a Modbus/TCP transaction and
    protocol id, or a TPKT header's first half) and then a length field that
    promises far more than follows;
  * ``silent``: nothing at all (the connection stays open).
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from collections.abc import Iterator

import pytest

MODES = ("random", "bad_length", "silent")


class MisbehavingServer:
    """Listens on 127.0.0.1 (a free port) in a thread of its own; `stop()` closes everything."""

    def __init__(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        self.accepted = 0
        self.requests = 0
        self._rng = random.Random(7)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name=f"misbehaving-{mode}", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections.append(conn)
                self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    request = conn.recv(4096)
                except OSError:
                    return
                if not request:
                    return
                with self._lock:
                    self.requests += 1
                answer = self.answer(request)
                if answer:
                    try:
                        conn.sendall(answer)
                    except OSError:
                        return

    def answer(self, request: bytes) -> bytes:
        if self.mode == "random":
            return bytes(self._rng.randrange(256) for _ in range(self._rng.randrange(1, 40)))
        if self.mode == "bad_length":
            return request[:4].ljust(4, b"\0") + b"\x7f\xff" + b"\x01\x03"
        return b""

    def stop(self) -> None:
        with contextlib.suppress(OSError):  # shutdown wakes the blocked accept(); close() alone does not
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
        self._thread.join(timeout=2)


@pytest.fixture(params=MODES)
def misbehaving_server(request: pytest.FixtureRequest) -> Iterator[MisbehavingServer]:
    """One server per mode: random bytes, a bad length, silence."""
    server = MisbehavingServer(request.param)
    yield server
    server.stop()
