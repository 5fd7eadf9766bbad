"""The pure parts of the control API's access: socket roles, config tokens, CSRF and write-rights decisions."""

from __future__ import annotations

import pwd

import pytest

from petra.config.model import SignalConfig
from petra.control.access import write_refusal
from petra.control.auth import Authenticator, Refused, SocketRoles, config_tokens, csrf_refusal
from petra.control.settings import TcpSettings, Token
from petra.security.roles import Principal, Role
from petra.values import DataType


def test_root_and_petras_own_uid_are_admin_anyone_else_viewer_unless_mapped():
    roles = SocketRoles.from_settings({"1500": "operator", "administrator": "engineer"}, own_uid=1234)
    assert roles.role_of(0) is Role.ADMIN
    assert roles.role_of(1234) is Role.ADMIN
    assert roles.role_of(1500) is Role.OPERATOR
    assert roles.role_of(4321) is Role.VIEWER
    assert SocketRoles.from_settings({"0": "viewer"}, own_uid=1234).role_of(0) is Role.VIEWER


def test_a_user_name_maps_the_uid_that_user_has():
    nobody = pwd.getpwnam("nobody").pw_uid
    roles = SocketRoles.from_settings({"nobody": "Administrator"}, own_uid=1234)
    assert roles.role_of(nobody) is Role.ADMIN
    assert SocketRoles.from_settings({str(nobody): "viewer", "nobody": "admin"}, own_uid=1234).role_of(
        nobody) is Role.VIEWER  # the uid number is the more precise entry


def test_config_tokens_keep_digests_names_and_roles_and_a_bare_string_is_an_operator():
    tokens = config_tokens(TcpSettings(port=1, tokens=("bare-secret", Token("named-secret", "ops", "engineer"),
                                                       Token("unnamed-secret", None, "viewer"))))
    assert [(t.name, t.role) for t in tokens] == [("token1", Role.OPERATOR), ("ops", Role.ENGINEER),
                                                  ("token3", Role.VIEWER)]
    assert all(b"secret" not in t.digest and len(t.digest) == 32 for t in tokens)


def test_bearer_matching_without_an_identity():
    auth = Authenticator(config_tokens(TcpSettings(port=1, tokens=(Token("s3cret-token", "ops", "viewer"),))))
    principal = auth.tcp("10.0.0.5", "Bearer s3cret-token", None)
    assert principal == Principal("token:ops", Role.VIEWER, "token", "10.0.0.5")
    assert auth.tcp("10.0.0.5", "bearer  s3cret-token ", None).name == "token:ops"  # the scheme is case-blind
    for header in ("Bearer s3cret-tokeN", "Basic czNjcmV0", "Bearer", "s3cret-token"):
        with pytest.raises(Refused) as refused:
            auth.tcp("10.0.0.5", header, None)
        assert refused.value.status == 401
    with pytest.raises(Refused) as refused:
        auth.tcp("10.0.0.5", None, None)
    assert refused.value.status == 401 and refused.value.audit == "auth.missing"


def session(csrf: str = "the-csrf-token") -> Principal:
    return Principal("session:bob", Role.OPERATOR, "session", "10.0.0.5", "bob", csrf)


@pytest.mark.parametrize(("principal", "method", "offered", "refused"), [
    (session(), "GET", None, False),
    (session(), "HEAD", None, False),
    (session(), "PUT", None, True),
    (session(), "POST", "", True),
    (session(), "DELETE", "the-csrf-tokeN", True),
    (session(), "POST", "the-csrf-token", False),
    (Principal("token:ops", Role.OPERATOR, "token", "10.0.0.5"), "PUT", None, False),
    (Principal("uid:0", Role.ADMIN, "unix", "unix"), "POST", None, False),
])
def test_only_a_cookie_request_that_changes_something_needs_its_csrf(principal, method, offered, refused):
    assert (csrf_refusal(principal, method, offered) is not None) is refused


def signal(**fields: object) -> SignalConfig:
    return SignalConfig(name="s", type=DataType.FLOAT, initial=0.0, **fields)  # type: ignore[arg-type]


def test_write_rights_name_why_a_write_is_refused():
    assert write_refusal(signal(), Role.OPERATOR) is None
    assert write_refusal(signal(), Role.VIEWER) == "writing 's' needs the operator role (writable_by); you are viewer"
    assert write_refusal(signal(writable_by=Role.ENGINEER), Role.OPERATOR) is not None
    assert write_refusal(signal(writable_by=Role.ENGINEER), Role.ADMIN) is None
    assert write_refusal(signal(writable=False, writable_by=None), Role.ADMIN) == (
        "'s' is not writable (writable: false in the config)")
    closed = write_refusal(signal(writable_by=None, written_by="mqtt subscription 'a'"), Role.ADMIN)
    assert closed is not None and closed.startswith("'s' cannot be written remotely (it is written by mqtt")
