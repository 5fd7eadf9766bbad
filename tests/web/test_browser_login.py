"""Logging in to the web HMI in a real Chromium: the form, the header, a refused login, an expired session."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from petra.security import user_changes
from petra.security.roles import Role
from tests.web.browser import PASSWORD, Hmi


def test_the_page_shows_its_login_form_and_after_a_login_the_header_names_the_user_and_role(hmi: Hmi, browser):
    page = hmi.page(browser)
    page.goto(hmi.base_url + "/")
    expect(page.get_by_test_id("login-form")).to_be_visible()
    expect(page.get_by_test_id("app-header")).to_be_hidden()
    hmi.screenshot(page, "login")
    page.get_by_test_id("login-user").fill("otto")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("user-name")).to_have_text(re.compile(r"\botto\b"))
    expect(page.get_by_test_id("user-role")).to_have_text(re.compile(r"\boperator\b"))
    expect(page.get_by_test_id("login-form")).to_be_hidden()
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "live")
    logins = hmi.audit_entries("auth.login")
    assert [entry["actor"] for entry in logins] == ["user:otto"]


def test_a_wrong_password_shows_the_servers_message_and_lets_nobody_in(hmi: Hmi, browser):
    page = hmi.page(browser)
    page.goto(hmi.base_url + "/")
    page.get_by_test_id("login-user").fill("otto")
    page.get_by_test_id("login-password").fill("not the password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text(re.compile("wrong user name or password"))
    expect(page.get_by_test_id("app-header")).to_be_hidden()
    assert not [c for c in page.context.cookies() if c["name"] == "petra_session"]
    assert [entry["details"]["reason"] for entry in hmi.audit_entries("auth.login_failed")] == ["wrong password"]


def test_an_expired_session_shows_the_login_form_and_after_it_the_page_the_user_was_on(hmi: Hmi, browser):
    page = hmi.page(browser)
    hmi.login(page, "otto", path="/#/signals")
    expect(page.get_by_test_id("page")).to_have_attribute("data-page", "signals")
    hmi.advance(31 * 60)  # security.session_timeout_minutes is 30
    # the user goes on to the alarms (the page may have met the 401 already: the login form then covers it)
    page.evaluate("location.hash = '#/alarms'")
    expect(page.get_by_test_id("login-form")).to_be_visible()
    expect(page.get_by_test_id("login-why")).not_to_be_empty()
    page.get_by_test_id("login-password").fill(PASSWORD)
    if not page.get_by_test_id("login-user").input_value():
        page.get_by_test_id("login-user").fill("otto")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("page")).to_have_attribute("data-page", "alarms")
    assert page.url.endswith("#/alarms")
    expect(page.get_by_test_id("stream-state")).to_have_attribute("data-state", "live")


def test_with_no_user_in_the_users_file_the_page_says_how_to_add_one_and_then_that_user_logs_in(hmi_factory,
                                                                                                  browser):
    hmi = hmi_factory(users={})
    page = hmi.page(browser)
    page.goto(hmi.base_url + "/")
    expect(page.get_by_test_id("login-form")).to_be_visible()
    expect(page.get_by_test_id("login-why")).to_contain_text("petra user add")
    hmi.screenshot(page, "login-no-users")
    user_changes.add_user(hmi.users_file, "otto", Role.OPERATOR, PASSWORD, lambda *a, **k: None, "uid:0")
    page.get_by_test_id("login-user").fill("otto")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()  # at once, no restart: a login looks at the users file again
    expect(page.get_by_test_id("user-name")).to_have_text(re.compile(r"\botto\b"))
