"""Alarm flood detection and ISA-18.2 key performance indicators, as pure logic.

ISA-18.2 (and EEMUA 191) call more than 10 alarms in 10 minutes per operator a
flood. `FloodDetector` watches the rate of raised alarms; `kpis` computes the
performance indicators from the event history and the current alarm list.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from typing import Any


def is_raise(event: Mapping[str, Any]) -> bool:
    """An event that annunciated an alarm: raised, or still active when its mask (shelve, ...) lifted."""
    return event.get("event") == "raised" or bool((event.get("details") or {}).get("raised"))


class FloodDetector:
    """A flood is on while more than `threshold` alarms were raised within `window_s`."""

    def __init__(self, threshold: int = 10, window_s: float = 600.0) -> None:
        self.threshold = threshold
        self.window_s = window_s
        self.raised: deque[float] = deque()
        self.active = False
        self.started_at: float | None = None
        self.floods = 0

    def _trim(self, now: float) -> None:
        while self.raised and now - self.raised[0] >= self.window_s:
            self.raised.popleft()

    def restore(self, raised: Iterable[float], now: float) -> None:
        """Pick up the window from raise times on record (after a restart), without announcing a new flood.

        The newest `threshold` + 1 raises within the window are all it takes to know
        whether a flood is on and when it ends.
        """
        self.raised = deque(sorted(t for t in raised if now - t < self.window_s))
        self.active = len(self.raised) > self.threshold
        self.started_at = self.raised[self.threshold] if self.active else None

    def record(self, now: float) -> str | None:
        """One alarm raised; returns "started" when this raise begins a flood."""
        self.raised.append(now)
        return self.check(now)

    def check(self, now: float) -> str | None:
        """Re-evaluate at `now`: "started", "ended" or None."""
        self._trim(now)
        flooding = len(self.raised) > self.threshold
        if flooding and not self.active:
            self.active, self.started_at = True, now
            self.floods += 1
            return "started"
        if not flooding and self.active:
            self.active, self.started_at = False, None
            return "ended"
        return None

    def ends_at(self) -> float | None:
        """When the flood ends if nothing more is raised."""
        if not self.active or len(self.raised) <= self.threshold:
            return None
        return self.raised[len(self.raised) - self.threshold - 1] + self.window_s


def kpis(events: Iterable[Mapping[str, Any]], alarms: Iterable[Mapping[str, Any]], now: float,
         stale_after_s: float = 86400.0, period_s: float = 86400.0) -> dict[str, Any]:
    """ISA-18.2 KPIs over the last `period_s`: alarm rate per 10 minutes, floods, stale and top-10 alarms."""
    since = now - period_s
    raised: list[tuple[float, str]] = []
    floods = 0
    for event in events:
        if event.get("time", 0) < since:
            continue
        if is_raise(event):
            raised.append((event["time"], event["alarm"]))
        elif event.get("event") == "flood_started":
            floods += 1
    buckets = Counter(int((t - since) // 600) for t, _ in raised)
    intervals = max(1, int(period_s // 600))
    counts = [buckets.get(i, 0) for i in range(intervals)]
    alarm_list = list(alarms)
    stale = [a["id"] for a in alarm_list
             if a.get("active") and a.get("raised_at") is not None and now - a["raised_at"] > stale_after_s]
    top = Counter(alarm for _, alarm in raised).most_common(10)
    return {
        "period_s": period_s,
        "alarms": len(raised),
        "alarms_per_10min_avg": round(len(raised) / intervals, 3),
        "alarms_per_10min_max": max(counts) if counts else 0,
        "intervals_over_10_pct": round(100.0 * sum(1 for c in counts if c > 10) / intervals, 2),
        "floods": floods,
        "stale": stale,
        "stale_count": len(stale),
        "chattering": [a["id"] for a in alarm_list if a.get("chattering")],
        "shelved": [a["id"] for a in alarm_list if a.get("state") == "shelved"],
        "active": sum(1 for a in alarm_list if a.get("active")),
        "unacked": sum(1 for a in alarm_list if a.get("acked") is False),
        "top10": [{"alarm": alarm, "count": count} for alarm, count in top],
    }
