"""Restart intensity: the sliding window that decides when a supervisor gives up."""

from __future__ import annotations

from collections import deque

__all__ = ["RestartIntensity"]


class RestartIntensity:
    """At most ``max_restarts`` restarts within any ``period`` seconds.

    Mirrors Erlang's ``intensity``/``period``: restarts are remembered as timestamps
    in a sliding window; one restart too many means restarting is not helping and the
    supervisor should give up so its own parent (or, at the top, systemd) can act.
    Pure: the caller passes the clock reading, so tests need no sleeps.
    """

    def __init__(self, max_restarts: int, period: float) -> None:
        if max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {max_restarts}")
        if period <= 0:
            raise ValueError(f"period must be > 0, got {period}")
        self.max_restarts = max_restarts
        self.period = period
        self._times: deque[float] = deque()

    def record(self, now: float) -> bool:
        """Record a restart at ``now``; False when the window now holds too many."""
        self._times.append(now)
        while self._times and now - self._times[0] >= self.period:
            self._times.popleft()
        return len(self._times) <= self.max_restarts

    @property
    def recent(self) -> int:
        """How many restarts are currently remembered in the window."""
        return len(self._times)

    def __repr__(self) -> str:
        return f"RestartIntensity(max_restarts={self.max_restarts}, period={self.period})"
