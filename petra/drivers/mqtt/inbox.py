"""Messages from paho's network thread waiting for the bridge actor: batched and bounded.

The first message of a burst asks for a flush; the rest pile up until the actor
takes them all at once, so the batch grows with the load. A publisher can send
faster than the actor routes, so the pile has a bound in messages and in
payload bytes: past it the arriving message is dropped and counted (the actor
reports the count with the next batch). Thread-safe: paho puts, the actor takes.
"""

from __future__ import annotations

import threading


class Inbox:
    """A bounded pile of (topic, payload) with a drop counter."""

    def __init__(self, max_messages: int = 100_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._items: list[tuple[str, bytes]] = []
        self._bytes = 0
        self._dropped = 0
        self._flush_asked = False
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, topic: str, payload: bytes) -> bool:
        """Add one message (or drop it when full); True when the caller must ask the actor to flush."""
        size = len(topic) + len(payload)
        with self._lock:
            if len(self._items) >= self.max_messages or self._bytes + size > self.max_bytes:
                self._dropped += 1
            else:
                self._items.append((topic, payload))
                self._bytes += size
            if self._flush_asked:
                return False
            self._flush_asked = True
            return True

    def take(self) -> tuple[list[tuple[str, bytes]], int]:
        """Everything waiting, and how many messages were dropped since the last take."""
        with self._lock:
            items, self._items = self._items, []
            dropped, self._dropped = self._dropped, 0
            self._bytes = 0
            self._flush_asked = False
        return items, dropped
