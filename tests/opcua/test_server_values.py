"""Values into nodes: quality and time mapping, coalescing per batch, and the bound on what waits (no server)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from asyncua import ua

from petra.config.model import SignalConfig
from petra.messages import SignalsChanged
from petra.opcua import values
from petra.opcua.values import ValueFollower, data_value
from petra.owners import Owner
from petra.signals import SignalTable
from petra.values import DataType, Quality
from tests.helpers import run_apart


def test_quality_becomes_the_status_and_a_bad_value_is_null() -> None:
    good = data_value(1.5, int(Quality.GOOD), 1_700_000_000.25, ua.VariantType.Double)
    assert good.Value.Value == 1.5 and good.StatusCode.is_good()
    assert good.SourceTimestamp == dt.datetime.fromtimestamp(1_700_000_000.25, dt.UTC)
    uncertain = data_value(2, int(Quality.UNCERTAIN), 0.0, ua.VariantType.Int64)
    assert uncertain.Value.Value == 2 and uncertain.StatusCode.is_uncertain()
    bad = data_value(3.0, int(Quality.BAD), 0.0, ua.VariantType.Double)
    assert bad.StatusCode.is_bad() and bad.Value.Value is None


def test_an_int_beyond_int32_is_bad_out_of_range_on_an_int32_node() -> None:
    assert data_value(2**31, 0, 0.0, ua.VariantType.Int32).StatusCode.value == ua.StatusCodes.BadOutOfRange
    assert data_value(2**31, 0, 0.0, ua.VariantType.Int64).Value.Value == 2**31


class FakeServer:
    def __init__(self) -> None:
        self.writes: list[tuple[ua.NodeId, ua.DataValue]] = []

    async def write_attribute_value(self, nid: ua.NodeId, dv: ua.DataValue) -> None:
        self.writes.append((nid, dv))


def _follower() -> tuple[ValueFollower, FakeServer, SignalTable]:
    table = SignalTable([SignalConfig(f"s{i}", DataType.FLOAT, 0.0) for i in range(3)])
    server = FakeServer()
    nodes = {i: ua.NodeId(f"s{i}", 2) for i in range(2)}  # s2 is not served
    follower = ValueFollower(server, table, nodes, {i: ua.VariantType.Double for i in nodes})  # type: ignore[arg-type]
    return follower, server, table


def _event(slot_values: dict[int, float], ts: float) -> SignalsChanged:
    return SignalsChanged(Owner.group("default"), slots=tuple(slot_values), values=tuple(slot_values.values()),
                          qualities=(0,) * len(slot_values), timestamp=ts)


def test_a_batch_writes_the_last_value_of_each_served_signal_once() -> None:
    follower, server, _ = _follower()

    async def go() -> None:
        await follower.start()
        server.writes.clear()
        follower.listener(_event({0: 1.0, 1: 10.0, 2: 99.0}, 100.0))
        follower.listener(_event({0: 2.0}, 101.0))
        follower.listener(_event({0: 3.0}, 102.0))
        while follower.batches < 2:
            await asyncio.sleep(0.001)
        follower.stop()

    run_apart(go())
    written = {nid.Identifier: (dv.Value.Value, dv.SourceTimestamp.timestamp()) for nid, dv in server.writes}
    assert written == {"s0": (3.0, 102.0), "s1": (10.0, 100.0)}
    assert len(server.writes) == 2


def test_a_starved_loop_drops_old_events_and_rereads_the_table(monkeypatch: Any) -> None:
    monkeypatch.setattr(values, "MAX_EVENTS", 5)
    follower, _, table = _follower()
    for i in range(20):  # no loop yet: nothing is woken, the events wait
        follower.listener(_event({0: float(i)}, float(i)))
    assert follower.pending_count() == 5 and follower.dropped == 15
    table.values[0], table.values[1] = 19.0, 7.0
    batch, resync = follower._take()
    assert resync and batch[0][0] == 19.0 and batch[1][0] == 7.0
    assert follower.pending_count() == 0
