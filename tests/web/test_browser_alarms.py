"""The Alarms page in a real Chromium: an operator acknowledges, and the page and `petra-ctl alarms` agree."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

from playwright.sync_api import expect

from tests.web.browser import ROOT as REPO
from tests.web.browser import Hmi


def petra_ctl_alarms(hmi: Hmi) -> dict[str, dict]:
    """`petra-ctl --json alarms list` on the plant's control socket, as a real client: id -> view."""
    done = subprocess.run([sys.executable, "-m", "petra.ctl", "--socket", str(hmi.directory / "c.sock"),
                           "alarms", "list", "--json"], capture_output=True, text=True, timeout=30, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return {a["id"]: a for a in json.loads(done.stdout)["alarms"]}


def raised(hmi: Hmi, browser, user: str):
    """A page of `user` on the alarm list, and the row of vessel_hot once the plant has raised it."""
    page = hmi.page(browser)
    hmi.login(page, user, path="/#/alarms")
    expect(page.get_by_test_id("alarms-none")).to_be_visible()
    hmi.write("process", temperature=95.0)
    alarm = page.locator('[data-test="alarm-row"][data-id="vessel_hot"]')
    expect(alarm).to_have_attribute("data-state", "active_unacked")
    return page, alarm


def test_an_operator_acknowledges_an_alarm_and_the_list_and_petra_ctl_agree(hmi: Hmi, browser):
    page, alarm = raised(hmi, browser, "otto")
    expect(page.get_by_test_id("alarm-banner")).to_be_visible()
    expect(page.get_by_test_id("banner-text")).to_contain_text("Vessel hot")
    hmi.screenshot(page, "alarms")
    alarm.get_by_test_id("alarm-ack").click()
    page.get_by_test_id("dialog-field-comment").fill("seen on the HMI, checking the heater")
    page.get_by_test_id("dialog-submit").click()
    expect(alarm).to_have_attribute("data-state", "active_acked")
    expect(page.get_by_test_id("alarm-banner")).to_be_hidden()
    expect(page.get_by_test_id("alarms-history")).to_contain_text(re.compile(r"otto"))
    from_ctl = petra_ctl_alarms(hmi)["vessel_hot"]
    assert from_ctl["state"] == "active_acked" == alarm.get_attribute("data-state")
    assert from_ctl["acked_by"] == "session:otto"
    acks = hmi.audit_entries("alarm.ack")
    assert [(e["actor"], e["details"].get("reason")) for e in acks] == [
        ("session:otto", "seen on the HMI, checking the heater")]


def test_a_viewer_sees_the_alarm_but_no_acknowledge_and_the_api_refuses_one(hmi: Hmi, browser):
    page, alarm = raised(hmi, browser, "vera")
    expect(alarm.get_by_test_id("alarm-ack")).to_have_count(0)
    expect(alarm.get_by_test_id("alarm-shelve")).to_have_count(0)
    expect(page.get_by_test_id("alarm-ack")).to_have_count(0)
    expect(page.get_by_test_id("banner-ack")).to_have_count(0)
    refused = hmi.call("POST", "/v1/alarms/vessel_hot/ack", {"comment": "crafted"}, user="vera")
    assert refused.status == 403 and "operator" in refused.body["error"], refused.body
    assert petra_ctl_alarms(hmi)["vessel_hot"]["state"] == "active_unacked"


def test_an_operator_shelves_an_alarm_for_a_time_with_a_reason_and_petra_ctl_shows_it(hmi: Hmi, browser):
    page, alarm = raised(hmi, browser, "otto")
    alarm.get_by_test_id("alarm-shelve").click()
    page.get_by_test_id("dialog-field-minutes").fill("30")
    page.get_by_test_id("dialog-field-reason").fill("sensor being replaced")
    page.get_by_test_id("dialog-submit").click()
    expect(alarm).to_have_attribute("data-state", "shelved")
    expect(alarm.get_by_test_id("alarm-unshelve")).to_be_visible()
    expect(page.get_by_test_id("alarm-banner")).to_be_hidden()
    shelve = petra_ctl_alarms(hmi)["vessel_hot"]["shelve"]
    assert shelve["by"] == "session:otto" and shelve["reason"] == "sensor being replaced"
    assert 29 * 60 < shelve["until"] - time.time() <= 30 * 60
    alarm.get_by_test_id("alarm-unshelve").click()
    expect(alarm).not_to_have_attribute("data-state", "shelved")
    assert petra_ctl_alarms(hmi)["vessel_hot"]["shelve"] is None
