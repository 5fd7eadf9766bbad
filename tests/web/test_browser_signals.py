"""The Signals page in a real Chromium: live values without a reload, write controls by role, refusals shown."""

from __future__ import annotations

import re

import yaml
from playwright.sync_api import expect

from tests.web.browser import Hmi


def row(page, name: str):
    return page.locator(f'[data-test="signal-row"][data-name="{name}"]')


def test_a_value_the_plant_changes_shows_on_the_signals_page_without_a_reload(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "vera", path="/#/signals?q=temp")
    value = row(page, "temperature").get_by_test_id("signal-value")
    expect(value).to_have_text(re.compile(r"^20(\.0+)?\s*°C$"))
    page.evaluate("window.__same_document = true")  # gone if the page reloads
    hmi.write("process", temperature=42.5)
    expect(value).to_have_text(re.compile(r"^42\.50*\s*°C$"))
    expect(row(page, "temperature").get_by_test_id("signal-quality")).to_have_text("good")
    assert page.evaluate("window.__same_document") is True
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "live")
    page.get_by_test_id("signals-filter").fill("")
    expect(row(page, "count")).to_be_visible()
    hmi.screenshot(page, "signals")


def test_a_viewer_sees_no_write_controls_and_the_api_refuses_the_write_the_page_would_not_offer(hmi: Hmi, browser):
    operator = hmi.page(browser)
    hmi.login(operator, "otto", path="/#/signals?q=setpoint")
    expect(row(operator, "setpoint").get_by_test_id("signal-write")).to_be_visible()  # the control exists
    viewer = hmi.page(browser)
    hmi.login(viewer, "vera", path="/#/signals?q=setpoint")
    expect(row(viewer, "setpoint").get_by_test_id("signal-value")).to_have_text(re.compile(r"^50"))
    expect(viewer.get_by_test_id("signal-write")).to_have_count(0)
    expect(viewer.get_by_test_id("signal-force")).to_have_count(0)
    crafted = viewer.evaluate("""async () => {
        const session = await (await fetch('/v1/session')).json();
        const answer = await fetch('/v1/signals/setpoint', {method: 'PUT',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf},
            body: JSON.stringify({value: 99})});
        return {status: answer.status, body: await answer.json()};
    }""")
    assert crafted["status"] == 403 and "operator" in crafted["body"]["error"], crafted
    assert hmi.value("setpoint") == 50.0
    denied = hmi.audit_entries("access.denied")
    assert [e["actor"] for e in denied] == ["session:vera"]


def test_a_write_the_server_refuses_shows_its_message_in_the_dialog(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "otto", path="/#/signals?q=*")
    expect(row(page, "setpoint").get_by_test_id("signal-write")).to_be_visible()
    expect(row(page, "locked").get_by_test_id("signal-write")).to_have_count(0)  # writable: false: no control
    expect(row(page, "wave").get_by_test_id("signal-write")).to_have_count(0)  # computed by logic: none either
    row(page, "setpoint").get_by_test_id("signal-write").click()
    page.get_by_test_id("dialog-field-value").fill("55")
    # while the dialog is open, an engineer's reload takes the operator's right away
    plant = yaml.safe_load(hmi.config_path.read_text())
    for signal in plant["signals"]:
        if signal["name"] == "setpoint":
            signal["writable_by"] = "engineer"
    hmi.config_path.write_text(yaml.safe_dump(plant, sort_keys=False, allow_unicode=True))
    reload = hmi.call("POST", "/v1/reload", user="erin")
    assert reload.status == 200, reload.body
    page.get_by_test_id("dialog-submit").click()
    refusal = hmi.call("PUT", "/v1/signals/setpoint", {"value": 55}, user="otto")
    assert refusal.status == 403, refusal.body
    expect(page.get_by_test_id("dialog-error")).to_have_text(refusal.body["error"])
    assert hmi.value("setpoint") == 50.0
    hmi.screenshot(page, "signals-write-refused")


def test_an_engineer_forces_a_signal_with_a_reason_and_releases_it(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "erin", path="/#/signals?q=count")
    count = row(page, "count")
    expect(count.get_by_test_id("signal-write")).to_have_count(0)  # computed by logic: force, not write
    count.get_by_test_id("signal-force").click()
    page.get_by_test_id("dialog-field-value").fill("7")
    page.get_by_test_id("dialog-field-reason").fill("loop test, J. Doe")
    page.get_by_test_id("dialog-submit").click()
    expect(count.get_by_test_id("signal-value")).to_have_text(re.compile(r"^7\b"))
    expect(count.get_by_test_id("signal-unforce")).to_be_visible()
    assert hmi.value("count") == 7
    forced = hmi.audit_entries("signal.force")
    assert [(e["actor"], e["details"]["reason"]) for e in forced] == [("session:erin", "loop test, J. Doe")]
    count.get_by_test_id("signal-unforce").click()
    page.get_by_test_id("dialog-submit").click()
    expect(count.get_by_test_id("signal-force")).to_be_visible()
    expect(count.get_by_test_id("signal-value")).not_to_have_text(re.compile(r"^7\b"))  # the generator again
    assert [e["actor"] for e in hmi.audit_entries("signal.unforce")] == ["session:erin"]


def test_a_force_from_elsewhere_shows_forced_live_and_its_release_too(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "erin", path="/#/signals?q=count")
    count = row(page, "count")
    expect(count.get_by_test_id("signal-force")).to_be_visible()
    forced = hmi.call("POST", "/v1/signals/count/force", {"value": 3, "reason": "from petra-ctl"}, user="ada")
    assert forced.status == 200
    expect(count.locator(".forced-mark")).to_have_text("forced")  # the stream said so: no reload, no click
    expect(count.get_by_test_id("signal-unforce")).to_be_visible()
    expect(count.get_by_test_id("signal-value")).to_have_text(re.compile(r"^3\b"))
    assert hmi.call("DELETE", "/v1/signals/count/force", {"reason": "done"}, user="ada").status == 200
    expect(count.locator(".forced-mark")).to_have_count(0)
    expect(count.get_by_test_id("signal-force")).to_be_visible()


def test_clicking_a_signal_opens_its_trend(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "vera", path="/#/signals?q=wave")
    row(page, "wave").click()
    popup = page.get_by_test_id("trend-popup")
    expect(popup).to_be_visible()
    expect(popup.get_by_test_id("trend-popup-chart").locator("canvas").first).to_be_visible()
    expect(popup.get_by_test_id("trend-popup-open")).to_have_attribute("href", re.compile(r"#/trends\?signals=wave"))
    hmi.screenshot(page, "signal-trend-popup")
    popup.get_by_test_id("trend-popup-close").click()
    expect(popup).to_be_hidden()
