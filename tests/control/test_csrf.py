"""CSRF: a cookie request that changes something needs its session's X-CSRF-Token; bearer requests need none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from petra.security.roles import Role
from tests.control.access_support import Served, serve
from tests.security.cheap_hashes import cheap_hashes as cheap_hashes

TOKEN = "operator-token-0123456789abcdef"


@pytest.fixture
def served(tmp_path: Path, cheap_hashes: None) -> Iterator[Served]:
    plant = serve(tmp_path, {"bob": Role.OPERATOR, "eve": Role.OPERATOR},
                  tokens=[{"name": "ops", "token": TOKEN, "role": "operator"}])
    yield plant
    plant.stop()


def test_a_cookie_write_without_the_csrf_header_is_refused_and_audited(served):
    cookie, _ = served.session("bob")
    reply = served.call("PUT", "/v1/signals/setpoint", {"value": 11}, session=cookie)
    assert reply.status == 403 and "X-CSRF-Token" in reply.body["error"]
    assert served.runtime.plant.table.read("setpoint").value != 11.0
    denied = served.audit_entries("access.denied")[-1]
    assert denied["actor"] == "session:bob" and denied["details"]["address"] == "127.0.0.1"
    assert "X-CSRF-Token" in denied["details"]["reason"]


def test_a_wrong_or_another_sessions_csrf_is_refused_and_the_right_one_accepted(served):
    cookie, csrf = served.session("bob")
    _, eves_csrf = served.session("eve")
    for offered in ("x" * len(csrf), eves_csrf, csrf[:-1]):
        reply = served.call("PUT", "/v1/signals/setpoint", {"value": 12}, session=cookie, csrf=offered)
        assert reply.status == 403 and "does not match" in reply.body["error"]
    reply = served.call("PUT", "/v1/signals/setpoint", {"value": 13}, session=cookie, csrf=csrf)
    assert reply.status == 200 and reply.body["value"] == 13.0


def test_reads_with_the_cookie_need_no_csrf_and_logout_does(served):
    cookie, csrf = served.session("bob")
    assert served.call("GET", "/v1/signals/setpoint", session=cookie).status == 200
    assert served.call("POST", "/v1/logout", session=cookie).status == 403  # a forged logout is refused too
    assert served.call("POST", "/v1/logout", session=cookie, csrf=csrf).status == 200


def test_a_bearer_write_needs_no_csrf_header(served):
    reply = served.call("PUT", "/v1/signals/setpoint", {"value": 14}, token=TOKEN)
    assert reply.status == 200 and reply.body["value"] == 14.0


def test_origin_and_referer_neither_replace_nor_break_the_csrf_check(served):
    cookie, csrf = served.session("bob")
    same_site = {"Origin": f"https://127.0.0.1:{served.port}", "Referer": f"https://127.0.0.1:{served.port}/hmi"}
    reply = served.call("PUT", "/v1/signals/setpoint", {"value": 15}, session=cookie, headers=same_site)
    assert reply.status == 403  # a page's own Origin is no substitute for the token
    foreign = {"Origin": "https://evil.example", "Referer": "https://evil.example/"}
    reply = served.call("PUT", "/v1/signals/setpoint", {"value": 16}, session=cookie, csrf=csrf, headers=foreign)
    assert reply.status == 200  # the token decides, not the headers a client chooses


def test_a_request_with_a_bearer_token_and_a_cookie_acts_as_the_token_and_needs_no_csrf(served):
    cookie, _ = served.session("eve")
    reply = served.call("PUT", "/v1/signals/setpoint", {"value": 17}, token=TOKEN, session=cookie)
    assert reply.status == 200
    assert served.audit_entries("signal.set")[-1]["actor"] == "token:ops"
