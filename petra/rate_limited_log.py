"""Warnings about outside input, at most one line per key and interval, with a bounded key map.

Drivers log what devices and brokers send them wrong. A device or a publisher
can repeat a fault thousands of times a second, and can vary it without end
(a new topic name per message): the log must neither flood nor remember every
variant. Keys are forgotten least recently used first beyond `max_keys`; a
forgotten key simply logs again the next time it is seen.

`RateLimitedLog` is for PETRA's own lines; `RateLimitFilter` does the same to a
library's logger (python-snap7's server logs every bad request it receives).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """Per key: admit once per `interval_s`, count what is held back. Not thread-safe."""

    def __init__(self, interval_s: float = 10.0, max_keys: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.max_keys = max_keys
        self._clock = clock
        self._last: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._last)

    def admit(self, key: str) -> int | None:
        """None when `key` was admitted less than `interval_s` ago; else how many were held back since."""
        now = self._clock()
        last, suppressed = self._last.pop(key, (now - self.interval_s, 0))
        if now - last < self.interval_s:
            self._remember(key, (last, suppressed + 1))
            return None
        self._remember(key, (now, 0))
        return suppressed

    def _remember(self, key: str, entry: tuple[float, int]) -> None:
        self._last[key] = entry
        while len(self._last) > self.max_keys:
            self._last.popitem(last=False)


class RateLimitedLog:
    """At most one log line per key every `interval_s`; says how many were suppressed."""

    def __init__(self, logger: logging.Logger, interval_s: float = 10.0, max_keys: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self._limiter = RateLimiter(interval_s, max_keys, clock)

    def __len__(self) -> int:
        return len(self._limiter)

    def warning(self, key: str, message: str, *args: object) -> bool:
        return self.log(logging.WARNING, key, message, *args)

    def info(self, key: str, message: str, *args: object) -> bool:
        return self.log(logging.INFO, key, message, *args)

    def log(self, level: int, key: str, message: str, *args: object) -> bool:
        """Log unless `key` logged less than `interval_s` ago; True when the line was written."""
        suppressed = self._limiter.admit(key)
        if suppressed is None:
            return False
        if suppressed:
            message += f" ({suppressed} similar suppressed)"
        self.logger.log(level, message, *args)
        return True


class RateLimitFilter(logging.Filter):
    """A logging filter: one record per logger and message every `interval_s` (thread-safe)."""

    def __init__(self, interval_s: float = 10.0, max_keys: int = 1024) -> None:
        super().__init__()
        self._limiter = RateLimiter(interval_s, max_keys)
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            suppressed = self._limiter.admit(f"{record.name}:{record.msg}")
        if suppressed:
            record.msg = f"{record.msg} ({suppressed} similar suppressed)"
        return suppressed is not None
