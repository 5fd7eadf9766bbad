"""Who an OPC-UA session acts as: PETRA's users file through the shared `Identities`, with its lock-out.

asyncua asks `get_user` at ActivateSession (synchronously, on the server's loop). A user name and password
are checked with `Identity.login` (Argon2id, the same lock-out by user and by client address as the control
API and the web HMI; the short-lived PETRA session it makes is ended at once: the OPC-UA session is the
session). Anonymous is let in only with `allow_anonymous`, and then as a viewer. asyncua's own roles are
never Admin for a client (Admin may add and delete nodes): every PETRA user is asyncua's `User`, and what it
may do is decided by its `principal` (`petra.security.roles.Principal`, role re-read from the users file
at each write, so a role change or a lock applies to open sessions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asyncua.crypto.permission_rules import User, UserRole

from petra.security.roles import Principal, Role

if TYPE_CHECKING:
    from petra.config.sections import SecuritySettings
    from petra.control.auth import Identities
    from petra.wiring import Audit

log = logging.getLogger(__name__)

VIA = "opcua"


@dataclass
class PetraUser(User):
    """asyncua's session user with the PETRA principal it acts as."""

    principal: Principal | None = None


def principal_of(user: Any) -> Principal | None:
    """The PETRA principal of an asyncua session user (None: not one of ours, e.g. the server's own)."""
    return getattr(user, "principal", None)


def current_principal(identities: Identities, security: SecuritySettings, principal: Principal) -> Principal | None:
    """`principal` with its role as the users file says now; None when the user is gone or locked (a session
    opened before a demotion or a lock acts no more with the rights it had: writes and alarm methods alike)."""
    if principal.user is None:
        return principal  # anonymous: always the viewer
    identity = identities.current(security)
    if identity is None:
        return None
    user = identity.file.users.get(principal.user)
    if user is None or user.locked:
        return None
    if user.role == principal.role:
        return principal
    return Principal(principal.name, user.role, principal.via, principal.address, user=principal.user)


class Authority:
    """PETRA's side of a login (in PETRA's process): the users file through the shared `Identities`."""

    def __init__(self, identities: Identities, security: Callable[[], SecuritySettings]) -> None:
        self.identities = identities
        self.security = security

    def login(self, username: str, password: str, address: str) -> Role | str:
        """The user's role, or why not: "login" (no such user, wrong password) or "locked_out"."""
        identity = self.identities.current(self.security())
        if identity is None:
            return "login"
        result = identity.login(username, password, address)
        token = getattr(result, "token", None)
        if token is None:  # LoginRefused: wrong password, no such user, locked out (the identity audited it)
            return "locked_out" if getattr(result, "status", 401) == 429 else "login"
        identity.logout(token, address)
        role = getattr(result, "role", Role.VIEWER)
        return role if isinstance(role, Role) else Role.VIEWER

    def current(self, principal: Principal) -> Principal | None:
        """`principal` with its role as the users file says now; None when the user is gone or locked."""
        return current_principal(self.identities, self.security(), principal)


class PetraUserManager:
    """asyncua's user manager over PETRA's users; `peer` is the client address of the activation under way.

    `authority` is an `Authority`, or in the server's own process its stand-in that asks PETRA's."""

    def __init__(self, authority: Any, allow_anonymous: bool, audit: Audit,
                 on_refused: Callable[[str], None] = lambda reason: None) -> None:
        self.authority = authority
        self.allow_anonymous = allow_anonymous
        self.audit = audit
        self.on_refused = on_refused
        self.peer = "unknown"
        """Set by the server around each ActivateSession (asyncua's call does not pass the session)."""

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        address = self.peer
        if username is None:
            if not self.allow_anonymous:
                self.audit("auth.missing", f"anonymous:{address}", via=VIA, address=address)
                self.on_refused("anonymous")
                return None
            return PetraUser(role=UserRole.User, name="anonymous",
                             principal=Principal("anonymous", Role.VIEWER, "anonymous", address))
        if not isinstance(password, str):
            self.on_refused("login")
            return None
        try:
            role = self.authority.login(username, password, address)
        except Exception:  # PETRA could not answer: nobody gets in
            log.exception("OPC-UA: the login of %r could not be checked", username)
            role = "login"
        if not isinstance(role, Role):
            self.on_refused(str(role))
            return None
        return PetraUser(role=UserRole.User, name=username,
                         principal=Principal(f"user:{username}", role, VIA, address, user=username))

    def current_principal(self, principal: Principal) -> Principal | None:
        """`principal` with its role as the users file says now; None when the user is gone or locked."""
        return self.authority.current(principal)
