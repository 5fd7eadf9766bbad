"""Where the plant reads the time: one seam, so tests can advance a clock instead of sleeping.

Actors and schedulers that wait for wall-clock deadlines (alarm delays,
shelving, escalation steps, retries) read `plant.time` instead of the `time`
module. In production it is `SYSTEM_TIME`.
"""

from __future__ import annotations

import time
from typing import Protocol


class TimeSource(Protocol):
    def time(self) -> float:
        """Seconds since the epoch (wall clock)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...


class SystemTime:
    """The real clocks."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_TIME = SystemTime()
