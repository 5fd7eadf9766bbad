"""A stream batch goes out between two scans: its Python work never shares the interpreter with a scan under way
(benchmarks/hmi.py: the scan's work p99 with 50 streams went from 24 ms to 13.5 ms), and a scan that does not
end does not hold the streams back for longer than `MAX_GAP_WAIT_S`."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from petra.bus import ChangeBus
from petra.clock.scanstats import ScanStats
from petra.config.model import SignalConfig
from petra.messages import SignalsChanged
from petra.owners import Owner
from petra.signals import SignalTable
from petra.values import DataType, Quality
from petra.web.fanout import ENCODE_SLICE
from petra.web.stream import GUARD_S, MAX_GAP_WAIT_S, StreamHub, Subscription
from tests.helpers import run_apart


def _plant(table: SignalTable) -> SimpleNamespace:
    """What the hub reads of a plant: a main task with chains, at a 50 ms scan."""
    return SimpleNamespace(table=table, bus=ChangeBus(), stats=ScanStats(), scan_time_s=0.05, main_has_chains=True)


def _change(value: float) -> SignalsChanged:
    return SignalsChanged(Owner.group("default"), slots=(0,), values=(value,), qualities=(int(Quality.GOOD),),
                          timestamp=time.time())


def test_a_batch_waits_for_the_scan_under_way_and_goes_out_when_it_ends() -> None:
    table = SignalTable([SignalConfig("x", DataType.FLOAT, 0.0)])
    plant = _plant(table)
    hub = StreamHub(plant)  # type: ignore[arg-type]

    async def scenario() -> tuple[float, float]:
        stream = hub.open("otto", asyncio.get_running_loop())
        stream.subscription = Subscription.parse({"signals": ["x"]}, table.index)
        plant.stats.record_tick(time.monotonic(), 0.0)  # a scan under way
        hub.listener(_change(1.0))
        await asyncio.sleep(0.02)
        assert hub.ticks == 0 and not stream.wake.is_set()  # held while the scan runs
        ended = time.monotonic()
        plant.stats.record_scan(ended, 0.02)  # the scan ends: the batch goes out
        await asyncio.wait_for(stream.wake.wait(), 5)
        sent_after_end = time.monotonic() - ended
        assert hub.ticks == 1 and b'"x"' in b"".join(stream.take_encoded())
        stream.wake.clear()
        await asyncio.sleep(0.15)  # past the batch interval
        plant.stats.record_tick(time.monotonic(), 0.0)  # a scan that never ends
        started = time.monotonic()
        hub.listener(_change(2.0))
        await asyncio.wait_for(stream.wake.wait(), 5)
        held = time.monotonic() - started
        hub.close_all()  # the last stream: the fan-out process ends
        return sent_after_end, held

    sent_after_end, held = run_apart(scenario())
    assert hub.ticks == 2
    assert sent_after_end < 1.0  # promptly (polled every millisecond; generous for a loaded machine)
    assert held >= MAX_GAP_WAIT_S * 0.9  # it waited for the scan, then went out without it ending


def test_a_large_batch_goes_out_in_slices_and_a_scan_that_starts_between_them_holds_the_rest(monkeypatch) -> None:
    import petra.web.stream as stream_module

    monkeypatch.setattr(stream_module, "SLICE_S", 0.0)  # one slice per turn of the loop
    count = 3 * ENCODE_SLICE
    table = SignalTable([SignalConfig(f"s{i}", DataType.FLOAT, 0.0) for i in range(count)])
    plant = _plant(table)
    hub = StreamHub(plant, fanout=False)  # type: ignore[arg-type]

    async def scenario() -> tuple[bool, bool, list[str]]:
        stream = hub.open("otto", asyncio.get_running_loop())
        stream.subscription = Subscription.parse({"signals": ["*"]}, table.index)
        hub.listener(SignalsChanged(Owner.group("default"), slots=tuple(range(count)),
                                    values=tuple(float(i) for i in range(count)),
                                    qualities=(int(Quality.GOOD),) * count, timestamp=time.time()))
        while hub._batch is None:  # the first slice is under way
            await asyncio.sleep(0)
        plant.stats.record_tick(time.monotonic(), 0.0)  # a scan starts between two slices
        await asyncio.sleep(0.02)
        held = hub._batch is not None and not stream.has_news()
        plant.stats.record_scan(time.monotonic(), 0.02)
        await asyncio.wait_for(stream.wake.wait(), 5)
        import json
        items = json.loads(b"[" + b",".join(stream.take_encoded()) + b"]")
        return held, hub._batch is None, [item["name"] for item in items]

    held, done, names = run_apart(scenario())
    assert held  # the rest of the batch waited for the scan to end
    assert done and names == [f"s{i}" for i in range(count)]  # then all of it, in slot order, each once


def test_a_batch_or_gap_wait_left_on_a_loop_that_stopped_does_not_hold_the_streams_of_the_next_loop() -> None:
    """The hub outlives the web actor (its restarts start a new loop): what was under way on the old loop
    must not hold the new loop's streams back."""
    table = SignalTable([SignalConfig("x", DataType.FLOAT, 0.0)])
    plant = _plant(table)
    hub = StreamHub(plant, fanout=False)  # type: ignore[arg-type]

    async def stopped_mid_batch() -> None:
        stream = hub.open("otto", asyncio.get_running_loop())
        stream.subscription = Subscription.parse({"signals": ["x"]}, table.index)
        plant.stats.record_tick(time.monotonic(), 0.0)  # a scan under way: the batch and a write wait for it
        hub.listener(_change(1.0))
        waiting = asyncio.ensure_future(hub.between_scans())
        while hub._batch is None:
            await asyncio.sleep(0.001)
        assert not waiting.done()
        hub.close(stream)  # the web actor stops: its streams end, its loop with them

    async def next_loop() -> bytes:
        stream = hub.open("otto", asyncio.get_running_loop())
        stream.subscription = Subscription.parse({"signals": ["x"]}, table.index)
        plant.stats.record_scan(time.monotonic(), 0.02)
        hub.listener(_change(2.0))
        await asyncio.wait_for(stream.wake.wait(), 5)
        plant.stats.record_tick(time.monotonic(), 0.0)
        waiting = asyncio.ensure_future(hub.between_scans())
        plant.stats.record_scan(time.monotonic(), 0.02)
        await asyncio.wait_for(waiting, 5)
        return b"".join(stream.take_encoded())

    run_apart(stopped_mid_batch())
    assert b'"value":2.0' in run_apart(next_loop())


def test_a_batch_that_fails_loses_only_itself() -> None:
    """A change for a slot the table no longer has (a reload shrank it) fails its batch; the next goes out."""
    table = SignalTable([SignalConfig("x", DataType.FLOAT, 0.0)])
    plant = _plant(table)
    hub = StreamHub(plant, fanout=False)  # type: ignore[arg-type]

    async def scenario() -> bytes:
        stream = hub.open("otto", asyncio.get_running_loop())
        stream.subscription = Subscription.parse({"signals": "*"}, table.index)
        hub.listener(SignalsChanged(Owner.group("default"), slots=(7,), values=(1.0,),
                                    qualities=(int(Quality.GOOD),), timestamp=time.time()))
        while hub.ticks == 0:
            await asyncio.sleep(0.001)
        hub.listener(_change(2.0))
        await asyncio.wait_for(stream.wake.wait(), 5)
        return b"".join(stream.take_encoded())

    assert b'"value":2.0' in run_apart(scenario())


def test_nothing_starts_when_the_next_scan_is_due_within_the_guard() -> None:
    """A slice started just before a tick would run on into the scan: the gap ends `GUARD_S` before the next
    tick is due (one period after the last)."""
    table = SignalTable([SignalConfig("x", DataType.FLOAT, 0.0)])
    plant = _plant(table)
    hub = StreamHub(plant, fanout=False)  # type: ignore[arg-type]
    now = time.monotonic()
    plant.stats.record_tick(now - plant.scan_time_s + GUARD_S / 2, 0.0)
    plant.stats.record_scan(now - 0.01, 0.01)  # the scan ended, the next is due in GUARD_S / 2
    assert not hub.in_gap()
    plant.stats.record_tick(now - 0.02, 0.0)
    plant.stats.record_scan(now - 0.01, 0.01)  # the next is due in 30 ms
    assert hub.in_gap()
    plant.stats.record_tick(now - 3 * plant.scan_time_s, 0.0)
    plant.stats.record_scan(now - 2 * plant.scan_time_s, 0.01)  # the clock stopped: nothing to wait for
    assert hub.in_gap()


def test_each_waiting_write_looks_again_when_it_wakes_so_a_run_of_writes_stops_at_the_next_scan() -> None:
    """50 streams woken by one gap write one after the other; if those writes run into the next scan, the
    streams still waiting wait for that scan to end too."""
    table = SignalTable([SignalConfig("x", DataType.FLOAT, 0.0)])
    plant = _plant(table)
    hub = StreamHub(plant, fanout=False)  # type: ignore[arg-type]
    order: list[str] = []

    async def write(name: str, starts_a_scan: bool) -> None:
        await hub.between_scans()
        order.append(name)
        if starts_a_scan:  # this write took long enough that the next scan began
            plant.stats.record_tick(time.monotonic(), 0.0)

    async def scenario() -> None:
        plant.stats.record_tick(time.monotonic(), 0.0)  # a scan under way
        first = asyncio.ensure_future(write("first", True))
        second = asyncio.ensure_future(write("second", False))
        await asyncio.sleep(0.01)
        assert order == []
        plant.stats.record_scan(time.monotonic(), 0.01)
        await asyncio.wait_for(first, 5)
        await asyncio.sleep(0.01)
        assert order == ["first"]  # the second woke with the first, looked again and found a scan under way
        plant.stats.record_scan(time.monotonic(), 0.01)
        await asyncio.wait_for(second, 5)

    run_apart(scenario())
    assert order == ["first", "second"]


def test_without_chains_on_the_main_task_nothing_waits_for_scans_that_never_complete() -> None:
    table = SignalTable([SignalConfig("x", DataType.FLOAT, 0.0)])
    plant = _plant(table)
    plant.main_has_chains = False
    hub = StreamHub(plant, fanout=False)  # type: ignore[arg-type]
    plant.stats.record_tick(time.monotonic() - 0.01, 0.0)  # it ticks; with no chains no scan ever completes
    assert hub.in_gap()


def test_a_completed_scan_tells_its_listeners_and_one_that_fails_does_not_stop_the_others(caplog) -> None:
    stats = ScanStats()
    heard: list[float | None] = []

    def broken() -> None:
        raise RuntimeError("a broken listener")

    stats.on_scan(broken)
    stats.on_scan(lambda: heard.append(stats.last_complete_monotonic))
    stats.record_scan(12.5, 0.01)
    assert heard == [12.5] and stats.completed_scans == 1  # told after the scan was recorded
    assert "a broken listener" in caplog.text
