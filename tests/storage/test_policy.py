"""The recording policy: on change with deadband, min/max interval, per-signal overrides."""

from __future__ import annotations

from petra.config.model import SignalConfig
from petra.messages import Change
from petra.signals import SignalTable
from petra.storage.policy import Recorder, policies_for
from petra.storage.settings import HistoryPolicy
from petra.values import DataType, Quality
from tests.helpers import plant_config


def _recorder(default: HistoryPolicy, **history: object) -> Recorder:
    specs = [SignalConfig("t", DataType.FLOAT, 0.0, history=history.get("t")),
             SignalConfig("b", DataType.BOOL, False, history=history.get("b"))]
    table = SignalTable(specs)
    return Recorder(table, policies_for(table, default))


def _offer(rec: Recorder, slot: int, value: object, at: float, quality: Quality = Quality.GOOD) -> list:
    out: list = []
    rec.offer([Change(slot, rec.table.names[slot], value, quality, at)], out)
    return out


def test_deadband_compares_with_the_last_stored_value_and_quality_changes_always_count() -> None:
    rec = _recorder(HistoryPolicy(deadband=0.5, max_interval_ms=0))
    assert _offer(rec, 0, 1.0, 1.0)
    assert not _offer(rec, 0, 1.4, 2.0)
    assert not _offer(rec, 0, 1.5, 3.0)
    assert _offer(rec, 0, 1.6, 4.0) == [(4.0, "t", 1.6, 0)]
    assert _offer(rec, 0, 1.6, 5.0, Quality.BAD) == [(5.0, "t", 1.6, 2)]
    assert _offer(rec, 1, True, 5.0), "bool: any change"


def test_min_interval_holds_the_latest_change_and_stores_it_when_due() -> None:
    rec = _recorder(HistoryPolicy(min_interval_ms=1000, max_interval_ms=0))
    assert _offer(rec, 0, 1.0, 10.0)
    assert not _offer(rec, 0, 2.0, 10.2)
    assert not _offer(rec, 0, 3.0, 10.5)
    out: list = []
    rec.due(10.9, out)
    assert out == []
    rec.due(11.0, out)
    assert out == [(10.5, "t", 3.0, 0)]


def test_max_interval_leaves_a_heartbeat_of_a_flat_signal() -> None:
    rec = _recorder(HistoryPolicy(max_interval_ms=2000))
    assert _offer(rec, 0, 5.0, 100.0)
    out: list = []
    rec.due(101.0, out)
    assert [s[1] for s in out] == ["b"]  # b was never stored
    out.clear()
    rec.due(102.0, out)
    assert out == [(102.0, "t", 0.0, 0)], "the table's current value, stamped now"


def test_per_signal_history_overrides_the_default_and_false_disables_recording() -> None:
    rec = _recorder(HistoryPolicy(deadband=10.0, max_interval_ms=0), t={"deadband": 0.0}, b=False)
    assert _offer(rec, 0, 1.0, 1.0) and _offer(rec, 0, 1.1, 2.0)
    assert not _offer(rec, 1, True, 3.0)
    out: list = []
    rec.snapshot(4.0, out)
    assert [s[1] for s in out] == ["t"], "b is not recorded; t differs from what was last stored"


def test_history_key_on_signals_is_accepted_by_the_config() -> None:
    config = plant_config({"signals": [{"name": "x", "type": "float", "history": {"deadband": 0.2}},
                                       {"name": "y", "type": "int", "history": False}],
                           "storage": {"history": {"deadband": 1.0}}})
    assert config.signal("x").history == {"deadband": 0.2}
    assert config.signal("y").history is False
    assert HistoryPolicy(deadband=1.0).merged(config.signal("x").history).deadband == 0.2
