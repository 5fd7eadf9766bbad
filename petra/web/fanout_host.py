"""PETRA's side of the web streams' fan-out process (`petra.web.fanout_child`): starts it, sends it layouts
and batches, hands its answers to the stream hub, and ends it.

The hub keeps at most one batch in flight and makes the batch itself (`petra.web.fanout` on the loop) when
the process is not there: it failed to start, died, or did not answer within `ANSWER_TIMEOUT_S` (then it is
killed). So the streams never depend on it; it only takes their encoding out of PETRA's interpreter.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from petra.link import Handler, Link, LinkClosed, spawn_child
from petra.web.fanout import Columns, Encoded, Latest

log = logging.getLogger(__name__)

LINK_THREAD = "petra-web-fanout-link"
STOP_THREAD = "petra-web-fanout-stop"
STOP_TIMEOUT_S = 2.0
SEND_BUFFER_BYTES = 8 << 20
"""The pipe's send buffer: a batch of 20,000 changes pickles to about 250 kB; a send never waits on it."""


class FanoutProcess:
    """One fan-out process and its pipe. `on_encoded(batch_id, out, moved)` and `on_failed(batch_id, why)`
    are called on the pipe's reader thread, `on_gone()` once when the pipe closes."""

    def __init__(self, on_encoded: Callable[[int, Encoded, frozenset[int]], None],
                 on_failed: Callable[[int, str], None], on_gone: Callable[[], None]) -> None:
        self.on_encoded = on_encoded
        self.on_failed = on_failed
        self.on_gone = on_gone
        self.process: subprocess.Popen[bytes] | None = None
        self.link: Link | None = None
        self.ready = threading.Event()
        """Set when the process has started and listens: until then the hub makes the batches itself (a
        process still importing would look hung)."""
        self.names_sent = 0
        """How many of the table's names the process has (they only ever get appended)."""

    def start(self) -> None:
        self.process, conn = spawn_child("petra.web.fanout_child", SEND_BUFFER_BYTES)
        handlers: dict[str, Handler] = {"ready": self.ready.set, "encoded": self.on_encoded,
                                        "failed": self.on_failed}
        # no calls cross this pipe: the executor never starts a thread
        self.link = Link(conn, handlers, ThreadPoolExecutor(max_workers=1), name=LINK_THREAD,
                         on_closed=self.on_gone, peer="the web fan-out process").start()

    def send_layout(self, names: list[str], alarm_slots: frozenset[int]) -> bool:
        """The names appended since the last layout, and the alarm state slots; whether it went."""
        start = self.names_sent
        if not self._send("layout", start, names[start:], alarm_slots):
            return False
        self.names_sent = len(names)
        return True

    def send_batch(self, batch_id: int, events: list[Columns], extra: Latest, forced: dict[int, tuple[Any, str]],
                   subscriptions: dict[str, frozenset[int] | None] | None) -> bool:
        return self._send("batch", batch_id, events, extra, forced, subscriptions)

    def _send(self, name: str, *args: Any) -> bool:
        link = self.link
        if link is None or link.closed.is_set():
            return False
        try:  # never waits on the pipe for long: one batch in flight, and a buffer bigger than a batch
            return link.try_tell(name, *args, timeout=0.1)
        except LinkClosed:
            return False

    def kill(self) -> None:
        """End the process now (it did not answer in time; the chaos tests' crash)."""
        if self.process is not None:
            with contextlib.suppress(OSError):
                self.process.kill()

    def stop(self) -> None:
        """Ask the process to end and reap it on a thread of its own (never waits on the caller's loop)."""
        link, process = self.link, self.process
        self.link = self.process = None
        if link is not None:
            link.on_closed = None  # an ordered end is not a failure
            link.try_tell("stop", timeout=0.1)
        threading.Thread(target=_reap, args=(link, process), name=STOP_THREAD, daemon=True).start()


def _reap(link: Link | None, process: subprocess.Popen[bytes] | None) -> None:
    if process is not None:
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("web HMI: the fan-out process did not end in %.0f s; killed", STOP_TIMEOUT_S)
            process.kill()
            process.wait(5)
    if link is not None:
        link.close()
