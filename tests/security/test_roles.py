"""Roles: names, order, aliases, and the principal's audit name."""

from __future__ import annotations

import pytest

from petra.audit import AuditLog
from petra.security.roles import ROLE_NAMES, Principal, Role, parse_role


def test_each_role_name_parses_to_the_role_of_that_name() -> None:
    assert [parse_role(n) for n in ROLE_NAMES] == [
        Role.VIEWER,
        Role.OPERATOR,
        Role.ENGINEER,
        Role.ADMIN,
    ]
    assert [r.label for r in Role] == list(ROLE_NAMES)


def test_administrator_is_accepted_as_admin_and_case_does_not_matter() -> None:
    assert parse_role("administrator") is Role.ADMIN
    assert parse_role(" Operator ") is Role.OPERATOR


@pytest.mark.parametrize("bad", ["root", "", "superuser", "operators"])
def test_an_unknown_role_is_refused_naming_the_allowed_names(bad: str) -> None:
    with pytest.raises(ValueError, match="viewer, operator, engineer, admin"):
        parse_role(bad)


def test_a_non_string_role_is_refused() -> None:
    with pytest.raises(ValueError, match="viewer"):
        parse_role(3)  # type: ignore[arg-type]


def test_a_role_allows_everything_below_it_and_nothing_above() -> None:
    p = Principal(name="user:bob", role=Role.ENGINEER, via="session", address="127.0.0.1")
    assert p.allows(Role.VIEWER) and p.allows(Role.OPERATOR) and p.allows(Role.ENGINEER)
    assert not p.allows(Role.ADMIN)


def test_the_anonymous_principal_gets_an_audit_actor_the_trail_accepts(tmp_path) -> None:
    anon = Principal(name="anonymous", role=Role.VIEWER, via="anonymous", address="10.0.0.9")
    log = AuditLog(tmp_path / "audit.jsonl")
    entry = log.append("control.denied", anon.audit_actor, route="PUT /v1/signals/x")
    assert entry.actor == "anonymous:10.0.0.9"
    user = Principal(name="user:alice", role=Role.ADMIN, via="session", address="::1")
    assert user.audit_actor == "user:alice"
