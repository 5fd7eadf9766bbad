"""A screen from `web.screens` in a real Chromium: every widget renders, follows its signal, writes by role."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.helpers import wait_until
from tests.web.browser import Hmi

WIDGETS = [
    {"type": "value", "signal": "temperature", "x": 0, "y": 0, "w": 3, "label": "Vessel"},
    {"type": "gauge", "signal": "temperature", "x": 3, "y": 0, "w": 3, "h": 2, "min": 0, "max": 100},
    {"type": "lamp", "signal": "pump_on", "x": 6, "y": 0, "w": 2, "color": "red", "label": "Pump"},
    {"type": "bar", "signal": "setpoint", "x": 8, "y": 0, "w": 4, "min": 0, "max": 120},
    {"type": "setpoint", "signal": "setpoint", "x": 0, "y": 1, "w": 3, "min": 0, "max": 120},
    {"type": "switch", "signal": "enable", "x": 6, "y": 1, "w": 3},
    {"type": "button", "signal": "pump_on", "x": 9, "y": 1, "w": 3, "value": True, "label": "Start pump"},
    {"type": "trend", "signals": ["temperature", "setpoint"], "x": 0, "y": 2, "w": 8, "h": 3, "minutes": 5},
    {"type": "alarms", "x": 8, "y": 2, "w": 4, "h": 3},
]
SCREEN = {"name": "vessel", "title": "Vessel", "columns": 12, "widgets": WIDGETS}
HMI_WEB = {"screens": [SCREEN]}
"""The `web:` keys the hmi fixture adds for this module."""


def widget(page, kind: str, signal: str):
    return page.locator(f'[data-test="widget"][data-type="{kind}"][data-signal="{signal}"]')


INK_JS = """(holder) => {
    const box = holder.parentElement;
    const layer = box.closest('[data-test="screen"]').querySelector('[data-test="value-layer"]');
    const r = box.getBoundingClientRect(), c = layer.getBoundingClientRect(), k = layer.width / c.width;
    const {data} = layer.getContext('2d').getImageData(Math.round((r.left - c.left) * k),
        Math.round((r.top - c.top) * k), Math.round(r.width * k), Math.round(r.height * k));
    let ink = 0, sum = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) { ink += 1; sum = (sum * 31 + i * data[i]) % 1000000007; }
    return {ink, sum};
}"""
"""The pixels the screen's value layer drew over a value's box: how many have ink, and a checksum of where."""


def test_a_screen_from_the_config_renders_each_widget_and_follows_its_signals(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "otto", path="/#/screen/vessel")
    expect(page.get_by_test_id("nav-screen-vessel")).to_have_text("Vessel")
    expect(page.get_by_test_id("widget")).to_have_count(len(WIDGETS))
    for kind in ("value", "gauge", "lamp", "bar", "setpoint", "switch", "button", "trend", "alarms"):
        expect(page.locator(f'[data-test="widget"][data-type="{kind}"]')).to_have_count(1)
    expect(widget(page, "value", "temperature").get_by_test_id("widget-label")).to_have_text("Vessel")
    value = widget(page, "value", "temperature").get_by_test_id("widget-value")
    expect(value).to_have_text(re.compile(r"^20.*°C"))
    # the value is drawn on the screen's value layer, over its box (the text above is kept for screen readers)
    before = wait_until(lambda: (ink := value.evaluate(INK_JS))["ink"] > 50 and ink)
    lamp = widget(page, "lamp", "pump_on").get_by_test_id("widget-lamp")
    expect(lamp).to_have_attribute("data-on", "false")
    hmi.write("default", pump_on=True)
    hmi.write("process", temperature=64.5)
    expect(lamp).to_have_attribute("data-on", "true")
    expect(value).to_have_text(re.compile(r"^64\.5"))
    wait_until(lambda: value.evaluate(INK_JS)["sum"] != before["sum"])  # and drawn
    hmi.write("process", temperature=95.0)  # the plant's alarm
    expect(widget(page, "alarms", "").locator('[data-test="alarm-row"][data-id="vessel_hot"]')).to_be_visible()
    hmi.screenshot(page, "screen")


def test_an_operator_writes_through_the_screens_controls_and_a_viewer_gets_none(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "otto", path="/#/screen/vessel")
    setpoint = widget(page, "setpoint", "setpoint")
    setpoint.get_by_test_id("widget-setpoint-input").fill("65")
    setpoint.get_by_test_id("widget-setpoint-set").click()
    wait_until(lambda: hmi.value("setpoint") == 65.0)
    expect(setpoint.get_by_test_id("widget-value")).to_have_text(re.compile(r"^65"))
    widget(page, "button", "pump_on").get_by_test_id("widget-button").click()
    wait_until(lambda: hmi.value("pump_on") is True)
    widget(page, "switch", "enable").get_by_test_id("widget-switch-off").click()
    wait_until(lambda: hmi.value("enable") is False)
    # the audit entry may land just after the value does
    wait_until(lambda: [e["actor"] for e in hmi.audit_entries("signal.set")] == ["session:otto"] * 3)

    viewer = hmi.page(browser)
    hmi.login(viewer, "vera", path="/#/screen/vessel")
    expect(viewer.get_by_test_id("widget")).to_have_count(len(WIDGETS))
    for control in ("widget-setpoint-set", "widget-setpoint-input", "widget-button", "widget-switch-on",
                    "widget-switch-off"):
        expect(viewer.get_by_test_id(control)).to_have_count(0)
    expect(viewer.get_by_test_id("widget-readonly")).to_have_count(3)
    expect(widget(viewer, "setpoint", "setpoint").get_by_test_id("widget-value")).to_have_text(re.compile(r"^65"))
