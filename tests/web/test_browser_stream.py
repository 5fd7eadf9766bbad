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


COUNT_PAINTS = """(ms) => new Promise((done) => {
    const value = document.querySelector('[data-test="signal-row"][data-name="count"] [data-test="signal-value"]');
    let paints = 0;
    const observer = new MutationObserver(() => { paints += 1; });
    observer.observe(value, {subtree: true, childList: true, characterData: true});
    setTimeout(() => { observer.disconnect(); done(paints); }, ms);
})"""
"""How often, in `ms`, the page repaints `count` (which the plant changes every 50 ms scan)."""

HIDE = """() => {
    Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
    Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
    document.dispatchEvent(new Event('visibilitychange'));
}"""
"""What the browser does when the tab goes to the background (a headless page is never hidden by itself)."""


def test_a_tab_in_the_background_applies_the_streams_changes_at_most_once_a_second(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "vera", path="/#/signals?q=count")
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "live")
    expect(page.locator('[data-test="signal-row"][data-name="count"]').get_by_test_id("signal-value")).to_be_visible()
    visible = page.evaluate(COUNT_PAINTS, 1000)
    page.evaluate(HIDE)
    hidden = page.evaluate(COUNT_PAINTS, 2500)
    assert visible >= 5, visible  # the server batches every 100 ms: ~10 a second, frame by frame (measured 10)
    assert 1 <= hidden <= 3, hidden  # once a second in the background, and still live (measured 2)
