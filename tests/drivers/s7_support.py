"""Shared steps of the S7 and Modbus driver tests: run a plant against a real peer, read metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from petra.runtime import Runtime
from petra.signal_io import SignalWriter
from tests.harness import RunningPlant
from tests.helpers import wait_until


@contextmanager
def running_plant(data: dict[str, Any]) -> Iterator[Runtime]:
    """A started runtime for `data` (scan 50 ms unless given), stopped afterwards (tests/conftest.py's
    autouse fixture fails the test if its threads do not end)."""
    with RunningPlant({"scan_time_ms": 50, **data}, switch_interval_s=None) as plant:
        yield plant.runtime


def metric(runtime: Runtime, name: str, driver: str) -> float:
    value = runtime.plant.metrics.registry.get_sample_value(name, {"driver": driver})
    return 0.0 if value is None else value


def write_signals(runtime: Runtime, values: dict[str, Any]) -> None:
    """Write signals the way the control API does: through their owning group actors."""
    assert runtime.tree is not None
    lost = SignalWriter(runtime.plant, runtime.tree.registry, "test").write_values(values)
    assert not lost


def good(runtime: Runtime, name: str) -> bool:
    return runtime.plant.table.read(name).quality == 0


def bad(runtime: Runtime, name: str) -> bool:
    return runtime.plant.table.read(name).quality == 2


def assert_counted_and_never_connected(runtime: Runtime, driver: str, signal: str, records: list[logging.LogRecord],
                                       attempts: Callable[[], int]) -> None:
    """A peer that answers garbage or nothing: errors counted per attempt, the signal BAD, the driver never
    connected (no reconnects, no restart of the actor) and one rate-limited log line for the whole episode."""
    wait_until(lambda: metric(runtime, "petra_driver_errors_total", driver) >= 3)
    wait_until(lambda: attempts() >= 3)
    assert bad(runtime, signal)
    assert metric(runtime, "petra_driver_connected", driver) == 0
    assert metric(runtime, "petra_driver_reconnects_total", driver) == 0
    assert runtime.tree is not None
    node = next(n for n in runtime.tree.tree().walk() if n.path == f"petra/drivers/{driver}")
    assert node.state == "running" and node.restarts == 0
    lines = [r.getMessage() for r in records if r.name.startswith("petra.drivers") and driver in r.getMessage()]
    assert len(lines) == 1 and "cannot connect" in lines[0], lines
