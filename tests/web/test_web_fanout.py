"""The streams' batches are made in the fan-out process, byte for byte as the loop makes them; when that
process dies or hangs, the batch it had is made on the loop, nothing is lost, and the failure is counted."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from types import SimpleNamespace

from prometheus_client import CollectorRegistry

from petra.bus import ChangeBus
from petra.clock.scanstats import ScanStats
from petra.config.model import SignalConfig
from petra.messages import SignalsChanged
from petra.owners import Owner
from petra.signals import SignalTable
from petra.values import DataType, Quality
from petra.web.stream import StreamHub, Subscription
from tests.helpers import run_apart

NAMES = [f"s{i}" for i in range(50)]


def _plant() -> SimpleNamespace:
    table = SignalTable([SignalConfig(name, DataType.FLOAT, 0.0) for name in NAMES])
    return SimpleNamespace(table=table, bus=ChangeBus(), stats=ScanStats(), scan_time_s=0.05, main_has_chains=False,
                           metrics=SimpleNamespace(registry=CollectorRegistry()))


def _state(pid: int) -> str:
    """The process's state letter in /proc (T: stopped)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def _event(first: int, value: float, stamp: float) -> SignalsChanged:
    slots = tuple(range(first, first + 10))
    return SignalsChanged(Owner.group("default"), slots=slots, values=tuple(value + s for s in slots),
                          qualities=(int(Quality.GOOD),) * len(slots), timestamp=stamp)


async def _batches(hub: StreamHub, stamp: float, count: int = 3, wait_ready: bool = False) -> list[bytes]:
    """Two streams with different subscriptions; `count` batches of two events each; what each stream got."""
    table = hub.plant.table
    a = hub.open("otto", asyncio.get_running_loop())
    b = hub.open("otto", asyncio.get_running_loop())
    a.subscription = Subscription.parse({"signals": ["s1", "s2", "s15"]}, table.index)
    b.subscription = Subscription.parse({"signals": "*"}, table.index)
    hub._subscriptions_changed = True  # as a PUT does
    while wait_ready and not (hub._fanout is not None and hub._fanout.ready.is_set()):
        await asyncio.sleep(0.01)
    got: list[bytes] = []
    for k in range(count):
        before = hub.ticks
        hub.listener(_event(0, float(k), stamp + k))
        hub.listener(_event(5, 100.0 + k, stamp + k + 0.5))  # slots 5-9 again: the later value is sent
        for stream in (a, b):
            await asyncio.wait_for(stream.wake.wait(), 10)
            stream.wake.clear()
            got.append(b"".join(stream.take_encoded()))
        assert hub.ticks == before + 1
        await asyncio.sleep(0.12)  # past the batch interval
    hub.close_all()
    return got


def test_the_fan_out_process_makes_the_same_bytes_as_the_loop() -> None:
    stamp = time.time()
    here = run_apart(_batches(StreamHub(_plant(), fanout=False), stamp))  # type: ignore[arg-type]
    hub = StreamHub(_plant())  # type: ignore[arg-type]
    apart = run_apart(_batches(hub, stamp, wait_ready=True))
    assert apart == here
    assert b'"name":"s7","value":107.0' in here[1]  # the later of two values of one batch
    assert hub._batch_ids.__next__() > 1, "the batches went to the fan-out process"


def test_a_killed_or_hung_fan_out_process_loses_no_batch(monkeypatch) -> None:
    import petra.web.stream as stream_module

    monkeypatch.setattr(stream_module, "ANSWER_TIMEOUT_S", 1.0)
    monkeypatch.setattr(stream_module, "FANOUT_RETRY_S", 0.0)  # a new process at the next batch
    plant = _plant()
    hub = StreamHub(plant)  # type: ignore[arg-type]
    table = plant.table

    async def scenario() -> list[bytes]:
        stream = hub.open("otto", asyncio.get_running_loop())
        stream.subscription = Subscription.parse({"signals": ["s3"]}, table.index)
        hub._subscriptions_changed = True
        got = []
        for k, fault in enumerate(["kill", "hang", None]):
            while hub._fanout is None or not hub._fanout.ready.is_set():  # started with the stream, or anew
                hub._fanout_ready()
                await asyncio.sleep(0.01)
            process = hub._fanout.process
            assert process is not None
            if fault == "kill":
                process.kill()
                process.wait(5)
            elif fault == "hang":
                os.kill(process.pid, signal.SIGSTOP)  # alive, reading nothing: once the kernel has stopped it
                while _state(process.pid) != "T":  # (a process busy on the other core could answer first)
                    await asyncio.sleep(0.005)
            hub.listener(_event(0, float(k), time.time()))
            await asyncio.wait_for(stream.wake.wait(), 10)
            stream.wake.clear()
            got.append(b"".join(stream.take_encoded()))
            await asyncio.sleep(0.12)
            if fault == "hang":
                process.wait(5)  # killed by the hub
        hub.close_all()
        return got

    got = run_apart(scenario())
    assert [b'"value":%d.0' % (k + 3) in item for k, item in enumerate(got)] == [True] * 3
    failures = {sample.labels["reason"]: sample.value for family in plant.metrics.registry.collect()
                for sample in family.samples if sample.name == "petra_web_fanout_failures_total"}
    assert failures.get("hung") == 1 and failures.get("died", 0) + failures.get("send", 0) >= 1
