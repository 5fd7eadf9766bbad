"""Who a control API request acts as: the `Principal` for each way in, or why there is none.

- **Unix socket**: the peer's uid (SO_PEERCRED), never a header. `control.socket_roles`
  maps uid numbers or user names to roles; without an entry root (0) and the user
  PETRA runs as are admin, any other uid that can open the 0660 socket is viewer.
  An entry wins over those defaults (a config may demote root on the socket).
- **TCP, `Authorization: Bearer T`**: a `control.tcp.tokens` entry (`token:<name>`,
  its `role`) or a user's API token from the users file (through the identity).
  Tokens are compared as SHA-256 digests with `hmac.compare_digest`, every
  configured one each time, so the time taken says nothing about which matched.
  A wrong token counts as a failure against the client's address (lock-out:
  429 with Retry-After once locked; `petra.security.lockout`).
- **TCP, cookie `petra_session`**: a session made by `POST /v1/login`.
- **Neither**: `anonymous` viewer when `security.anonymous_viewer` is true, else 401.

Bearer beats cookie when a request carries both. Referer, Origin, Host and
X-Forwarded-* are never read: they are the client's to forge.
"""

from __future__ import annotations

import hmac
import logging
import os
import pwd
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from petra.config.sections import SecuritySettings
from petra.config.settings import declared_default
from petra.control.settings import ControlSettings, TcpSettings, Token
from petra.security.identity import Identity, LoginRefused
from petra.security.roles import Principal, Role, parse_role
from petra.security.users import UsersFileError, token_digest
from petra.wiring import Audit

if TYPE_CHECKING:
    from petra.config.model import PlantConfig

log = logging.getLogger(__name__)

SESSION_COOKIE = "petra_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing: a cookie request needs no CSRF token for them."""


class Refused(Exception):
    """No principal: answer `status` (401, 429, 503) with `message`; `retry_after` seconds for a 429."""

    def __init__(self, status: int, message: str, retry_after: int | None = None, audit: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.audit = audit
        """The audit event the server still has to record (None: recorded already, by the identity).
        `auth.missing` (no credentials) and `auth.session_unknown` cost an attacker nothing, so the server
        records them once per address and minute; a wrong token or password counts towards a lock-out."""


@dataclass(frozen=True)
class ConfigToken:
    """A `control.tcp.tokens` entry: its name, the SHA-256 of its secret and its role."""

    name: str
    digest: bytes
    role: Role


def config_tokens(tcp: TcpSettings | None) -> tuple[ConfigToken, ...]:
    """`control.tcp.tokens` as `ConfigToken`s (the secrets themselves are not kept).

    An unnamed token is `tokenN` (its position, from 1); a bare string has the
    declared default role (operator), as a mapping without `role` does.
    """
    found = []
    for i, entry in enumerate(tcp.tokens if tcp is not None else (), 1):
        if isinstance(entry, str):
            found.append(ConfigToken(f"token{i}", _digest(entry), parse_role(declared_default(Token, "role"))))
        else:
            found.append(ConfigToken(entry.name or f"token{i}", _digest(entry.token), parse_role(entry.role)))
    return tuple(found)


def _digest(token: str) -> bytes:
    """The SHA-256 of a token, as the users file keeps its tokens' (`petra.security.users.token_digest`)."""
    return bytes.fromhex(token_digest(token))


@dataclass(frozen=True)
class SocketRoles:
    """The role of each Unix peer uid: `control.socket_roles`, then root and PETRA's own uid admin, else viewer."""

    by_uid: Mapping[int, Role] = field(default_factory=dict)
    by_name: Mapping[str, Role] = field(default_factory=dict)
    own_uid: int = field(default_factory=os.getuid)

    @classmethod
    def from_settings(cls, mapping: Mapping[str, str], own_uid: int | None = None) -> SocketRoles:
        """From `control.socket_roles` (keys are uid numbers or user names, already validated)."""
        by_uid: dict[int, Role] = {}
        by_name: dict[str, Role] = {}
        for key, role in mapping.items():
            if str(key).isdigit():
                by_uid[int(key)] = parse_role(role)
                continue
            by_name[str(key)] = parse_role(role)
            try:
                pwd.getpwnam(str(key))
            except KeyError:
                log.warning("control.socket_roles names user '%s', who does not exist on this machine: the "
                            "entry applies if that user is created", key)
        return cls(by_uid, by_name, os.getuid() if own_uid is None else own_uid)

    def role_of(self, uid: int) -> Role:
        if uid in self.by_uid:
            return self.by_uid[uid]
        if self.by_name:
            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:
                name = None
            if name is not None and name in self.by_name:
                return self.by_name[name]
        return Role.ADMIN if uid in (0, self.own_uid) else Role.VIEWER


RETRY_USERS_FILE_S = 10.0


class Identities:
    """The plant's one `Identity` (users file, lock-out, sessions), kept across restarts of the control actor.

    The wiring keeps it (`petra.control.children`), so a restarted control API
    keeps its sessions and lock-outs. It is made anew when a setting it is built
    from changes (`security.users_file`, the lock-out's or the sessions'
    limits; a reload applies them at the next request), which ends every
    session. A users file that cannot be used (group- or world-readable,
    malformed) is logged and leaves no identity (no logins, no user tokens;
    config tokens and the socket still work); it is tried again at a request
    `RETRY_USERS_FILE_S` later.
    """

    def __init__(self, audit: Audit, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], float] = time.time) -> None:
        self.audit = audit
        self._clock = clock
        self._now = now
        """The identity's clock (sessions, lock-out): a test injects its own."""
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._identity: Identity | None = None
        self._failed_at: float | None = None

    def current(self, security: SecuritySettings) -> Identity | None:
        key = (security.users_file, security.max_failed_auth_attempts, security.lockout_window_minutes,
               security.session_timeout_minutes, security.session_max_hours)
        with self._lock:
            if key == self._key and (self._identity is not None or (
                    self._failed_at is not None and self._clock() - self._failed_at < RETRY_USERS_FILE_S)):
                return self._identity
            self._key, self._identity, self._failed_at = key, None, None
            try:
                self._identity = Identity(security.users_file, security, now=self._now, audit=self.audit)
            except UsersFileError as exc:
                self._failed_at = self._clock()
                log.error("control API: the users file cannot be used, so nobody can log in or use a user "
                          "token until it is fixed (tried again every %g s):\n%s", RETRY_USERS_FILE_S, exc)
            return self._identity


class Authenticator:
    """Turns a request's transport and headers into a `Principal`, or raises `Refused`.

    `security` gives the running config's security settings (a reload's
    `anonymous_viewer` applies at the next request); `identities` the users
    file, lock-out and sessions (None: an API without them, config tokens only
    and no lock-out).
    """

    def __init__(self, tokens: tuple[ConfigToken, ...] = (), socket_roles: SocketRoles | None = None,
                 identities: Identities | None = None,
                 security: Callable[[], SecuritySettings] = SecuritySettings) -> None:
        self.tokens = tokens
        self.socket_roles = socket_roles or SocketRoles()
        self.identities = identities
        self.security = security

    @property
    def identity(self) -> Identity | None:
        return self.identities.current(self.security()) if self.identities is not None else None

    def unix(self, uid: int) -> Principal:
        return Principal(f"uid:{uid}", self.socket_roles.role_of(uid), "unix", "unix")

    def tcp(self, address: str, authorization: str | None, cookie: str | None) -> Principal:
        """The principal of a TCP request from `address` (its Authorization header and session cookie)."""
        if authorization is not None and authorization.strip():
            return self._bearer(address, authorization)
        if cookie:
            return self._session(address, cookie)
        if self.security().anonymous_viewer:
            return Principal("anonymous", Role.VIEWER, "anonymous", address)
        raise Refused(401, "this request carries no credentials: send Authorization: Bearer <token>, or log in "
                           "(POST /v1/login)", audit="auth.missing")

    def _bearer(self, address: str, header: str) -> Principal:
        """A config token or a user's API token; a failure counts against `address` (the identity audits it)."""
        identity = self.identity
        if identity is not None and (locked := identity.token_refusal(address)) is not None:
            raise _refused(locked)
        scheme, _, offered = header.strip().partition(" ")
        token = offered.strip() if scheme.lower() == "bearer" else ""
        if token:
            digest = _digest(token)
            found = None
            for entry in self.tokens:  # every entry, whatever matched: the time says nothing
                if hmac.compare_digest(digest, entry.digest):
                    found = entry
            if found is not None:
                return Principal(f"token:{found.name}", found.role, "token", address)
            match = identity.check_user_token(token) if identity is not None else None
            if match is not None:
                return match.principal(address)
        if identity is None:
            raise Refused(401, "invalid bearer token", audit="auth.token_failed")
        failed = identity.token_failed(address)
        message = "invalid bearer token" if token else "the Authorization header must be 'Bearer <token>'"
        raise _refused(failed, message if failed.status == 401 else None)

    def _session(self, address: str, token: str) -> Principal:
        identity = self.identity
        principal = identity.session_principal(token, address) if identity is not None else None
        if principal is None:
            raise Refused(401, "no such session (it expired, was ended, or PETRA restarted): log in again "
                               "(POST /v1/login)", audit="auth.session_unknown")
        return principal


def _refused(refusal: LoginRefused, message: str | None = None) -> Refused:
    """The identity's refusal (which it audited itself) as a `Refused` to answer."""
    return Refused(refusal.status, message or refusal.reason, refusal.retry_after)


def authenticator(config: PlantConfig, identities: Identities | None = None,
                  security: Callable[[], SecuritySettings] | None = None, own_uid: int | None = None) -> Authenticator:
    """The authenticator of `config`'s control section (its tokens and socket roles; a change restarts the
    control actor); `security` the running config's security settings (default: `config`'s)."""
    settings = config.settings("control", ControlSettings)
    return Authenticator(config_tokens(settings.tcp), SocketRoles.from_settings(settings.socket_roles, own_uid),
                         identities, security or (lambda: config.security))


def csrf_refusal(principal: Principal, method: str, offered: str | None) -> str | None:
    """Why a cookie-authenticated request that changes something is refused (None: it may go on).

    A session's requests other than GET/HEAD/OPTIONS must carry its CSRF token in
    `X-CSRF-Token`: a page of another site can make the browser send the cookie,
    but it can neither read the token nor set the header. Bearer and Unix-socket
    requests carry no ambient credentials and need none.
    """
    if principal.via != "session" or method in SAFE_METHODS:
        return None
    if not offered or principal.csrf is None:
        return f"a request with a session cookie needs the {CSRF_HEADER} header (the csrf of POST /v1/login)"
    if not hmac.compare_digest(offered.encode("utf-8", "surrogatepass"), principal.csrf.encode()):
        return f"the {CSRF_HEADER} header does not match this session's token"
    return None
