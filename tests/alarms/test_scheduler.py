"""The alarm timer thread on a manual clock: it fires what the clock made due, and nothing before."""

from __future__ import annotations

import threading

import pytest

from petra.alarms.scheduler import Scheduler
from petra.clock.source import SYSTEM_TIME, ManualTime


@pytest.fixture
def clock() -> ManualTime:
    return ManualTime(start=1_000_000.0)


@pytest.fixture
def scheduler(clock: ManualTime):
    timers = Scheduler(time_source=clock)
    timers.start()
    yield timers
    timers.stop()


def test_a_timer_fires_when_the_manual_clock_reaches_its_deadline_and_not_before(clock, scheduler):
    fired: list[str] = []
    scheduler.call_at(clock.time() + 10.0, lambda: fired.append("ten"))
    scheduler.call_at(clock.time() + 20.0, lambda: fired.append("twenty"))
    assert scheduler.settle(timeout=5) and fired == []
    clock.advance(9.999)
    assert scheduler.settle(timeout=5) and fired == []
    clock.advance(0.001)
    assert scheduler.settle(timeout=5) and fired == ["ten"]
    clock.set(clock.time() + 100.0)
    assert scheduler.settle(timeout=5) and fired == ["ten", "twenty"]
    assert scheduler.pending() == 0


def test_a_timer_scheduled_in_the_past_fires_at_once(clock, scheduler):
    done = threading.Event()
    scheduler.call_at(clock.time() - 1.0, done.set)
    assert done.wait(5)


def test_settle_waits_for_the_callback_that_is_running(clock, scheduler):
    release = threading.Event()
    finished = threading.Event()

    def slow() -> None:
        release.wait(5)
        finished.set()

    scheduler.call_at(clock.time(), slow)
    assert not scheduler.settle(timeout=0.05)  # it is still running
    release.set()
    assert scheduler.settle(timeout=5) and finished.is_set()


def test_a_manual_clock_only_moves_forward(clock):
    start = clock.time(), clock.monotonic()
    assert clock.advance(1.5) == start[0] + 1.5 and clock.monotonic() == start[1] + 1.5
    with pytest.raises(ValueError):
        clock.advance(-1.0)
    with pytest.raises(ValueError):
        clock.set(start[0])
    assert clock.time() == start[0] + 1.5


def test_the_system_clock_is_the_default_and_fires_in_real_time():
    timers = Scheduler()
    assert timers.clock is SYSTEM_TIME
    done = threading.Event()
    timers.start()
    try:
        timers.call_at(SYSTEM_TIME.time() + 0.05, done.set)
        assert done.wait(5)
    finally:
        timers.stop()
