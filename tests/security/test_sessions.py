"""Sessions: idle and absolute expiry with an injected clock, revocation, bounds."""

from __future__ import annotations

from petra.security.roles import Role
from petra.security.sessions import SessionStore


class Clock:
    def __init__(self, t: float = 5000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def store(clock: Clock, max_sessions: int = 1000) -> SessionStore:
    return SessionStore(idle_s=1800, max_age_s=12 * 3600, now=clock, max_sessions=max_sessions)


def test_a_session_has_opaque_random_tokens_and_carries_its_user_and_role() -> None:
    clock = Clock()
    sessions = store(clock)
    one, two = sessions.create("alice", Role.ADMIN), sessions.create("alice", Role.ADMIN)
    assert len(one.token) >= 43 and len(one.csrf) >= 43
    assert len({one.token, one.csrf, two.token, two.csrf}) == 4
    got = sessions.get(one.token)
    assert got is not None and (got.user, got.role) == ("alice", Role.ADMIN)


def test_a_session_idle_for_the_timeout_ends_and_stays_ended() -> None:
    clock = Clock()
    sessions = store(clock)
    session = sessions.create("alice", Role.OPERATOR)
    clock.t += 1799
    assert sessions.get(session.token) is not None  # touched: the idle time starts again
    clock.t += 1799
    assert sessions.get(session.token) is not None
    clock.t += 1800
    assert sessions.get(session.token) is None
    assert [(e.session.user, e.reason) for e in sessions.expired] == [("alice", "idle")]
    clock.t -= 1800
    assert sessions.get(session.token) is None  # gone, not merely late


def test_a_busy_session_still_ends_at_the_absolute_timeout() -> None:
    clock = Clock()
    sessions = store(clock)
    session = sessions.create("alice", Role.OPERATOR)
    for _ in range(12 * 6 - 1):
        clock.t += 600
        assert sessions.get(session.token) is not None
    clock.t += 600
    assert sessions.get(session.token) is None
    assert sessions.expired[-1].reason == "max_age"


def test_revoke_and_revoke_user_end_sessions() -> None:
    clock = Clock()
    sessions = store(clock)
    a1, a2, b = (sessions.create("alice", Role.ADMIN), sessions.create("alice", Role.ADMIN),
                 sessions.create("bob", Role.VIEWER))
    assert sessions.revoke(a1.token) is not None and sessions.revoke(a1.token) is None
    assert sessions.get(a1.token) is None
    assert sessions.revoke_user("alice") == 1
    assert sessions.get(a2.token) is None
    assert sessions.get(b.token) is not None


def test_the_csrf_token_is_compared_exactly() -> None:
    session = store(Clock()).create("alice", Role.ADMIN)
    assert session.csrf_matches(session.csrf)
    assert not session.csrf_matches(session.csrf[:-1])
    assert not session.csrf_matches(None)
    assert not session.csrf_matches("é")


def test_the_number_of_sessions_is_bounded_and_the_least_recently_seen_ends_first() -> None:
    clock = Clock()
    sessions = store(clock, max_sessions=3)
    first, second, third = (sessions.create(u, Role.VIEWER) for u in ("a", "b", "c"))
    clock.t += 1
    assert sessions.get(first.token) is not None  # first is now the most recently seen
    sessions.create("d", Role.VIEWER)
    assert len(sessions) == 3
    assert sessions.get(second.token) is None
    assert sessions.get(first.token) is not None and sessions.get(third.token) is not None
