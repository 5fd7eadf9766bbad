"""Work-hours schedules in an IANA time zone (zoneinfo), correct across DST changes.

A schedule is a set of weekdays and a local time span `start`..`end`. A span with
`end` before `start` runs overnight: it starts on a listed day and ends the next
morning. Local wall-clock time decides, so "08:00" stays 08:00 in summer and winter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class WorkHours:
    timezone: str = "UTC"
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: str = "08:00"
    end: str = "17:00"

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> WorkHours:
        return cls(
            timezone=str(data.get("timezone") or "UTC"),
            days=tuple(data.get("days") or ("mon", "tue", "wed", "thu", "fri")),
            start=str(data.get("start") or "08:00"),
            end=str(data.get("end") or "17:00"),
        )

    def local(self, now: float) -> datetime:
        """`now` (epoch seconds) as local time in this schedule's zone."""
        return datetime.fromtimestamp(now, ZoneInfo(self.timezone))

    def contains(self, now: float) -> bool:
        """True when epoch time `now` falls within the schedule."""
        local = self.local(now)
        start, end, clock = _parse(self.start), _parse(self.end), local.time()
        today = DAYS[local.weekday()]
        if start <= end:
            return today in self.days and start <= clock < end
        if today in self.days and clock >= start:
            return True
        yesterday = DAYS[(local - timedelta(days=1)).weekday()]
        return yesterday in self.days and clock < end
