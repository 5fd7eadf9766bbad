"""The scan clock: everything that times the plant's cyclic scan, in one place.

```
petra/clock/deadlines.py  next_deadline: absolute deadlines, and the ones a late wake-up skips
petra/clock/ticks.py      TickBoard: which chains are ticked, which are still busy (overruns),
                          scan completion (`ScanDone`) and the scan's work time
petra/clock/scanstats.py  ScanStats: tick lateness, scan work, overruns and missed deadlines,
                          kept for readers (status, benchmarks, the systemd watchdog)
petra/actors/clock.py     ClockActor: the timing thread that sleeps to each absolute deadline
                          (`start + n * period`) and hands the tick to the board
petra/clock/source.py     TimeSource, SYSTEM_TIME, ManualTime: where the plant's other deadlines
                          (the alarm subsystem's delays, shelving, escalation, retries) read the
                          time (`plant.time`); a ManualTime moves only when a test or simulator says
```

The board and the statistics are plain objects without threads of their own:
they live in the `Plant`, not in the clock actor, so a restarted clock keeps
ticking the same chains and counting into the same statistics. The actor lives
with the plant's other core actors in `petra/actors/`. The messages (`Tick`,
`ScanDone`) are in `petra.messages` with every other message.
"""

from petra.clock.deadlines import next_deadline
from petra.clock.scanstats import ScanStats, ScanSummary, percentile
from petra.clock.ticks import TickBoard

__all__ = ["ScanStats", "ScanSummary", "TickBoard", "next_deadline", "percentile"]
