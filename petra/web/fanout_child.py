"""The web streams' fan-out process: makes each stream's bytes out of PETRA's batches (`python -m
petra.web.fanout_child FD`, started by `petra.web.fanout_host`).

Encoding a batch is Python (a float's repr alone is most of a microsecond here): 10,000 changed signals on
50 tabs took PETRA's HTTP loop 25-30 ms a batch, ten times a second, sharing the interpreter with the scan.
So PETRA sends this process the batch's bus events as columns (pickling them is C: about a millisecond for
20,000 changes) and gets back each stream's joined JSON items; what is left on PETRA's loop is handing each
stream its bytes.

What crosses the pipe (`petra.link`), every message a tell:
- PETRA -> here: `layout` (the names appended to the signal table since the last, the slots of the alarm
  state signals), `batch` (an id, the events' columns, the slots whose force changed with their current
  value, the forced signals, and the streams' subscriptions when they changed), `stop`;
- here -> PETRA: `ready` once, then `encoded` (the batch's id, each stream's items, the alarm state slots
  that changed), or `failed` (the id and why: PETRA then makes that batch itself).

The process runs at `NICE` over PETRA (on a machine short of cores the scan wins), and ends when PETRA says
`stop` or the pipe closes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from petra.link import Handler, Link
from petra.web.fanout import Columns, Encoded, Encoder, Latest, fan_out, merge

log = logging.getLogger("petra.web.fanout_child")

NICE = 10


class FanoutState:
    """This process's copy of what a batch needs: the signal names, the alarm state slots, the subscriptions."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.alarm_slots: frozenset[int] = frozenset()
        self.subscriptions: dict[str, frozenset[int] | None] = {}
        self.encoder = Encoder(lambda: self.names)

    def layout(self, start: int, names: list[str], alarm_slots: frozenset[int]) -> None:
        del self.names[start:]
        self.names.extend(names)
        self.alarm_slots = alarm_slots

    def batch(self, events: list[Columns], extra: Latest, forced: dict[int, tuple[Any, str]],
              subscriptions: dict[str, frozenset[int] | None] | None) -> tuple[Encoded, frozenset[int]]:
        if subscriptions is not None:
            self.subscriptions = subscriptions
        latest = merge(events)
        latest.update(extra)  # the table's value of a signal forced or released: newer than the events
        out: Encoded = {}
        for _ in fan_out(latest, self.subscriptions, self.encoder, forced, out):
            pass
        return out, frozenset(self.alarm_slots & latest.keys())


def main(fd: int) -> None:
    logging.basicConfig(level=logging.WARNING, format="petra web fan-out: %(levelname)s %(message)s")
    with contextlib.suppress(OSError):
        os.nice(NICE)
    state = FanoutState()
    done = threading.Event()
    link: Link

    def batch(batch_id: int, events: list[Columns], extra: Latest, forced: dict[int, tuple[Any, str]],
              subscriptions: dict[str, frozenset[int] | None] | None) -> None:
        try:
            out, moved = state.batch(events, extra, forced, subscriptions)
        except Exception as exc:
            log.exception("batch %d failed", batch_id)
            link.tell("failed", batch_id, f"{type(exc).__name__}: {exc}")
            return
        link.tell("encoded", batch_id, out, moved)

    handlers: dict[str, Handler] = {"layout": state.layout, "batch": batch, "stop": done.set}
    link = Link(Connection(fd), handlers, ThreadPoolExecutor(max_workers=1), name="fanout-link",
                on_closed=done.set, peer="PETRA")
    link.start()
    link.tell("ready")  # imported and listening: PETRA sends batches from now on
    done.wait()
    link.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
