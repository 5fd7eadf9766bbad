"""The trend ring: a plant without storage answers GET /v1/history from memory, in the history's JSON shape."""

from __future__ import annotations

import subprocess
import sys

from petra.config.model import SignalConfig
from petra.signals import SignalTable
from petra.values import DataType
from petra.web.ring import TrendRing
from tests.helpers import wait_until
from tests.security.cheap_hashes import cheap_hashes as cheap_hashes
from tests.web.web_support import serving


def table() -> SignalTable:
    return SignalTable([SignalConfig("t", DataType.FLOAT, 0.0), SignalConfig("b", DataType.BOOL, False),
                        SignalConfig("s", DataType.STRING, "")])


def change(signals: SignalTable, ts: float, **values: object) -> None:
    """What an owner does: the value and its timestamp in the table."""
    for name, value in values.items():
        slot = signals.index[name]
        signals.values[slot], signals.timestamps[slot] = value, ts  # type: ignore[assignment]


def test_one_point_per_second_the_last_value_kept_and_only_the_newest_points():
    signals = table()
    ring = TrendRing(signals, 3)
    assert ring.sample() == 0  # the first sample notes the timestamps: nothing held yet
    assert [r["value_float"] for r in ring.history("t", None, None, 10)["rows"]] == [0.0]  # the table's value
    assert ring.sample() == 0  # nothing changed since
    for ts, value in [(100.1, 1.0), (100.9, 2.0), (101.5, 3.0), (102.0, 4.0), (103.2, 5.0)]:
        change(signals, ts, t=value, s="x")
        ring.sample()
    body = ring.history("t", None, None, 1000)
    assert [(r["ts"], r["value_float"]) for r in body["rows"]] == [(101.5, 3.0), (102.0, 4.0), (103.2, 5.0)]
    assert body["source"] == "ring" and body["rows"][0]["value_type"] == "float"
    assert ring.history("s", None, None, 10)["rows"] == []  # strings are not trended


def test_a_sample_in_slices_takes_what_one_whole_sample_takes():
    specs = [SignalConfig(f"x{i}", DataType.FLOAT, 0.0) for i in range(45)]
    whole, sliced = TrendRing(SignalTable(specs), 10), TrendRing(SignalTable(specs), 10)
    whole.sample()
    for part in range(20):
        sliced.sample(part, 20)
    for ring in (whole, sliced):
        for i in range(45):
            change(ring.table, 200.0 + i % 3, **{f"x{i}": float(i)})
    assert whole.sample() == 45
    assert sum(sliced.sample(part, 20) for part in range(20)) == 45  # each signal in exactly one slice
    assert all(whole.history(f"x{i}", None, None, 10) == sliced.history(f"x{i}", None, None, 10) for i in range(45))
    assert sliced.sample(3, 20) == 0  # a slice sampled again: nothing changed since


def test_more_points_than_asked_come_as_buckets_with_min_max_mean_last_count():
    signals = table()
    ring = TrendRing(signals, 100)
    ring.sample()
    for i in range(10):
        change(signals, 1000.0 + i, t=float(i), b=i % 2 == 0)
        ring.sample()
    rows = ring.history("t", 1000.0, 1010.0, 2)["rows"]
    assert rows == [{"ts": 1000.0, "min": 0.0, "max": 4.0, "mean": 2.0, "last": 4.0, "count": 5},
                    {"ts": 1005.0, "min": 5.0, "max": 9.0, "mean": 7.0, "last": 9.0, "count": 5}]
    assert [r["value_bool"] for r in ring.history("b", 1008.0, None, 10)["rows"]] == [True, False]


def test_a_plant_without_storage_shows_its_last_points_through_get_history_without_pyarrow(tmp_path):
    with serving(tmp_path) as web:
        vera = web.login("vera")
        wait_until(lambda: len(vera.get("/v1/history?signal=count")[1]["rows"]) >= 3, timeout=15)
        status, body = vera.get("/v1/history?signal=count")
        assert status == 200 and body["signal"] == "count" and body["source"] == "ring"
        times = [r["ts"] for r in body["rows"]]
        assert times == sorted(times) and len({int(t) for t in times}) == len(times)  # one point a second
        values = [r["value_int"] for r in body["rows"]]
        assert values == sorted(values)
        status, body = vera.get("/v1/history?signal=count&max_points=1")
        assert status == 200 and body["rows"][0]["count"] >= 3
        for query, code in [("", 400), ("signal=count&max_points=0", 400), ("signal=count&since=nan", 400),
                            ("signal=count&since=10&until=5", 400), ("signal=nope", 404)]:
            status, body = vera.get(f"/v1/history?{query}")
            assert status == code and body["error"], query


def test_the_web_section_loads_no_storage_library():
    code = ("import sys, petra.web.actor, petra.web.api, petra.web.app, petra.web.ring, petra.web.checks; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyarrow', 'lmdb', 'clickhouse_driver')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_trend_ring_points_0_turns_it_off(tmp_path):
    with serving(tmp_path, web={"trend_ring_points": 0}) as web:
        status, body = web.login("vera").get("/v1/history?signal=count")
        assert status == 404 and "web.trend_ring_points is 0" in body["error"]
