"""The WAL never dies of a value, and when it does fail it restarts into a WAL that records again."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from petra.ctl.client import ControlClient, Refused, Target
from petra.messages import Change, SignalsChanged, SignalUpdate, UpdateSignals
from petra.runtime import Runtime
from petra.storage.rows import concat_rows, decode_block, to_rows
from petra.values import Quality
from supervision import Inject
from tests.helpers import wait_until
from tests.storage.conftest import metric, ramp_config, start_runtime, wal_proxy

TOO_BIG = 2**70


@pytest.fixture
def runtime(tmp_path: Path):
    data = ramp_config(tmp_path, {}, generators=1, scan_ms=50)
    data["signals"].append({"name": "counter", "type": "int", "initial": 0})
    runtime = start_runtime(data)
    try:
        yield runtime
    finally:
        runtime.stop()


def _recorded(runtime: Runtime, after: int, signal: str) -> list[tuple[Any, str]]:
    """(value, quality) of every sample of `signal` the WAL acknowledged after sequence `after`."""
    blocks = wal_proxy(runtime).read(after, 100000).get(timeout=5)
    rows = concat_rows(to_rows(decode_block(b.payload), b.first_seq) for b in blocks)
    rows = rows.filter(rows.column("seq").to_numpy() > after)
    return [(r["value_int"], r["quality"]) for r in rows.to_pylist() if r["signal"] == signal]


def _write(runtime: Runtime, name: str, value: Any) -> list[str]:
    group = runtime.tree.lookup("petra/core/signals/default")
    return group.ask(UpdateSignals((SignalUpdate(name, value),), "test"), timeout=5)


def _wal_node(runtime: Runtime):
    return runtime.tree.tree().find("petra/storage/wal")


def _records_again(runtime: Runtime, value: int) -> None:
    head = wal_proxy(runtime).flush().get(timeout=5)
    assert _write(runtime, "counter", value) == []
    wait_until(lambda: (value, "good") in _recorded(runtime, head, "counter"), timeout=10)


def test_an_int_beyond_64_bits_is_refused_at_every_door_and_the_wal_keeps_recording(runtime, tmp_path) -> None:
    client = ControlClient(Target(socket_path=tmp_path / "control.sock"))
    with pytest.raises(Refused) as refused:
        client.request("PUT", "/v1/signals/counter", {"value": 2**63})  # valid JSON, one past int64
    assert refused.value.status == 422 and "outside the int range" in str(refused.value)
    # a driver's batch goes through the same door: refused, the signal marked bad
    errors = _write(runtime, "counter", TOO_BIG)
    assert errors and "outside the int range" in errors[0]
    assert runtime.plant.table.read("counter").quality is Quality.BAD
    _records_again(runtime, 7)
    assert _wal_node(runtime).restarts == 0


def test_a_value_the_wal_cannot_store_is_recorded_as_bad_and_counted(runtime) -> None:
    """A writer that bypassed the door (a block's int arithmetic, a plug-in) must not kill the WAL."""
    head = wal_proxy(runtime).flush().get(timeout=5)
    slot = runtime.plant.table.index["counter"]
    change = Change(slot, "counter", TOO_BIG, Quality.GOOD, time.time())
    runtime.plant.bus.publish(SignalsChanged("rogue", (change,)))
    wait_until(lambda: (None, "bad") in _recorded(runtime, head, "counter"), timeout=10)
    assert metric(runtime, "petra_wal_unstorable_samples_total") == 1
    _records_again(runtime, 8)
    assert _wal_node(runtime).restarts == 0


@pytest.mark.parametrize("fault", ["crash", "raise-on-next"])
def test_the_wal_restarts_after_a_failure_and_records_again(runtime, fault) -> None:
    before = _wal_node(runtime).restarts
    runtime.tree.lookup("petra/storage/wal").tell(Inject(fault))
    if fault == "raise-on-next":  # the next told message fails: the WAL's own drain after a change
        _write(runtime, "counter", 5)
    wait_until(lambda: _wal_node(runtime).restarts == before + 1 and _wal_node(runtime).state == "running",
               timeout=10)
    _records_again(runtime, 9)
    assert _wal_node(runtime).restarts == before + 1, _wal_node(runtime).last_error
