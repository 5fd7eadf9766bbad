"""GET /v1/trend: a chart's signals in one request, columnar, downsampled per pixel so that spikes stay."""

from __future__ import annotations

import math
import time

from petra.web.trend import m4, parquet_trend, ring_trend
from tests.helpers import wait_until
from tests.security.cheap_hashes import cheap_hashes as cheap_hashes
from tests.web.browser import write_history
from tests.web.web_support import serving

HOUR = 3600.0


def series(start: float, spike_at: int | None = None, k: int = 0) -> list[tuple[float, float]]:
    points = [(start + i, 20.0 + math.sin(i / 300.0 + k)) for i in range(int(HOUR))]
    if spike_at is not None:
        points[spike_at] = (points[spike_at][0], 99.0)
    return points


def test_one_scan_gives_every_signal_in_pixel_buckets_with_a_one_second_spike_kept(tmp_path):
    start = 1_780_000_000.0
    write_history(tmp_path, {"a": series(start, spike_at=1234), "b": series(start, k=1), "other": series(start)})
    found = parquet_trend(tmp_path, ["a", "b", "none"], start, start + HOUR, 100)
    assert set(found) == {"a", "b", "none"}
    t, v, rows = found["a"]
    assert rows == 3600 and max(v) == 99.0  # 36 points a bucket, and the spike is drawn
    assert t == sorted(t) and t[0] == 0 and t[-1] == (HOUR - 1) * 1e6  # microseconds after since
    assert len(t) == len(v) <= 4 * 100
    assert min(found["b"][1]) >= 19.0 and max(found["b"][1]) <= 21.0 and found["b"][2] == 3600
    assert found["none"] == ([], [], 0)
    # a range that holds fewer points than the chart has pixels: the raw points themselves
    t, v, rows = parquet_trend(tmp_path, ["a"], start + 1230, start + 1240, 100)["a"]
    assert rows == 10 and t == [i * 1_000_000 for i in range(10)]
    assert v == [p[1] for p in series(start, spike_at=1234)[1230:1240]]


def test_m4_draws_first_min_max_last_of_each_bucket_in_the_order_they_are_met():
    # a bucket going up (first near its minimum) and one going down (first near its maximum)
    t, v = m4([0, 10], [9, 19], [1.0, 9.0], [0.0, 1.0], [10.0, 10.0], [9.0, 2.0], [10, 10])
    assert t == [0, 4, 4, 9, 10, 14, 14, 19]
    assert v == [1.0, 0.0, 10.0, 9.0, 9.0, 10.0, 1.0, 2.0]
    # a rising bucket is its first and last; a flat one its first; one that goes up and back down three
    assert m4([0], [10], [1.0], [1.0], [5.0], [5.0], [6]) == ([0, 10], [1.0, 5.0])
    assert m4([0], [10], [1.0], [1.0], [1.0], [1.0], [6]) == ([0], [1.0])
    assert m4([0], [10], [1.0], [1.0], [5.0], [1.0], [6]) == ([0, 5, 10], [1.0, 5.0, 1.0])
    assert m4([5], [5], [3.0], [3.0], [3.0], [3.0], [1]) == ([5], [3.0])
    assert m4([5], [6], [3.0], [3.0], [4.0], [4.0], [2]) == ([5, 6], [3.0, 4.0])


def test_the_ring_gives_the_same_shape():
    held = [(1000.0 + i, float(i % 7), 0) for i in range(100)] + [(1100.0, math.nan, 0)]
    t, v, rows = ring_trend(held, 1000.0, 1100.0, 10)
    assert rows == 100 and min(v) == 0.0 and max(v) == 6.0 and t == sorted(t) and len(t) <= 40
    assert ring_trend(held, 1010.0, 1013.0, 10) == ([0, 1_000_000, 2_000_000], [3.0, 4.0, 5.0], 3)


def test_get_trend_answers_from_the_ring_and_refuses_malformed_queries(tmp_path):
    with serving(tmp_path) as web:
        vera = web.login("vera")
        now = time.time()
        query = f"/v1/trend?signals=count,wave&since={now - 600}&until={now + 600}&points=300"
        wait_until(lambda: len(vera.get(query)[1]["signals"]["count"]["t_us"]) >= 3, timeout=15)
        status, body = vera.get(query)
        assert status == 200 and body["source"] == "ring" and body["points"] == 300
        assert set(body["signals"]) == {"count", "wave"}
        count = body["signals"]["count"]
        assert count["t_us"] == sorted(count["t_us"]) and len(count["t_us"]) == len(count["v"]) >= 3
        assert count["rows"] >= 3 and all(isinstance(t, int) for t in count["t_us"])
        assert count["v"] == sorted(count["v"])  # a counter
        for bad, code in [("", 400), ("signals=count", 400), (f"signals=count&since={now}&until={now - 1}", 400),
                          (f"signals=count&since={now}&until={now + 1}&points=0", 400),
                          (f"signals=count&since=nan&until={now}", 400),
                          (f"signals=count,count&since={now}&until={now + 1}", 400),
                          (f"signals=count,nope&since={now}&until={now + 1}", 404)]:
            status, body = vera.get(f"/v1/trend?{bad}")
            assert status == code and body["error"], bad
        assert "nope" in vera.get(f"/v1/trend?signals=nope&since={now}&until={now + 1}")[1]["error"]
