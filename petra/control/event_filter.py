"""The event streams' side of the change bus: one listener per pattern, however many streams share it.

A `GET /v1/events?pattern=GLOB` stream hears the changes of every signal owner that publishes (the block
chains, each scan), in that owner's thread. What it costs there is added to the scan's work, so:

- the pattern is matched once against the table's names (`PatternSlots`), and each event asks
  `SignalsChanged.only(slots)`: one set test in C when none of the pattern's signals changed (matching the
  name of every change of every scan, as the listener did, doubled the 10,000-signal plant's scan work with
  two streams open: benchmarks/control.py); the set is computed again when a reload adds or removes signals;
- streams with the same pattern share one bus listener (`EventFanout`): the changes are picked and turned
  into dicts once per event in the owner's thread, then JSON-encoded once on the event loop and handed to
  every stream of that pattern, which only adds its own `dropped` count.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import threading
from asyncio import AbstractEventLoop
from collections.abc import Callable
from typing import Any

from petra import jsontext
from petra.bus import ChangeBus
from petra.messages import SignalsChanged
from petra.signals import SignalTable

Deliver = Callable[[str, str], None]
"""Called on the event loop with an event's owner and its changes as JSON text."""


class PatternSlots:
    """The slots of the table's signals that `pattern` matches (None: every signal, for ``*`` or "")."""

    def __init__(self, table: SignalTable, pattern: str) -> None:
        self.table = table
        self.pattern = pattern
        self._layout: tuple[int, int] | None = None
        self._slots: frozenset[int] = frozenset()

    def wanted(self) -> frozenset[int] | None:
        if self.pattern in ("", "*"):
            return None
        table = self.table
        layout = (len(table.names), len(table.index))  # a reload appends signals or takes some out of the index
        if layout != self._layout:
            index = list(table.index.items())  # one C-level copy: a reload may change the index meanwhile
            self._slots = frozenset(slot for name, slot in index if fnmatch.fnmatchcase(name, self.pattern))
            self._layout = layout
        return self._slots


class _Pattern:
    """One pattern's bus listener and the streams it feeds."""

    def __init__(self, table: SignalTable, pattern: str, loop: AbstractEventLoop) -> None:
        self.slots = PatternSlots(table, pattern)
        self.loop = loop
        self.receivers: tuple[Deliver, ...] = ()

    def listener(self, event: SignalsChanged) -> None:  # runs in the signal owner's thread: keep it cheap
        wanted = self.slots.wanted()
        found = event.changes if wanted is None else event.only(wanted)
        if not found:
            return
        changes = [{"name": c.name, "value": c.value, "quality": c.quality.name.lower(), "timestamp": c.timestamp}
                   for c in found]
        with contextlib.suppress(RuntimeError):  # the loop closed before the stream could unsubscribe
            self.loop.call_soon_threadsafe(self._fan_out, str(event.owner), changes)

    def _fan_out(self, owner: str, changes: list[dict[str, Any]]) -> None:  # on the event loop
        encoded = jsontext.dumps(changes, default=str)
        for deliver in self.receivers:
            deliver(owner, encoded)


class EventFanout:
    """The bus listeners of the event streams, one per distinct pattern (used from the event loop)."""

    def __init__(self, bus: ChangeBus, table: SignalTable, loop: AbstractEventLoop) -> None:
        self.bus = bus
        self.table = table
        self.loop = loop
        self._lock = threading.Lock()
        self._patterns: dict[str, _Pattern] = {}

    def open(self, pattern: str, deliver: Deliver) -> Callable[[], None]:
        """Feed `deliver` with the changes `pattern` matches; returns what stops it."""
        with self._lock:
            entry = self._patterns.get(pattern)
            if entry is None:
                entry = self._patterns[pattern] = _Pattern(self.table, pattern, self.loop)
                self.bus.subscribe(entry.listener)
            entry.receivers = (*entry.receivers, deliver)

        def close() -> None:
            with self._lock:
                entry.receivers = tuple(r for r in entry.receivers if r is not deliver)
                if not entry.receivers and self._patterns.get(pattern) is entry:
                    del self._patterns[pattern]
                    self.bus.unsubscribe(entry.listener)

        return close

    @staticmethod
    def data(owner: str, encoded: str, dropped: int) -> str:
        """The `data:` of one event, as `json.dumps({"owner", "changes", "dropped"})` writes it."""
        return f'{{"owner": {json.dumps(owner)}, "changes": {encoded}, "dropped": {dropped}}}'
