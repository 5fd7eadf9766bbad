"""Who may call what: the one table of the control API's routes and the least role each needs.

Every built-in route's role is here, in `BUILT_IN`; a section's routes carry
theirs in their `Route` (the alarm routes: reads viewer, acknowledge, shelve
and reset operator, taking an alarm out of service engineer). `ControlApi`
refuses to register a built-in route this table does not name, and checks the
caller's role against the matched route before its handler runs, so no route
can be reached without a decision.

=========  ====================================================================
OPEN       the way in: `POST /v1/login` (no credentials needed, none checked)
viewer     every read: status, tree, signals, history, events, the caller's own session, alarms
operator   `PUT /v1/signals/NAME` (and the signal's own `writable_by`), alarm ack/shelve/unshelve/reset
engineer   force and unforce, reload, restart an actor, inject a fault, alarm disable/enable
admin      users and API tokens: list, add, change, remove, unlock; create, revoke
=========  ====================================================================

A signal write needs both the route's operator and the signal's
`writable_by` (`write_refusal`): a signal something in the plant writes (a
block, a driver, the alarm or storage runtime) has none and cannot be written
remotely at all, whoever asks; force it instead (engineer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from petra.security.roles import Role

if TYPE_CHECKING:
    from petra.config.model import SignalConfig

OPEN: Final = None
"""The least role of a route anyone may call without credentials (only the login)."""


@dataclass(frozen=True)
class Rule:
    """A built-in route (`pattern` as `ControlApi.add_route` spells it) and the least role it needs."""

    method: str
    pattern: str
    role: Role | None
    doc: str = ""


NAME = r"(?P<name>[^/]+)"
ID = r"(?P<id>[^/]+)"

BUILT_IN: tuple[Rule, ...] = (
    Rule("GET", r"/v1/status", Role.VIEWER),
    Rule("GET", r"/v1/tree", Role.VIEWER),
    Rule("GET", r"/v1/signals", Role.VIEWER),
    Rule("GET", rf"/v1/signals/{NAME}", Role.VIEWER),
    Rule("PUT", rf"/v1/signals/{NAME}", Role.OPERATOR, "and the signal's writable_by"),
    Rule("POST", rf"/v1/signals/{NAME}/force", Role.ENGINEER),
    Rule("DELETE", rf"/v1/signals/{NAME}/force", Role.ENGINEER),
    Rule("GET", r"/v1/events", Role.VIEWER, "served by the HTTP server itself (a stream)"),
    Rule("GET", r"/v1/history", Role.VIEWER),
    Rule("POST", r"/v1/reload", Role.ENGINEER),
    Rule("POST", r"/v1/actors/restart", Role.ENGINEER),
    Rule("POST", r"/v1/actors/inject", Role.ENGINEER),
    Rule("POST", r"/v1/login", OPEN, "the way in"),
    Rule("POST", r"/v1/logout", Role.VIEWER, "ends the caller's session"),
    Rule("GET", r"/v1/session", Role.VIEWER, "who the caller is, and a session's CSRF token"),
    Rule("GET", r"/v1/users", Role.ADMIN),
    Rule("POST", r"/v1/users", Role.ADMIN),
    Rule("PUT", rf"/v1/users/{NAME}", Role.ADMIN, "a new role or password"),
    Rule("DELETE", rf"/v1/users/{NAME}", Role.ADMIN),
    Rule("POST", rf"/v1/users/{NAME}/unlock", Role.ADMIN),
    Rule("GET", r"/v1/tokens", Role.ADMIN),
    Rule("POST", r"/v1/tokens", Role.ADMIN),
    Rule("DELETE", rf"/v1/tokens/{ID}", Role.ADMIN),
)

_BY_ROUTE = {(rule.method, rule.pattern): rule for rule in BUILT_IN}
EVENTS = next(rule for rule in BUILT_IN if rule.pattern == r"/v1/events")
EVENTS_PATH = re.compile(EVENTS.pattern + r"/?")


def built_in_role(method: str, pattern: str) -> Role | None:
    """The least role of a built-in route; KeyError for a route this table does not decide."""
    try:
        return _BY_ROUTE[(method, pattern)].role
    except KeyError:
        raise KeyError(f"{method} {pattern} has no role in petra.control.access.BUILT_IN: add one") from None


def label(role: Role | None) -> str:
    """`operator`, or `open` for the login."""
    return "open" if role is None else role.label


def write_refusal(spec: SignalConfig, role: Role) -> str | None:
    """Why a caller with `role` may not write `spec` remotely; None when it may.

    `writable_by` (settled by the config loader: None for a signal something in
    the plant writes, or that is `writable: false`) is the least role; a config
    model without it (before `writable_by` existed) reads as operator where
    `writable` is true.
    """
    if not spec.writable:
        return f"'{spec.name}' is not writable (writable: false in the config)"
    needed = getattr(spec, "writable_by", Role.OPERATOR)
    if needed is None:
        writer = getattr(spec, "written_by", None)
        by = f" (it is written by {writer})" if writer else ""
        return (f"'{spec.name}' cannot be written remotely{by}; give it writable_by: <role> in the config, "
                "or force it (engineer)")
    if role < needed:
        return f"writing '{spec.name}' needs the {needed.label} role (writable_by); you are {role.label}"
    return None
