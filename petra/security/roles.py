"""Roles and the principal a request acts as.

Four roles, each allowing everything the roles below it allow:

=========  ==============================================================
viewer     reads (tree, signals, status, history, alarms, the audit view)
operator   also acknowledges and shelves alarms, writes signals that allow it
engineer   also forces and unforces, reloads, restarts actors, injects faults
admin      also manages users and API tokens
=========  ==============================================================

`parse_role` accepts the four names and ``administrator`` (the original PETRA's
name for admin), case-insensitively, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

ROLE_NAMES = ("viewer", "operator", "engineer", "admin")
_ALIASES = {"administrator": "admin"}


class Role(IntEnum):
    """A role; a higher value allows everything a lower one does (`role >= Role.OPERATOR`)."""

    VIEWER = 0
    OPERATOR = 1
    ENGINEER = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        """The role's name as written in configs and shown to users (``"operator"``)."""
        return self.name.lower()


def parse_role(text: str) -> Role:
    """The role named `text`; ValueError naming the allowed names otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"a role must be one of {', '.join(ROLE_NAMES)}, got {text!r}")
    name = text.strip().lower()
    name = _ALIASES.get(name, name)
    if name not in ROLE_NAMES:
        raise ValueError(f"unknown role {text!r}: expected one of {', '.join(ROLE_NAMES)}")
    return Role[name.upper()]


@dataclass(frozen=True)
class Principal:
    """Who a request acts as, once authenticated.

    `name` is what the audit trail shows (``uid:1000``, ``user:alice``,
    ``token:ops``, ``session:alice``, ``anonymous``); `via` says how the caller
    got in (``"unix"``, ``"token"``, ``"session"``, ``"anonymous"``); `address`
    is the peer address or ``"unix"``; `user` the users-file user behind a user
    token or session; `csrf` the session's CSRF token when `via` is ``"session"``.
    """

    name: str
    role: Role
    via: str
    address: str
    user: str | None = None
    csrf: str | None = None

    @property
    def audit_actor(self) -> str:
        """`name` as the audit trail accepts it (``<kind>:<id>``): ``anonymous`` becomes
        ``anonymous:<address>``, since `petra.audit` refuses an actor without a kind."""
        if ":" in self.name:
            return self.name
        return f"{self.name}:{self.address or 'unknown'}"

    def allows(self, needed: Role) -> bool:
        """Whether this principal's role is `needed` or above."""
        return self.role >= needed
