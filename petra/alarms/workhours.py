"""Work-hours schedules in an IANA time zone (zoneinfo), correct across DST changes.

A schedule is a set of weekdays and a local time span `start`..`end`. A span with
`end` before `start` runs overnight: it starts on a listed day and ends the next
morning. Local wall-clock time decides, so "08:00" stays 08:00 in summer and winter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from petra.config.schema_builders import TIME_OF_DAY, array, enum
from petra.config.settings import setting

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class WorkHours:
    """A contact's `work_hours` (its settings: `petra.config.settings`)."""

    timezone: str = setting("UTC", doc="IANA time zone, e.g. Europe/Zurich.")
    days: tuple[str, ...] = setting(("mon", "tue", "wed", "thu", "fri"),
                                    schema=array(enum(list(DAYS)), uniqueItems=True))
    start: str = setting("08:00", doc="HH:MM", pattern=TIME_OF_DAY)
    end: str = setting("17:00", doc="HH:MM", pattern=TIME_OF_DAY)

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
