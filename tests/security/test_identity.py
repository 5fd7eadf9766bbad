"""Identity: logins, lock-out, sessions and tokens over a real users file, with an injected clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from petra.config.sections import SecuritySettings
from petra.security import user_changes
from petra.security.identity import Identity, LoginRefused, UserToken
from petra.security.roles import Role
from petra.security.sessions import Session

pytestmark = pytest.mark.usefixtures("cheap_hashes")

PASSWORD = "alice's good password"


class Clock:
    def __init__(self) -> None:
        self.t = 10_000.0

    def __call__(self) -> float:
        return self.t


class Trail:
    def __init__(self) -> None:
        self.entries: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, event: str, actor: str, **details: Any) -> None:
        self.entries.append((event, actor, details))

    def events(self) -> list[str]:
        return [e for e, _a, _d in self.entries]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Identity, Clock, Trail, Path]:
    path = tmp_path / "users.yaml"
    trail, clock = Trail(), Clock()
    user_changes.add_user(path, "alice", Role.ENGINEER, PASSWORD, trail, "uid:0")
    settings = SecuritySettings(max_failed_auth_attempts=3, lockout_window_minutes=10, session_timeout_minutes=30,
                                session_max_hours=12)
    return Identity(path, settings, now=clock, audit=trail), clock, trail, path


def test_a_good_login_gives_a_session_with_the_users_role_and_is_audited(setup) -> None:
    identity, _clock, trail, _path = setup
    session = identity.login("alice", PASSWORD, "127.0.0.1")
    assert isinstance(session, Session) and session.role is Role.ENGINEER
    principal = identity.session_principal(session.token, "127.0.0.1")
    assert principal is not None and principal.name == "session:alice" and principal.csrf == session.csrf
    assert trail.entries[-1] == ("auth.login", "user:alice", {"user": "alice", "address": "127.0.0.1",
                                                              "role": "engineer"})


def test_a_wrong_password_and_an_unknown_user_get_the_same_refusal_for_one_verify_each(setup, verify_calls) -> None:
    identity, _clock, trail, _path = setup
    wrong = identity.login("alice", "not her password", "127.0.0.1")
    assert len(verify_calls) == 1
    unknown = identity.login("mallory", "not her password", "127.0.0.1")
    assert len(verify_calls) == 2
    assert wrong == unknown == LoginRefused(401)
    assert [d["reason"] for e, _a, d in trail.entries if e == "auth.login_failed"] == ["wrong password",
                                                                                       "no such user"]


def test_admin_with_a_wrong_password_is_refused(setup) -> None:
    identity, _clock, _trail, path = setup
    user_changes.add_user(path, "admin", Role.ADMIN, "the admin password", lambda *a, **k: None, "uid:0")
    assert identity.login("admin", "admin", "127.0.0.1") == LoginRefused(401)
    assert identity.login("admin", "", "127.0.0.1") == LoginRefused(401)
    assert isinstance(identity.login("admin", "the admin password", "127.0.0.1"), Session)


def test_lock_out_answers_429_with_retry_after_without_hashing_and_ends_with_the_window(setup, verify_calls) -> None:
    identity, clock, trail, _path = setup
    for i in range(2):
        assert identity.login("alice", "guess", f"10.0.0.{i}") == LoginRefused(401)
    third = identity.login("alice", "guess", "10.0.0.2")
    assert isinstance(third, LoginRefused) and third.status == 429 and third.retry_after == 600
    assert "for this user name: try again in 600 s, or ask an admin" in third.reason
    assert "auth.locked_out" in trail.events()
    calls = len(verify_calls)
    clock.t += 300
    refused = identity.login("alice", PASSWORD, "10.0.0.3")  # the right password, but locked
    assert isinstance(refused, LoginRefused) and refused.status == 429 and refused.retry_after == 300
    assert len(verify_calls) == calls  # refused before any hash
    assert trail.entries[-1][0] == "auth.login_refused"
    clock.t += 300
    assert isinstance(identity.login("alice", PASSWORD, "10.0.0.3"), Session)


def test_a_locked_user_does_not_lock_others(setup) -> None:
    identity, _clock, _trail, path = setup
    user_changes.add_user(path, "bob", Role.OPERATOR, "bob's password", lambda *a, **k: None, "uid:0")
    for i in range(3):
        identity.login("alice", "guess", f"10.0.0.{i}")
    assert isinstance(identity.login("bob", "bob's password", "10.0.0.1"), Session)


def test_petra_user_unlock_from_another_process_ends_a_lock_out_without_a_restart(setup) -> None:
    identity, _clock, trail, path = setup
    for i in range(3):
        identity.login("alice", "guess", f"10.0.0.{i}")
    assert identity.login("alice", PASSWORD, "10.0.1.1").status == 429  # type: ignore[union-attr]
    user_changes.unlock_user(path, "alice", trail, "uid:0")  # what the CLI does to the file
    assert isinstance(identity.login("alice", PASSWORD, "10.0.1.1"), Session)


def test_a_user_added_by_the_cli_can_log_in_at_once(setup) -> None:
    identity, _clock, _trail, path = setup
    user_changes.add_user(path, "carol", Role.VIEWER, "carol's password", lambda *a, **k: None, "uid:0")
    assert isinstance(identity.login("carol", "carol's password", "127.0.0.1"), Session)


@pytest.mark.parametrize("change", [
    lambda path, audit: user_changes.set_password(path, "alice", "a new password", audit, "uid:0"),
    lambda path, audit: user_changes.set_role(path, "alice", Role.OPERATOR, audit, "uid:0"),
    lambda path, audit: user_changes.lock_user(path, "alice", audit, "uid:0"),
    lambda path, audit: user_changes.remove_user(path, "alice", audit, "uid:0"),
], ids=["password", "role", "lock", "remove"])
def test_a_change_of_password_role_lock_or_removal_ends_the_users_sessions(setup, change) -> None:
    identity, _clock, trail, path = setup
    session = identity.login("alice", PASSWORD, "127.0.0.1")
    assert isinstance(session, Session)
    change(path, trail)
    assert identity.session(session.token) is None
    assert "auth.sessions_revoked" in trail.events()


def test_a_role_change_through_the_api_ends_sessions_and_is_audited_as_the_admin(setup) -> None:
    identity, _clock, trail, _path = setup
    session = identity.login("alice", PASSWORD, "127.0.0.1")
    assert isinstance(session, Session)
    identity.set_role("alice", Role.VIEWER, "session:root")
    assert identity.session(session.token) is None
    assert ("user.role", "session:root", {"user": "alice", "role": "viewer", "was": "engineer"}) in trail.entries
    again = identity.login("alice", PASSWORD, "127.0.0.1")
    assert isinstance(again, Session) and again.role is Role.VIEWER


def test_idle_and_absolute_session_expiry_are_audited(setup) -> None:
    identity, clock, trail, _path = setup
    idle = identity.login("alice", PASSWORD, "127.0.0.1")
    assert isinstance(idle, Session)
    clock.t += 30 * 60
    assert identity.session(idle.token) is None
    busy = identity.login("alice", PASSWORD, "127.0.0.1")
    assert isinstance(busy, Session)
    for _ in range(24):  # 24 x 1799 s = 43,176 s: each time within the idle timeout
        clock.t += 30 * 60 - 1
        assert identity.session(busy.token) is not None
    clock.t += 24  # 12 h after the login
    assert identity.session(busy.token) is None
    assert [d["reason"] for e, _a, d in trail.entries if e == "auth.session_expired"] == ["idle", "max_age"]


def test_logout_ends_the_session(setup) -> None:
    identity, _clock, trail, _path = setup
    session = identity.login("alice", PASSWORD, "127.0.0.1")
    assert isinstance(session, Session)
    assert identity.logout(session.token, "127.0.0.1") is True
    assert identity.session(session.token) is None
    assert identity.logout(session.token, "127.0.0.1") is False
    assert trail.events().count("auth.logout") == 1


def test_a_token_authenticates_until_revoked_and_bad_tokens_lock_the_address(setup) -> None:
    identity, _clock, trail, _path = setup
    token, entry = identity.create_token("alice", Role.OPERATOR, "ops", "uid:0")
    found = identity.authenticate_token(token, "10.0.0.1")
    assert isinstance(found, UserToken) and found.role is Role.OPERATOR
    assert found.principal("10.0.0.1").name == "token:ops"
    identity.revoke_token(entry.id, "uid:0")
    assert identity.authenticate_token(token, "10.0.0.1") == LoginRefused(401, None, "unknown or revoked token")
    identity.authenticate_token("guess-1", "10.0.0.1")
    locked = identity.authenticate_token("guess-2", "10.0.0.1")
    assert isinstance(locked, LoginRefused) and locked.status == 429
    fresh, _entry = identity.create_token("alice", None, None, "uid:0")
    assert identity.authenticate_token(fresh, "10.0.0.1").status == 429  # type: ignore[union-attr]
    assert isinstance(identity.authenticate_token(fresh, "10.0.0.2"), UserToken)
    assert {"token.create", "token.revoke", "auth.token_failed", "auth.locked_out"} <= set(trail.events())


def test_a_tokens_use_is_written_to_the_file_at_most_once_an_hour(setup) -> None:
    identity, clock, _trail, path = setup
    token, _entry = identity.create_token("alice", None, None, "uid:0")
    identity.authenticate_token(token, "127.0.0.1")
    first = path.stat().st_ino
    assert identity.file.tokens[0].last_used is not None
    clock.t += 60
    identity.authenticate_token(token, "127.0.0.1")
    assert path.stat().st_ino == first  # not written again within the hour
    clock.t += 3600
    identity.authenticate_token(token, "127.0.0.1")
    assert path.stat().st_ino != first


def test_a_file_broken_while_running_keeps_the_last_good_users(setup) -> None:
    identity, _clock, _trail, path = setup
    path.write_text("users: [\n")
    assert isinstance(identity.login("alice", PASSWORD, "127.0.0.1"), Session)


def test_no_users_and_no_tokens_means_no_credentials(tmp_path: Path) -> None:
    identity = Identity(tmp_path / "users.yaml", SecuritySettings())
    assert identity.has_credentials() is False


def test_a_flood_of_wrong_passwords_from_one_address_hashes_only_until_the_lock_and_never_more_than_two_at_once(
    setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 wrong logins from 8 threads at once, from loopback, against real and made-up names: the
    address is locked after max_failed_auth_attempts (3) failures, so only a handful of hashes run
    (those already past the lock check when it closed), never more than two at a time; the rest are
    429s that cost no hash."""
    import threading

    import nacl.pwhash.argon2id as argon2id

    identity, _clock, _trail, _path = setup
    real = argon2id.verify
    running, peak, calls = [0], [0], [0]
    guard = threading.Lock()

    def counting(stored: bytes, password: bytes) -> bool:
        with guard:
            running[0] += 1
            calls[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            return real(stored, password)
        finally:
            with guard:
                running[0] -= 1

    monkeypatch.setattr(argon2id, "verify", counting)
    results: list[int] = []
    start = threading.Barrier(8)

    def attack(worker: int) -> None:
        start.wait()
        for i in range(300 // 8):
            refused = identity.login(("alice", f"user{worker}-{i}")[i % 2], "guess", "127.0.0.1")
            assert isinstance(refused, LoginRefused)
            with guard:
                results.append(refused.status)

    threads = [threading.Thread(target=attack, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 8 * (300 // 8)
    assert peak[0] <= 2
    assert calls[0] <= 3 + 8  # the lock closes after 3; at most one more per thread was already past it
    assert results.count(429) >= len(results) - calls[0]
    still = identity.login("alice", PASSWORD, "127.0.0.1")  # the right password: the address stays locked
    assert isinstance(still, LoginRefused) and still.status == 429
    identity.unlock_user("alice", "uid:0")
    assert identity.login("alice", PASSWORD, "127.0.0.1").reason.startswith(  # type: ignore[union-attr]
        "too many failed logins from this address")
    assert identity.unlock_address("127.0.0.1", "session:root") is True
    assert isinstance(identity.login("alice", PASSWORD, "127.0.0.1"), Session)


def test_a_flood_from_a_locked_address_is_audited_once_a_minute_with_what_was_held_back(setup) -> None:
    """Every refusal is recorded, but a locked address cannot grow the audit trail at its own request rate."""
    identity, clock, trail, _path = setup
    for i in range(3):
        identity.login(f"user{i}", "guess", "10.9.9.9")  # three failures lock the address
    assert "auth.locked_out" in trail.events()
    before = trail.events().count("auth.login_refused")
    for _ in range(500):
        refused = identity.login("anyone", "guess", "10.9.9.9")
        assert isinstance(refused, LoginRefused) and refused.status == 429
    assert trail.events().count("auth.login_refused") == before + 1
    clock.t += 61
    identity.login("anyone", "guess", "10.9.9.9")
    refusals = [d for e, _a, d in trail.entries if e == "auth.login_refused"]
    assert refusals[-1]["held_back"] == 499  # the 499 attempts after the first of the minute, counted
