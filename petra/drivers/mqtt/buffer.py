"""The bounded outbound buffer that holds publishes while the broker is unreachable.

Drop policy: drop-oldest. When full, the oldest message makes room for the new
one and the drop is counted; the newest state of the plant is worth more than
the oldest. Memory is bounded by `max_messages` (0 = keep nothing, count all).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message waiting to be published."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


class OutboundBuffer:
    """FIFO of `Outgoing` with a hard bound and a drop counter. Not thread-safe: one owner."""

    def __init__(self, max_messages: int) -> None:
        if max_messages < 0:
            raise ValueError(f"max_messages must be >= 0, got {max_messages}")
        self.max_messages = max_messages
        self.dropped = 0
        self._queue: deque[Outgoing] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def push(self, message: Outgoing) -> int:
        """Append `message`; returns how many messages were dropped to make room (0 or 1)."""
        if self.max_messages == 0:
            self.dropped += 1
            return 1
        dropped = 0
        if len(self._queue) >= self.max_messages:
            self._queue.popleft()
            dropped = 1
            self.dropped += 1
        self._queue.append(message)
        return dropped

    def push_front(self, message: Outgoing) -> None:
        """Put back a message that could not be sent, keeping order; drops it if full."""
        if len(self._queue) >= self.max_messages:
            self.dropped += 1
            return
        self._queue.appendleft(message)

    def pop(self) -> Outgoing | None:
        return self._queue.popleft() if self._queue else None
