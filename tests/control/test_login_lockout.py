"""Lock-out over the real listener: per user name and per client address, for passwords and bearer tokens.

Each client connects from its own 127.0.0.x source address. The identity runs
on an injected clock, so the window passes without waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from petra.security.roles import Role
from tests.control.access_support import Served, serve
from tests.security.cheap_hashes import cheap_hashes as cheap_hashes

ATTEMPTS = 3
WINDOW_S = 600
ADMIN_TOKEN = "admin-token-0123456789abcdef"


@pytest.fixture
def served(tmp_path: Path, cheap_hashes: None) -> Iterator[Served]:
    plant = serve(tmp_path, {"alice": Role.OPERATOR, "bob": Role.OPERATOR, "carol": Role.VIEWER},
                  tokens=[{"name": "admin", "token": ADMIN_TOKEN, "role": "admin"}],
                  security={"max_failed_auth_attempts": ATTEMPTS, "lockout_window_minutes": WINDOW_S // 60})
    yield plant
    plant.stop()


def fail(served: Served, user: str, source: str, times: int = ATTEMPTS) -> None:
    for _ in range(times):
        assert served.login(user, "wrong password!", source=source).status in (401, 429)


def test_failed_logins_lock_the_user_name_and_the_address_with_retry_after(served):
    fail(served, "alice", "127.0.0.2")
    locked = served.login("alice", source="127.0.0.2")  # the right password, too late
    assert locked.status == 429 and locked.body["error"].startswith("too many failed logins")
    assert 0 < int(locked.headers["Retry-After"]) <= WINDOW_S
    elsewhere = served.login("alice", source="127.0.0.3")  # the user name is locked from anywhere
    assert elsewhere.status == 429
    assert served.login("bob", source="127.0.0.2").status == 429  # so is the address, for anyone
    assert served.login("bob", source="127.0.0.3").status == 200  # a locked user does not lock others
    assert served.audit_entries("auth.locked_out")[0]["details"]["address"] == "127.0.0.2"
    served.advance(WINDOW_S + 1)
    assert served.login("alice", source="127.0.0.2").status == 200  # the window passed


def test_one_address_cannot_lock_out_every_user(served):
    for user in ("alice", "bob", "carol"):
        fail(served, user, "127.0.0.4", times=1)
    assert served.login("carol", source="127.0.0.4").status == 429  # the address has had its tries
    for user in ("alice", "bob", "carol"):
        assert served.login(user, source="127.0.0.5").status == 200, user


def test_an_admin_unlocks_a_user_locked_by_failed_logins(served):
    fail(served, "alice", "127.0.0.6")
    assert served.login("alice", source="127.0.0.7").status == 429
    listed = served.call("GET", "/v1/users", token=ADMIN_TOKEN)
    alice = next(u for u in listed.body["users"] if u["name"] == "alice")
    assert alice["locked_out"] is not None and alice["locked_out"] > 0
    reply = served.call("POST", "/v1/users/alice/unlock", token=ADMIN_TOKEN)
    assert reply.status == 200 and reply.body["name"] == "alice" and "password_hash" not in reply.body
    assert served.login("alice", source="127.0.0.7").status == 200
    unlocks = served.audit_entries("user.unlock")
    assert unlocks[-1]["actor"] == "token:admin" and unlocks[-1]["details"]["user"] == "alice"


def test_wrong_bearer_tokens_lock_the_address_even_for_the_right_token(served):
    for _ in range(ATTEMPTS):
        assert served.call("GET", "/v1/status", token="guess-" + "x" * 20, source="127.0.0.8").status in (401, 429)
    locked = served.call("GET", "/v1/status", token=ADMIN_TOKEN, source="127.0.0.8")
    assert locked.status == 429 and int(locked.headers["Retry-After"]) > 0
    assert served.call("GET", "/v1/status", token=ADMIN_TOKEN, source="127.0.0.9").status == 200
    assert len(served.audit_entries("auth.token_failed")) == ATTEMPTS


def test_a_brute_force_from_loopback_is_bounded_and_the_plant_keeps_scanning(served):
    scans_before = served.runtime.plant.stats.completed_scans
    answers = [served.login("bob", f"guess {i:04d}", source="127.0.0.10").status for i in range(200)]
    assert answers[:ATTEMPTS - 1] == [401] * (ATTEMPTS - 1) and set(answers[ATTEMPTS:]) == {429}
    attempts = served.audit_entries("auth.login_failed")
    assert len(attempts) == ATTEMPTS  # only the first few were checked at all: the rest cost no hash
    assert served.runtime.plant.stats.completed_scans > scans_before
