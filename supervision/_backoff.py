"""Exponential back-off with jitter between restarts of a failing child.

Actors that retry inside themselves instead of crashing (a connection that
reconnects, a sink that is down, a message that is resent) use the same policy, so
a tree has one kind of back-off; `base_delay` is the delay without jitter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["BackoffPolicy"]


@dataclass(frozen=True)
class BackoffPolicy:
    """How long a supervisor waits before restarting a child that keeps failing.

    A crash loop must not spin: the first restart after a failure already waits
    ``delay(1)``. Each consecutive failure of the same child doubles the wait (by
    ``multiplier``) up to ``maximum``; the count resets once the child has stayed up
    for ``reset_after`` seconds. Jitter spreads restarts of many children that failed
    together (e.g. all drivers losing the same network) so they don't retry in lockstep.
    All times are in seconds.
    """

    initial: float = 0.05
    maximum: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2
    reset_after: float = 10.0

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < self.initial:
            raise ValueError(f"need 0 <= initial <= maximum, got {self.initial}, {self.maximum}")
        if self.multiplier < 1.0:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")
        if self.reset_after < 0:
            raise ValueError(f"reset_after must be >= 0, got {self.reset_after}")

    def base_delay(self, attempt: int) -> float:
        """The delay for ``attempt`` (1-based) before jitter is applied."""
        if attempt < 1:
            raise ValueError(f"attempt is 1-based, got {attempt}")
        if self.initial == 0 or self.multiplier == 1.0:
            return self.initial
        # Step up instead of computing multiplier ** attempt: long crash loops would overflow.
        delay = self.initial
        for _ in range(attempt - 1):
            delay *= self.multiplier
            if delay >= self.maximum:
                return self.maximum
        return min(delay, self.maximum)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before restart number ``attempt`` (1-based) of one child.

        Pure apart from the ``rng`` passed in, so tests can pin it with a seeded
        ``random.Random``.
        """
        factor = rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return self.base_delay(attempt) * factor
