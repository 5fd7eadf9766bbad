"""The tab's one event stream in a real Chromium: it resumes after a restart, showing "stale" meanwhile."""

from __future__ import annotations

import re
import subprocess
import sys

from playwright.sync_api import expect

from tests.web.browser import PASSWORD, ROOT, Hmi

RECORD_STATES = """() => {
    const el = document.querySelector('[data-test="stream-state"]');
    window.__states = [el.dataset.state];
    new MutationObserver(() => window.__states.push(el.dataset.state))
        .observe(el, {attributes: true, attributeFilter: ['data-state']});
    window.__same_document = true;
}"""
"""Every state the header's stream indicator shows from now on (a state held for less than a poll is kept)."""


def temperature(page):
    return page.locator('[data-test="signal-row"][data-name="temperature"]').get_by_test_id("signal-value")


def test_the_stream_resumes_after_the_web_service_restarts_and_shows_stale_meanwhile(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "erin", path="/#/signals?q=temperature")
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "live")
    expect(temperature(page)).to_have_text(re.compile(r"^20"))
    page.evaluate(RECORD_STATES)
    done = subprocess.run([sys.executable, "-m", "petra.ctl", "--socket", str(hmi.directory / "c.sock"),
                           "restart", "petra/services/web"], capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "live")
    states = page.evaluate("window.__states")
    assert "stale" in states and states[-1] == "live", states
    hmi.write("process", temperature=33.25)
    expect(temperature(page)).to_have_text(re.compile(r"^33\.25"))
    expect(page.get_by_test_id("login-form")).to_be_hidden()  # the session outlives the service's restart
    assert page.evaluate("window.__same_document") is True


def test_after_petra_restarts_the_page_asks_for_a_login_and_then_streams_on_the_same_page(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "otto", path="/#/signals?q=temperature")
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "live")
    page.evaluate(RECORD_STATES)
    hmi.restart()  # a new process would do the same: sessions live in memory, so this one has ended
    expect(page.get_by_test_id("login-form")).to_be_visible(timeout=20_000)
    assert "stale" in page.evaluate("window.__states")
    hmi.screenshot(page, "session-ended")
    if not page.get_by_test_id("login-user").input_value():
        page.get_by_test_id("login-user").fill("otto")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("page")).to_have_attribute("data-page", "signals")
    hmi.write("process", temperature=41.5)
    expect(temperature(page)).to_have_text(re.compile(r"^41\.5"))
    assert page.evaluate("window.__same_document") is True
