"""Logins over a real TLS listener: the session cookie, the same 401 for any wrong credentials, regressions."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from petra.security.roles import Role
from tests.control.access_support import PASSWORD, Served, serve
from tests.security.cheap_hashes import verify_calls as verify_calls


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    plant = serve(tmp_path, {"alice": Role.ADMIN, "bob": Role.OPERATOR, "admin": Role.ADMIN})
    yield plant
    plant.stop()


def test_a_login_sets_an_httponly_strict_secure_session_cookie_and_the_session_acts_as_the_user(served):
    reply = served.login("bob")
    assert reply.status == 200
    assert reply.body["user"] == "bob" and reply.body["role"] == "operator" and len(reply.body["csrf"]) >= 40
    cookie = reply.cookie()
    assert cookie["httponly"] is True and cookie["secure"] is True
    assert cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert cookie["max-age"] == str(12 * 3600)  # security.session_max_hours' default
    assert len(cookie["value"]) >= 40 and cookie["value"] != reply.body["csrf"]
    who = served.call("GET", "/v1/session", session=cookie["value"])
    assert who.status == 200
    assert who.body["name"] == "session:bob" and who.body["via"] == "session"
    assert who.body["csrf"] == reply.body["csrf"]
    assert served.call("GET", "/v1/tree", session=cookie["value"]).status == 200
    write = served.call("PUT", "/v1/signals/setpoint", {"value": 57}, session=cookie["value"],
                        csrf=reply.body["csrf"])
    assert write.status == 200 and write.body["value"] == 57.0
    assert served.call("POST", "/v1/reload", session=cookie["value"], csrf=reply.body["csrf"]).status == 403
    logins = served.audit_entries("auth.login")
    assert logins[-1]["actor"] == "user:bob" and logins[-1]["details"]["address"] == "127.0.0.1"
    assert served.audit_entries("signal.set")[-1]["actor"] == "session:bob"


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer_after_one_verify_each(served, verify_calls):
    wrong_password = served.login("bob", "not the password")
    verifies_for_known = len(verify_calls)
    unknown_user = served.login("nobody-here", "not the password")
    assert wrong_password.status == unknown_user.status == 401
    assert wrong_password.body == unknown_user.body == {"error": "wrong user name or password"}
    assert "Set-Cookie" not in wrong_password.headers and "Set-Cookie" not in unknown_user.headers
    assert verifies_for_known == 1 and len(verify_calls) == 2  # one Argon2id verify either way
    failures = served.audit_entries("auth.login_failed")
    assert [f["details"]["reason"] for f in failures] == ["wrong password", "no such user"]


def test_regression_admin_with_a_wrong_password_is_refused(served):
    for password in ("", "admin", "password", PASSWORD + "x"):
        reply = served.login("admin", password)
        assert reply.status in (400, 401), reply.body  # an empty password is a malformed login
        assert "Set-Cookie" not in reply.headers
    assert served.login("admin").status == 200


def test_a_login_needs_a_user_and_a_password(served):
    for body in ({}, {"user": "bob"}, {"password": PASSWORD}, {"user": 1, "password": PASSWORD}):
        reply = served.call("POST", "/v1/login", body)
        assert reply.status == 400 and "user" in reply.body["error"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_login_posted_as_a_form_is_refused_so_another_site_cannot_log_a_browser_in(served, content_type):
    reply = served.call("POST", "/v1/login", {"user": "bob", "password": PASSWORD},
                        headers={"Content-Type": content_type})
    assert reply.status == 415 and "Set-Cookie" not in reply.headers
    assert not served.audit_entries("auth.login")


def test_the_cookie_is_not_secure_over_plain_http(tmp_path):
    plant = serve(tmp_path, {"bob": Role.OPERATOR}, tls=False)
    try:
        reply = plant.login("bob")
        assert reply.status == 200
        cookie = reply.cookie()
        assert cookie["secure"] == "" and cookie["httponly"] is True and cookie["samesite"] == "Strict"
    finally:
        plant.stop()


def test_logout_ends_the_session_and_clears_the_cookie(served):
    cookie, csrf = served.session("bob")
    reply = served.call("POST", "/v1/logout", session=cookie, csrf=csrf)
    assert reply.status == 200 and reply.body == {"logged_out": "bob"}
    cleared = reply.cookie()
    assert cleared["value"] == "" and cleared["max-age"] == "0"
    after = served.call("GET", "/v1/status", session=cookie)
    assert after.status == 401 and "log in again" in after.body["error"]
    assert served.audit_entries("auth.logout")[-1]["details"]["user"] == "bob"


def test_a_bearer_caller_has_no_session_to_log_out(tmp_path):
    plant = serve(tmp_path, tokens=[{"name": "ops", "token": "ops-token-0123456789", "role": "viewer"}])
    try:
        reply = plant.call("POST", "/v1/logout", token="ops-token-0123456789")
        assert reply.status == 400 and "not a session" in reply.body["error"]
        who = plant.call("GET", "/v1/session", token="ops-token-0123456789")
        assert who.body == {"name": "token:ops", "user": None, "role": "viewer", "via": "token"}
    finally:
        plant.stop()


def test_regression_a_plant_with_no_users_and_no_tokens_has_no_way_in_over_tcp(tmp_path):
    plant = serve(tmp_path, {})
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", plant.port), timeout=5).close()
        assert plant.runtime.plant.table.read("setpoint").value == 50.0
    finally:
        plant.stop()


def test_anonymous_viewer_reads_but_cannot_write_and_without_it_there_is_no_anonymous(tmp_path):
    plant = serve(tmp_path, {"bob": Role.OPERATOR}, security={"anonymous_viewer": True})
    try:
        assert plant.call("GET", "/v1/signals/setpoint").status == 200
        write = plant.call("PUT", "/v1/signals/setpoint", {"value": 1})
        assert write.status == 403 and "anonymous" in write.body["error"]
        assert plant.call("GET", "/v1/users").status == 403
        denied = plant.audit_entries("access.denied")
        assert denied[0]["actor"] == "anonymous:127.0.0.1"
    finally:
        plant.stop()
    (tmp_path / "closed").mkdir()
    closed = serve(tmp_path / "closed", {"bob": Role.OPERATOR})
    try:
        assert closed.call("GET", "/v1/signals/setpoint").status == 401
        assert closed.call("PUT", "/v1/signals/setpoint", {"value": 1}).status == 401
    finally:
        closed.stop()


def test_referer_origin_and_host_do_not_authenticate(served):
    forged = {"Referer": f"https://127.0.0.1:{served.port}/", "Origin": f"https://127.0.0.1:{served.port}",
              "Host": f"127.0.0.1:{served.port}", "X-Forwarded-For": "10.0.0.1", "X-Forwarded-User": "alice"}
    reply = served.call("PUT", "/v1/signals/setpoint", {"value": 2}, headers=forged)
    assert reply.status == 401
    assert served.runtime.plant.table.read("setpoint").value != 2.0


def test_the_response_of_a_login_is_never_cached_with_the_cookie(served):
    reply = served.login("bob")
    assert isinstance(reply.headers, http.client.HTTPMessage)
    assert reply.headers.get("Cache-Control") == "no-store"


def test_a_reload_that_turns_anonymous_viewer_off_applies_at_the_next_request(tmp_path):
    import yaml

    engineer = "engineer-token-0123456789abcdef"
    plant = serve(tmp_path, {"bob": Role.OPERATOR}, security={"anonymous_viewer": True},
                  tokens=[{"name": "eng", "token": engineer, "role": "engineer"}])
    try:
        assert plant.call("GET", "/v1/status").status == 200
        config_path = tmp_path / "plant.yaml"
        data = yaml.safe_load(config_path.read_text())
        data["security"]["anonymous_viewer"] = False
        config_path.write_text(yaml.safe_dump(data, sort_keys=False))
        reloaded = plant.call("POST", "/v1/reload", token=engineer)
        assert reloaded.status == 200 and reloaded.body["accepted"] is True
        assert plant.call("GET", "/v1/status").status == 401
    finally:
        plant.stop()
