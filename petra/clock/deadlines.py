"""Deadline arithmetic of the scan: pure functions of the period and `now`.

Deadlines are `start + n * period`, never "now + period", so a late wake-up
does not shift every later tick. A clock that wakes more than a whole period
late skips the deadlines already past (they are counted as missed) instead of
firing them back to back.
"""

from __future__ import annotations


def next_deadline(deadline: float, period: float, now: float) -> tuple[float, int]:
    """The deadline after `deadline` that is still ahead of `now`, and how many were skipped to reach it."""
    deadline += period
    if deadline > now:
        return deadline, 0
    missed = int((now - deadline) // period) + 1
    return deadline + missed * period, missed
