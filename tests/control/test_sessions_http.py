"""Sessions over the real listener with the identity's clock injected: idle and absolute expiry, revocation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from petra.security.roles import Role
from tests.control.access_support import Served, serve
from tests.helpers import wait_until
from tests.security.cheap_hashes import cheap_hashes as cheap_hashes

IDLE_S = 30 * 60
ADMIN_TOKEN = "admin-token-0123456789abcdef"


@pytest.fixture
def served(tmp_path: Path, cheap_hashes: None) -> Iterator[Served]:
    plant = serve(tmp_path, {"alice": Role.ENGINEER, "bob": Role.OPERATOR},
                  tokens=[{"name": "admin", "token": ADMIN_TOKEN, "role": "admin"}],
                  security={"session_timeout_minutes": IDLE_S // 60, "session_max_hours": 2})
    yield plant
    plant.stop()


def test_a_session_idle_past_the_timeout_ends_and_its_expiry_is_audited(served):
    cookie, _ = served.session("bob")
    served.advance(IDLE_S - 1)
    assert served.call("GET", "/v1/status", session=cookie).status == 200  # used: the idle clock starts again
    served.advance(IDLE_S - 1)
    assert served.call("GET", "/v1/status", session=cookie).status == 200
    served.advance(IDLE_S)
    reply = served.call("GET", "/v1/status", session=cookie)
    assert reply.status == 401 and "log in again" in reply.body["error"]
    expired = served.audit_entries("auth.session_expired")
    assert expired[-1]["details"] == {"user": "bob", "reason": "idle"}


def test_a_session_in_use_still_ends_at_its_absolute_limit(served):
    cookie, _ = served.session("bob")
    for _ in range(7):  # 7 x 17 min = 119 min: always within the idle timeout, under the 2 h limit
        served.advance(17 * 60)
        assert served.call("GET", "/v1/status", session=cookie).status == 200
    served.advance(60)
    assert served.call("GET", "/v1/status", session=cookie).status == 401
    assert served.audit_entries("auth.session_expired")[-1]["details"]["reason"] == "max_age"


def test_a_password_change_or_role_change_through_the_api_ends_the_users_sessions(served):
    cookie, _ = served.session("bob")
    other, _ = served.session("alice")
    reply = served.call("PUT", "/v1/users/bob", {"password": "another long password"}, token=ADMIN_TOKEN)
    assert reply.status == 200 and "password_hash" not in reply.body
    assert served.call("GET", "/v1/status", session=cookie).status == 401
    assert served.call("GET", "/v1/status", session=other).status == 200  # alice's session is untouched
    assert served.login("bob", "another long password").status == 200

    reply = served.call("PUT", "/v1/users/alice", {"role": "viewer"}, token=ADMIN_TOKEN)
    assert reply.status == 200 and reply.body["role"] == "viewer"
    assert served.call("GET", "/v1/status", session=other).status == 401
    assert served.audit_entries("user.role")[-1]["details"] == {"user": "alice", "role": "viewer", "was": "engineer"}


def test_removing_a_user_ends_their_sessions(served):
    cookie, _ = served.session("bob")
    reply = served.call("DELETE", "/v1/users/bob", token=ADMIN_TOKEN)
    assert reply.status == 200 and reply.body == {"removed": "bob", "tokens_removed": 0}
    assert served.call("GET", "/v1/status", session=cookie).status == 401
    assert served.login("bob").status == 401
    assert served.call("DELETE", "/v1/users/bob", token=ADMIN_TOKEN).status == 404


def test_a_restart_of_the_control_actor_keeps_the_sessions(served):
    cookie, _ = served.session("bob")
    before = served.running.lookup("petra/services/control").actor_urn
    restarted = served.call("POST", "/v1/actors/restart", {"path": "petra/services/control"}, token=ADMIN_TOKEN)
    assert restarted.status == 200

    def serving_again() -> bool:
        try:
            return served.call("GET", "/v1/status", token=ADMIN_TOKEN).status == 200
        except OSError:
            return False  # between the old listener and the new one

    def replaced() -> bool:
        ref = served.running.lookup("petra/services/control")
        return ref is not None and ref.actor_urn != before

    wait_until(lambda: replaced() and serving_again(), timeout=20, interval=0.05)
    assert served.call("GET", "/v1/status", session=cookie).status == 200
