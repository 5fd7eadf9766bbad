"""Overview, Tree and Audit in a real Chromium, a screenshot of each, and the page on a tablet's viewport."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.browser import TABLET, Hmi


def test_the_overview_shows_the_plants_health_and_counts_an_alarm_by_priority(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "otto")
    expect(page.get_by_test_id("page")).to_have_attribute("data-page", "overview")
    expect(page.get_by_test_id("scan-work")).to_have_text(re.compile(r"\d"))
    expect(page.get_by_test_id("actors-down")).to_have_text("0")
    expect(page.get_by_test_id("alarms-critical")).to_have_text("0")
    hmi.write("process", temperature=95.0)
    expect(page.get_by_test_id("alarms-critical")).to_have_text("1")
    expect(page.get_by_test_id("alarms-unacked")).to_have_text("1")
    hmi.screenshot(page, "overview")


def test_the_tree_shows_every_actor_and_only_an_engineer_gets_restart(hmi: Hmi, browser):
    engineer = hmi.page(browser)
    hmi.login(engineer, "erin", path="/#/tree")
    web = engineer.locator('[data-test="tree-node"][data-path="petra/services/web"]')
    expect(web).to_have_attribute("data-state", "running")
    expect(web.get_by_test_id("node-restart")).to_be_visible()
    paths = engineer.locator('[data-test="tree-node"]').evaluate_all("nodes => nodes.map(n => n.dataset.path)")
    tree = hmi.call("GET", "/v1/tree", user="erin").body
    expected, stack = set(), [tree]
    while stack:
        node = stack.pop()
        expected.add(node["path"])
        stack.extend(node.get("children") or [])
    assert set(paths) == expected
    hmi.screenshot(engineer, "tree")
    operator = hmi.page(browser)
    hmi.login(operator, "otto", path="/#/tree")
    expect(operator.locator('[data-test="tree-node"][data-path="petra/services/web"]')).to_be_visible()
    expect(operator.get_by_test_id("node-restart")).to_have_count(0)
    expect(operator.get_by_test_id("node-inject")).to_have_count(0)


def test_an_admin_reads_the_audit_trail_and_an_operator_neither_sees_nor_gets_it(hmi: Hmi, browser):
    operator = hmi.page(browser)
    hmi.login(operator, "otto")
    expect(operator.get_by_test_id("nav-audit")).to_have_count(0)
    assert hmi.call("GET", "/v1/audit?limit=5", user="otto").status == 403
    admin = hmi.page(browser)
    hmi.login(admin, "ada", path="/#/audit")
    rows = admin.locator('[data-test="audit-row"][data-event="auth.login"]')
    expect(rows.first).to_be_visible()
    expect(admin.get_by_test_id("audit-table")).to_contain_text("otto")
    newest = admin.locator('[data-test="audit-row"]').first.get_attribute("data-seq")
    entries = hmi.call("GET", "/v1/audit?limit=1", user="ada").body["entries"]
    assert int(newest) <= entries[0]["seq"]  # newest first (the API call itself may be newer still)
    hmi.screenshot(admin, "audit")


def test_on_a_tablet_the_pages_fit_the_width_and_the_touch_targets_are_large(hmi: Hmi, browser):
    page = hmi.page(browser, viewport=TABLET)
    hmi.login(page, "otto", path="/#/signals")
    expect(page.locator('[data-test="signal-row"]').first).to_be_visible()
    for name in ("overview", "signals", "alarms", "tree"):
        page.evaluate(f"location.hash = '#/{name}'")
        expect(page.get_by_test_id("page")).to_have_attribute("data-page", name)
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow} px wider than the tablet"
    heights = page.locator("button:visible, [data-test=nav] a").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)")
    assert heights and min(heights) >= 40, heights  # touch targets (ISA-101 HMIs: large)
    hmi.screenshot(page, "tablet-tree")


def test_an_engineer_restarts_an_actor_from_the_tree(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "erin", path="/#/tree")
    gen = page.locator('[data-test="tree-node"][data-path="petra/core/logic/gen"]')
    expect(gen.get_by_test_id("node-restarts").first).to_have_text("restarts 0")
    gen.get_by_test_id("node-restart").first.click()
    page.get_by_test_id("dialog-submit").click()
    expect(gen.get_by_test_id("node-restarts").first).to_have_text("restarts 1")
    assert [e["details"]["path"] for e in hmi.audit_entries("actor.restart")] == ["petra/core/logic/gen"]
