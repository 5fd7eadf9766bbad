"""Writes deferred to the end of a batch in this thread: one socket write for a batch's many messages.

A signal group applying a network read's frames (`UpdateSignals.frames`) runs
every event run and every MQTT publish those frames trigger, one frame after the
other, in its own thread. Each publish written at once would be one ``send`` per
message, and each ``send`` gives the GIL away: under a flood the thread then
waits for it as long as the other threads keep it. Inside `batch()` a writer
that can wait (the MQTT bridge's `writing_here`) registers its flush with
`defer` instead, and the batch's end runs each flush once: the batch's messages
leave in one write. At a trickle a batch is one frame, so nothing waits longer.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


class _Pending(threading.local):
    flushes: dict[object, Callable[[], None]] | None = None


_pending = _Pending()


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Defer the flushes registered in this thread until the end (nested: the outermost batch's end)."""
    if _pending.flushes is not None:
        yield
        return
    _pending.flushes = {}
    try:
        yield
    finally:
        flushes, _pending.flushes = _pending.flushes, None
        errors: list[BaseException] = []
        for flush in flushes.values():
            try:
                flush()
            except Exception as exc:  # every writer gets its flush; the first error is raised after
                errors.append(exc)
        if errors:
            raise errors[0]


def defer(key: object, flush: Callable[[], None]) -> bool:
    """Run `flush` once at the end of this thread's batch (once per `key`); False when there is no batch."""
    flushes = _pending.flushes
    if flushes is None:
        return False
    flushes.setdefault(key, flush)
    return True
