"""Login sessions, held in memory, with an idle and an absolute timeout (injected clock).

A session is an opaque random token (``secrets.token_urlsafe(32)``, the
``petra_session`` cookie) with its own CSRF token (the ``X-CSRF-Token`` header
a cookie-authenticated write must carry). `get` refuses a session idle for
longer than `idle_s` (`security.session_timeout_minutes`) or older than
`max_age_s` (`security.session_max_hours`, default 12) and forgets it; a
refused session never comes back. Sessions are not persisted: a restart of
PETRA ends every session (users log in again). `revoke_user` ends all of a
user's sessions (on a password or role change, a lock or removal).

At most `max_sessions` (default 1,000) are held: a new one past that ends the
one seen least recently, so logging in cannot exhaust memory.
"""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from petra.security.roles import Role

DEFAULT_MAX_SESSIONS = 1_000


@dataclass(frozen=True)
class Session:
    """One login. `created` and `last_seen` are the store's clock's seconds."""

    token: str
    csrf: str
    user: str
    role: Role
    created: float
    last_seen: float

    def csrf_matches(self, header: str | None) -> bool:
        """Whether `header` is this session's CSRF token (constant time)."""
        return header is not None and hmac.compare_digest(header.encode("utf-8", "surrogatepass"),
                                                          self.csrf.encode("ascii"))


@dataclass(frozen=True)
class Expired:
    """Why `get` ended a session: ``"idle"`` or ``"max_age"``."""

    session: Session
    reason: str


class SessionStore:
    """Sessions by token; not thread-safe (the caller holds its lock)."""

    def __init__(self, idle_s: float, max_age_s: float, now: Callable[[], float],
                 max_sessions: int = DEFAULT_MAX_SESSIONS) -> None:
        if idle_s <= 0 or max_age_s <= 0 or max_sessions < 1:
            raise ValueError("idle_s > 0, max_age_s > 0 and max_sessions >= 1 are required")
        self.idle_s = idle_s
        self.max_age_s = max_age_s
        self.now = now
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self.expired: list[Expired] = []
        """Sessions `get` ended since the caller last emptied this list (to audit them)."""

    def create(self, user: str, role: Role) -> Session:
        now = self.now()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), user, role, now, now)
        self._sessions[session.token] = session
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return session

    def get(self, token: str) -> Session | None:
        """The live session of `token` (its `last_seen` now touched), or None."""
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self.now()
        reason = self._expiry(session, now)
        if reason is not None:
            del self._sessions[token]
            self.expired.append(Expired(session, reason))
            return None
        session = replace(session, last_seen=now)
        self._sessions[token] = session
        self._sessions.move_to_end(token)
        return session

    def revoke(self, token: str) -> Session | None:
        """End the session `token`; the session it was, or None."""
        return self._sessions.pop(token, None)

    def revoke_user(self, user: str) -> int:
        """End every session of `user`; how many there were."""
        tokens = [t for t, s in self._sessions.items() if s.user == user]
        for token in tokens:
            del self._sessions[token]
        return len(tokens)

    def sessions(self) -> list[Session]:
        """The sessions that have not expired (expired ones are dropped and recorded)."""
        now = self.now()
        live = []
        for token, session in list(self._sessions.items()):
            reason = self._expiry(session, now)
            if reason is None:
                live.append(session)
            else:
                del self._sessions[token]
                self.expired.append(Expired(session, reason))
        return live

    def __len__(self) -> int:
        return len(self._sessions)

    def _expiry(self, session: Session, now: float) -> str | None:
        if now - session.created >= self.max_age_s:
            return "max_age"
        if now - session.last_seen >= self.idle_s:
            return "idle"
        return None
