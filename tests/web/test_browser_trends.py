"""The Trends page in a real Chromium: the history first (the in-memory ring, or Parquet), then the live points."""

from __future__ import annotations

import csv
import datetime as dt
import time
from pathlib import Path

from playwright.sync_api import expect

from tests.helpers import wait_until
from tests.web.browser import Hmi, write_history

POINTS = "(n) => parseInt(document.querySelector('[data-test=\"trend-points\"]')?.textContent || '0') >= n"


def test_a_trend_shows_the_history_and_then_appends_live_points(hmi: Hmi, browser):
    def history() -> list[dict]:
        reply = hmi.call("GET", "/v1/history?signal=wave&max_points=1000", user="vera")
        assert reply.status == 200 and reply.body["source"] == "ring", reply.body
        return reply.body["rows"]

    held = wait_until(lambda: (rows := history()) and len(rows) >= 3 and rows, timeout=15)  # a point a second
    opened = time.time()
    page = hmi.page(browser)
    hmi.login(page, "vera", path="/#/trends?signals=wave&minutes=5")
    points = page.get_by_test_id("trend-points")
    page.wait_for_function(POINTS, arg=len(held))  # the count shows the history once its answer is drawn
    loaded = int(points.inner_text().split()[0])
    page.wait_for_function(POINTS, arg=loaded + 5)  # the stream's changes of wave, appended live
    expect(page.get_by_test_id("trend-error")).to_have_count(0)
    expect(page.get_by_test_id("trend-note")).to_have_count(0)
    hmi.screenshot(page, "trends")
    with page.expect_download() as download:
        page.get_by_test_id("trend-csv").click()
    with open(Path(download.value.path()), newline="") as handle:
        shown = list(csv.DictReader(handle))
    times = [dt.datetime.fromisoformat(row["time"].replace("Z", "+00:00")).timestamp() for row in shown]
    values = [float(row["wave"]) for row in shown if row["wave"]]
    assert min(times) <= held[0]["ts"] + 0.001 and min(times) < opened  # the history is drawn...
    assert max(times) > opened + 0.2  # ...and what came after the page opened
    assert len(set(values)) > 3  # a moving sine, not a held line
    page.get_by_test_id("trend-pan-back").click()  # panning leaves live mode until asked back
    expect(page.get_by_test_id("trend-follow")).to_be_visible()
    page.get_by_test_id("trend-follow").click()
    expect(page.get_by_test_id("trend-follow")).to_be_hidden()
    with page.expect_download() as picture:
        page.get_by_test_id("trend-png").click()
    assert Path(picture.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def storage(directory: Path) -> dict:
    return {"storage": {"wal": {"wal_dir": str(directory / "wal")}, "local": {"data_dir": str(directory / "parquet")}}}


def test_a_trend_over_the_parquet_history_comes_downsampled_to_the_charts_width_then_goes_live(hmi_factory, browser):
    now = time.time()
    hours = [(now - 7200 + i, 20.0 + (i % 600) / 60.0) for i in range(7200)]  # 2 h at 1 s, a saw tooth 20..30
    hmi = hmi_factory(extra=storage, before_start=lambda d: write_history(d / "parquet", {"temperature": hours}))
    reply = hmi.call("GET", f"/v1/history?signal=temperature&since={now - 7200}&until={now}&max_points=500",
                     user="vera")
    assert reply.status == 200 and len(reply.body["rows"]) == 500 and "source" not in reply.body, reply.body
    page = hmi.page(browser)
    hmi.login(page, "vera", path="/#/trends?signals=temperature&minutes=480")
    points = page.get_by_test_id("trend-points")
    page.wait_for_function(POINTS, arg=100)  # live points may come first; the history's buckets then
    loaded = int(points.inner_text().split()[0])
    width = page.locator('[data-test="trend-chart"] canvas').first.evaluate("c => c.clientWidth")
    # at most four points a pixel (each bucket's first, min, max, last), not the 7,200 raw points
    assert 100 <= loaded <= 4 * (width + 2) and loaded < len(hours)
    expect(page.get_by_test_id("trend-note")).to_have_count(0)
    hmi.write("process", temperature=55.5)
    page.wait_for_function(POINTS, arg=loaded + 1)
    with page.expect_download() as download:
        page.get_by_test_id("trend-csv").click()
    with open(Path(download.value.path()), newline="") as handle:
        shown = list(csv.DictReader(handle))
    values = [float(row["temperature [°C]"]) for row in shown if row["temperature [°C]"]]
    assert 20.0 <= min(values) < 21.0 and 29.0 < max(v for v in values if v != 55.5) <= 30.0
    assert 55.5 in values


TOUCH_JS = """([kind, points]) => {
    const over = document.querySelector('[data-test="trend-chart"] .u-over');
    const box = over.getBoundingClientRect();
    const touches = points.map(([x, id]) => new Touch({identifier: id, target: over, clientX: box.left + x,
                                                      clientY: box.top + box.height / 2}));
    over.dispatchEvent(new TouchEvent(kind, {touches: kind === 'touchend' ? [] : touches, changedTouches: touches,
                                             bubbles: true, cancelable: true}));
}"""


def test_on_a_tablet_two_fingers_zoom_and_one_finger_pans_the_trend(hmi: Hmi, browser):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, has_touch=True, is_mobile=False)
    hmi.contexts.append(context)
    page = context.new_page()
    hmi.login(page, "vera", path="/#/trends?signals=wave&minutes=5")
    page.wait_for_function(POINTS, arg=2)
    chart = page.get_by_test_id("trend-chart")
    wait_until(lambda: chart.get_attribute("data-range") is not None, timeout=10)

    def shown() -> tuple[float, float]:
        low, high = (float(x) for x in chart.get_attribute("data-range").split(","))
        return low, high

    page.evaluate(TOUCH_JS, ["touchstart", [[300, 1], [500, 2]]])
    before = shown()
    page.evaluate(TOUCH_JS, ["touchmove", [[200, 1], [600, 2]]])  # fingers apart: twice the pixels per second
    page.evaluate(TOUCH_JS, ["touchend", [[200, 1], [600, 2]]])
    after = shown()
    assert abs((after[1] - after[0]) - (before[1] - before[0]) / 2) < 1.0, (before, after)
    expect(page.get_by_test_id("trend-follow")).to_be_visible()  # a gesture leaves live mode
    page.evaluate(TOUCH_JS, ["touchstart", [[400, 3]]])
    page.evaluate(TOUCH_JS, ["touchmove", [[600, 3]]])  # dragged right: back in time
    page.evaluate(TOUCH_JS, ["touchend", [[600, 3]]])
    panned = shown()
    assert panned[0] < after[0] and abs((panned[1] - panned[0]) - (after[1] - after[0])) < 0.01, (after, panned)
