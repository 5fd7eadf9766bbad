"""Dashboards draw trends through the control API's history endpoint."""

from __future__ import annotations

from pathlib import Path

from petra.control.api import ControlApi, Request
from tests.helpers import wait_until
from tests.storage.conftest import ramp_config, start_runtime


def test_a_recorded_signal_is_queryable_as_a_downsampled_trend(tmp_path: Path) -> None:
    runtime = start_runtime(ramp_config(tmp_path, {"strategy": "local_first"}))
    try:
        api = ControlApi(runtime)

        def recorded() -> list[dict]:
            raw = api.handle(Request("GET", "/v1/history", {"signal": "count0", "max_points": "100000"}))
            assert raw.status == 200
            return list(raw.body["rows"])

        # the rows written count every signal's: wait for this one's (its flushes come when they come)
        wait_until(lambda: len(recorded()) > 50, timeout=30)
        raw = api.handle(Request("GET", "/v1/history", {"signal": "count0", "max_points": "100000"}))
        counts = [row["value_int"] for row in raw.body["rows"]]
        assert counts == sorted(counts) and len(counts) > 50  # the counter, every change, in order
        # storage starts before the first scan, so the very first counts are recorded too
        assert counts[:3] == [0, 1, 2] or counts[:3] == [1, 2, 3]
        assert counts == list(range(counts[0], counts[0] + len(counts)))
        trend = api.handle(Request("GET", "/v1/history", {"signal": "count0", "max_points": "10"}))
        assert trend.status == 200 and 1 <= len(trend.body["rows"]) <= 10
        assert {"min", "max", "mean", "last", "count"} <= set(trend.body["rows"][0])
        assert api.handle(Request("GET", "/v1/history", {})).status == 400
    finally:
        runtime.stop()
