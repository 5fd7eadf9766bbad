"""Identity: the users file, lock-out and sessions behind one thread-safe facade.

The control API holds one `Identity` and asks it:

* `login(user, password, address)` -> `Session` or `LoginRefused` (401 for a
  wrong user name or password alike, 429 with `retry_after` when the user
  name or the address is locked out, 503 when every hashing slot is busy).
  The lock-out is checked before any hashing, so a locked-out flood costs no
  Argon2id time. Run it off the event loop (it takes ~70 ms of one core).
* `authenticate_token(token, address)` -> `UserToken` or `LoginRefused`: a
  users-file API token. For config tokens (``control.tcp.tokens``) use the
  parts: `token_refusal(address)` first, then your own match or
  `check_user_token(token)`, then `token_failed(address)` on no match, so
  every bearer failure counts against the address once.
* `session(token)` -> the live `Session` or None (idle and absolute expiry;
  expiry is audited here); `session_principal(token, address)`.
* `logout(token, address)`.
* the admin operations (`add_user`, `set_password`, `set_role`,
  `remove_user`, `lock_user`, `unlock_user`, `unlock_address`, `create_token`,
  `revoke_token`, `users`, `tokens`, `locked_out`), each audited with the acting
  principal. `unlock_user` ends the lock-out of the user name only: an address
  that failed too often stays locked until its window has passed, or until
  `unlock_address` (the API; the CLI cannot reach the runtime's memory).

What Identity audits itself (``audit(event, actor, **details)``, the
runtime's `Wiring.audit`), every entry with ``address``: ``auth.login``,
``auth.login_failed`` (user as typed, reason), ``auth.login_refused`` (a
locked-out attempt: key, retry_after; at most one entry per lock and address
a minute, the next one counting the attempts in between as ``held_back``, so
a flood from a locked address cannot grow the trail at its own rate),
``auth.locked_out`` (the failure that
started a lock), ``auth.token_failed``, ``auth.session_expired`` (reason
idle/max_age), ``auth.logout``, ``auth.sessions_revoked`` (on a password or
role change, a lock or a removal; count), ``auth.unlock_address``, ``user.unlock`` and the other
``user.*``/``token.*`` changes (`petra.security.user_changes`). What it does
not: refusals of a route for its role or a missing CSRF header: those are the
caller's (the control API's) to audit.

The file is re-read when its (mtime, size, inode) changes, so a ``petra user``
command takes effect at the next request without a restart. A re-read that
finds the password, role or lock of a user changed, or the user gone, ends
that user's sessions; one that finds a newer ``unlocked_at`` (``petra user
unlock``) ends their lock-out. A file that has become unreadable or malformed
is logged and the last good one kept (PETRA itself never writes a bad one).

A token's ``last_used`` is written to the file at most once an hour per token.
Sessions live in memory only: a restart of PETRA ends every session.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from petra.config.sections import SecuritySettings
from petra.rate_limited_log import RateLimiter
from petra.security import passwords, user_changes
from petra.security.lockout import Lockout, Refusal
from petra.security.roles import Principal, Role
from petra.security.sessions import Session, SessionStore
from petra.security.users import TokenEntry, User, UsersFile, UsersFileError, update

log = logging.getLogger(__name__)

LAST_USED_EVERY_S = 3600.0
BAD_CREDENTIALS = "wrong user name or password"
_ACTOR_SAFE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

Audit = Callable[..., None]


REFUSAL_AUDIT_S = 60.0
"""A locked-out attempt is audited once a minute per lock and address (the rest counted as held_back)."""


def _no_audit(event: str, actor: str, **details: Any) -> None:
    return None


@dataclass(frozen=True)
class LoginRefused:
    """A login or token refused: the HTTP status to answer, the seconds to wait (429), why."""

    status: int
    retry_after: int | None = None
    reason: str = BAD_CREDENTIALS


@dataclass(frozen=True)
class UserToken:
    """A users-file API token that matched, and what it may do now."""

    entry: TokenEntry
    user: User
    role: Role

    def principal(self, address: str) -> Principal:
        label = self.entry.name or self.entry.id
        return Principal(name=f"token:{label}", role=self.role, via="token", address=address, user=self.user.name)


def session_principal_of(session: Session, address: str) -> Principal:
    return Principal(name=f"session:{session.user}", role=session.role, via="session", address=address,
                     user=session.user, csrf=session.csrf)


class Identity:
    """See the module docstring. Safe to call from any thread."""

    def __init__(self, users_file_path: str | os.PathLike[str], settings: SecuritySettings, *,
                 now: Callable[[], float] = time.time, audit: Audit | None = None) -> None:
        self.path = Path(users_file_path)
        self.now = now
        self.audit: Audit = audit or _no_audit
        self._lock = threading.RLock()
        self.lockout = Lockout(settings.max_failed_auth_attempts, settings.lockout_window_minutes * 60.0, now)
        self.sessions = SessionStore(settings.session_timeout_minutes * 60.0, settings.session_max_hours * 3600.0,
                                     now)
        self._file = UsersFile.load(self.path)  # a bad file at start is the caller's start-up error
        self._stat = _stat(self.path)
        self._bad_stat: tuple[int, int, int] | None = None
        self._written_use: dict[str, float] = {}
        self._refusals_audited = RateLimiter(REFUSAL_AUDIT_S, 4096, now)
        passwords.warm_up()

    # --- the file ----------------------------------------------------------

    @property
    def file(self) -> UsersFile:
        """The users file as it is now (re-read when it changed on disk)."""
        with self._lock:
            self._refresh()
            return self._file

    def has_credentials(self) -> bool:
        """Whether the file has at least one user or token (a TCP listener needs some)."""
        current = self.file
        return bool(current.users or current.tokens)

    def _refresh(self) -> None:
        stat = _stat(self.path)
        if stat == self._stat or stat == self._bad_stat:
            return
        try:
            new = UsersFile.load(self.path)
        except UsersFileError as exc:
            self._bad_stat = stat
            log.error("users file changed but cannot be used, keeping the last good one: %s", exc)
            return
        self._adopt(new, stat)

    def _adopt(self, new: UsersFile, stat: tuple[int, int, int] | None) -> None:
        old = self._file
        self._file, self._stat, self._bad_stat = new, stat, None
        for name, before in old.users.items():
            after = new.users.get(name)
            if after is None:
                why = "removed"
            elif after.password_changed != before.password_changed or after.password_hash != before.password_hash:
                why = "password changed"
            elif after.role != before.role:
                why = "role changed"
            elif after.locked and not before.locked:
                why = "locked"
            else:
                why = ""
            if why:
                count = self.sessions.revoke_user(name)
                if count:
                    self.audit("auth.sessions_revoked", "system", user=name, count=count, reason=why)
            if after is not None and after.unlocked_at and after.unlocked_at != before.unlocked_at:
                self.lockout.unlock(name)

    def _changed(self) -> None:
        """After a change of ours: adopt the file as written."""
        self._adopt(UsersFile.load(self.path), _stat(self.path))

    # --- logins and sessions --------------------------------------------------

    def login(self, user: str, password: str, address: str) -> Session | LoginRefused:
        """Check `user`'s `password` from `address`; a new session, or why not (see the module docstring)."""
        actor = _actor_for(user, address)
        with self._lock:
            self._refresh()
            refusal = self.lockout.refusal(user, address)
            current = self._file
            held = None if refusal is None else self._refusals_audited.admit(f"{refusal.key}|{address}")
        if refusal is not None:
            if held is not None:
                self.audit("auth.login_refused", actor, user=user[:64], address=address, key=refusal.key,
                           retry_after=refusal.retry_after, held_back=held)
            return _locked(refusal)
        try:
            found = current.verify_password(user, password)
        except passwords.HashingBusy as exc:
            return LoginRefused(503, 1, str(exc))
        with self._lock:
            if found is None:
                locked = self.lockout.failed(user, address)
                reason = "locked by an admin" if user in current.users and current.users[user].locked else (
                    "wrong password" if user in current.users else "no such user")
                self.audit("auth.login_failed", actor, user=user[:64], address=address, reason=reason)
                if locked is not None:
                    self._audit_lock(locked, address, actor)
                    return _locked(locked)
                return LoginRefused(401)
            self.lockout.succeeded(user, address)
            session = self.sessions.create(found.name, found.role)
            self._audit_expired()
        self.audit("auth.login", f"user:{found.name}", user=found.name, address=address, role=found.role.label)
        return session

    def session(self, token: str) -> Session | None:
        """The live session of `token` (touched), or None (never was, expired, revoked)."""
        with self._lock:
            self._refresh()
            session = self.sessions.get(token)
            if session is not None:
                user = self._file.users.get(session.user)
                if user is None or user.locked:
                    self.sessions.revoke(token)
                    session = None
            self._audit_expired()
            return session

    def session_principal(self, token: str, address: str) -> Principal | None:
        session = self.session(token)
        return session_principal_of(session, address) if session is not None else None

    def logout(self, token: str, address: str) -> bool:
        """End the session `token`; whether there was one."""
        with self._lock:
            session = self.sessions.revoke(token)
        if session is None:
            return False
        self.audit("auth.logout", f"session:{session.user}", user=session.user, address=address)
        return True

    def _audit_expired(self) -> None:
        expired, self.sessions.expired = self.sessions.expired, []
        for item in expired:
            self.audit("auth.session_expired", f"session:{item.session.user}", user=item.session.user,
                       reason=item.reason)

    def _audit_lock(self, locked: Refusal, address: str, actor: str) -> None:
        self.audit("auth.locked_out", actor, key=locked.key, address=address, retry_after=locked.retry_after)

    # --- bearer tokens ---------------------------------------------------------

    def token_refusal(self, address: str) -> LoginRefused | None:
        """A 429 when `address` is locked out (check before matching any token), else None."""
        with self._lock:
            refusal = self.lockout.refusal(None, address)
            held = None if refusal is None else self._refusals_audited.admit(f"{refusal.key}|{address}")
        if refusal is None:
            return None
        if held is not None:
            self.audit("auth.login_refused", _actor_for("", address), address=address, key=refusal.key,
                       retry_after=refusal.retry_after, via="token", held_back=held)
        return _locked(refusal)

    def check_user_token(self, token: str) -> UserToken | None:
        """The users-file token `token`, or None; no lock-out bookkeeping (see `authenticate_token`)."""
        with self._lock:
            self._refresh()
            found = self._file.check_token(token)
            if found is None:
                return None
            entry, user = found
            match = UserToken(entry, user, self._file.token_role(entry))
        self._note_use(entry)
        return match

    def token_failed(self, address: str) -> LoginRefused:
        """Count a bearer token that matched nothing against `address`: 401, or 429 when that locks it."""
        actor = _actor_for("", address)
        with self._lock:
            locked = self.lockout.failed(None, address)
        self.audit("auth.token_failed", actor, address=address)
        if locked is not None:
            self._audit_lock(locked, address, actor)
            return _locked(locked)
        return LoginRefused(401, None, "unknown or revoked token")

    def authenticate_token(self, token: str, address: str) -> UserToken | LoginRefused:
        """`token_refusal`, `check_user_token`, `token_failed` in one."""
        refused = self.token_refusal(address)
        if refused is not None:
            return refused
        match = self.check_user_token(token)
        return match if match is not None else self.token_failed(address)

    def _note_use(self, entry: TokenEntry) -> None:
        now = self.now()
        last = self._written_use.get(entry.id)
        if last is not None and now - last < LAST_USED_EVERY_S:
            return
        self._written_use[entry.id] = now
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            with self._lock:
                update(self.path, lambda f: f.with_token_used(entry.id, stamp) if any(
                    t.id == entry.id for t in f.tokens) else f)
                self._changed()
        except (OSError, UsersFileError) as exc:
            log.warning("cannot record the use of token %s in %s: %s", entry.id, self.path, exc)

    # --- admin operations (each audited as `actor`) -----------------------------

    def users(self) -> list[dict[str, Any]]:
        """Every user without hashes, with ``locked_out`` (seconds left) when failed logins locked them."""
        current = self.file
        with self._lock:
            out = []
            for user in current.users.values():
                item = user.public()
                item["locked_out"] = self.lockout.check(user.name, None)
                out.append(item)
            return out

    def tokens(self, user: str | None = None) -> list[dict[str, Any]]:
        """Every token (of `user`) without digests."""
        return [t.public() for t in self.file.tokens_of(user)]

    def locked_out(self) -> list[Refusal]:
        with self._lock:
            return self.lockout.locked_keys()

    def add_user(self, name: str, role: Role, password: str, actor: str) -> User:
        return self._change(user_changes.add_user, name, role, password)(actor)

    def set_password(self, name: str, password: str, actor: str) -> User:
        return self._change(user_changes.set_password, name, password)(actor)

    def set_role(self, name: str, role: Role, actor: str) -> User:
        return self._change(user_changes.set_role, name, role)(actor)

    def remove_user(self, name: str, actor: str) -> int:
        return self._change(user_changes.remove_user, name)(actor)

    def lock_user(self, name: str, actor: str) -> User:
        return self._change(user_changes.lock_user, name)(actor)

    def unlock_user(self, name: str, actor: str) -> User:
        """Lift an admin's lock and any lock-out of failed logins."""
        user = self._change(user_changes.unlock_user, name)(actor)
        with self._lock:
            self.lockout.unlock(name)
        return user

    def unlock_address(self, address: str, actor: str) -> bool:
        """End the lock-out of `address` (failed logins or tokens from it); whether it was locked."""
        with self._lock:
            was = self.lockout.unlock_address(address)
        self.audit("auth.unlock_address", actor, address=address, was_locked=was)
        return was

    def create_token(self, user: str, role: Role | None, name: str | None, actor: str) -> tuple[str, TokenEntry]:
        return self._change(user_changes.create_token, user, role, name)(actor)

    def revoke_token(self, key: str, actor: str, *, user: str | None = None) -> TokenEntry:
        def run(audit_actor: str) -> TokenEntry:
            return user_changes.revoke_token(self.path, key, self.audit, audit_actor, user=user)
        return self._run(run, actor)

    def _change(self, operation: Callable[..., Any], *args: Any) -> Callable[[str], Any]:
        def run(actor: str) -> Any:
            return self._run(lambda a: operation(self.path, *args, self.audit, a), actor)
        return run

    def _run(self, call: Callable[[str], Any], actor: str) -> Any:
        with self._lock:
            try:
                return call(actor)
            finally:
                self._changed()


def _locked(refusal: Refusal) -> LoginRefused:
    """A 429 that says which lock holds: the user name's (an admin may lift it) or the address's."""
    if refusal.key.startswith("user:"):
        why = (f"too many failed logins for this user name: try again in {refusal.retry_after} s, or ask an "
               "admin to unlock it")
    else:
        why = f"too many failed logins from this address: try again in {refusal.retry_after} s"
    return LoginRefused(429, refusal.retry_after, why)


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def _actor_for(user: str, address: str) -> str:
    """An audit actor for a caller not (yet) authenticated: ``user:<name>`` for a plain name typed,
    else ``address:<address>``."""
    if user and _ACTOR_SAFE.match(user):
        return f"user:{user}"
    return f"address:{address or 'unknown'}"
