"""Users' API tokens and the admin routes over the real listener; write rights per signal (`writable_by`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from petra.security.roles import Role
from tests.control.access_support import Served, serve
from tests.control.test_control_server import UnixHTTPConnection, request
from tests.harness import free_port
from tests.security.cheap_hashes import cheap_hashes as cheap_hashes

ADMIN_TOKEN = "admin-token-0123456789abcdef"
TOKENS = {role: f"{role}-token-0123456789abcdef" for role in ("operator", "engineer")}


@pytest.fixture
def served(tmp_path: Path, cheap_hashes: None) -> Iterator[Served]:
    plant = serve(tmp_path, {"alice": Role.ENGINEER, "bob": Role.OPERATOR},
                  tokens=[{"name": "admin", "token": ADMIN_TOKEN, "role": "admin"},
                          *({"name": r, "token": t, "role": r} for r, t in TOKENS.items())],
                  signals=[{"name": "limit", "type": "float", "initial": 1.0, "writable_by": "engineer"},
                           {"name": "pressure", "type": "float"},
                           {"name": "opened", "type": "float", "writable_by": "operator"}],
                  extra={"mqtt": {"broker_host": "127.0.0.1", "broker_port": free_port(),
                                  "subscriptions": [{"topic": "p", "signal": "pressure", "data_type": "float"},
                                                    {"topic": "o", "signal": "opened", "data_type": "float"}]}})
    yield plant
    plant.stop()


def test_a_users_token_acts_as_the_user_with_at_most_their_role_and_a_revoked_one_is_refused(served):
    made = served.call("POST", "/v1/tokens", {"user": "bob", "name": "bobs-script"}, token=ADMIN_TOKEN)
    assert made.status == 200 and made.headers["Cache-Control"] == "no-store"
    token = made.body["token"]
    assert made.body["user"] == "bob" and made.body["role"] == "operator" and "sha256" not in made.body
    write = served.call("PUT", "/v1/signals/setpoint", {"value": 21}, token=token)
    assert write.status == 200
    assert served.audit_entries("signal.set")[-1]["actor"] == "token:bobs-script"
    assert served.call("POST", "/v1/reload", token=token).status == 403
    listed = served.call("GET", "/v1/tokens?user=bob", token=ADMIN_TOKEN)
    assert [t["name"] for t in listed.body["tokens"]] == ["bobs-script"]
    assert all("sha256" not in t and "token" not in t for t in listed.body["tokens"])

    revoked = served.call("DELETE", f"/v1/tokens/{made.body['id']}", token=ADMIN_TOKEN)
    assert revoked.status == 200 and revoked.body["revoked"]["id"] == made.body["id"]
    after = served.call("GET", "/v1/status", token=token)
    assert after.status == 401
    assert [e["details"]["token"] for e in served.audit_entries("token.revoke")] == [made.body["id"]]
    assert all(token not in line for line in served.audit.read_text().splitlines())  # never the secret


def test_a_token_cannot_carry_more_than_its_users_role(served):
    reply = served.call("POST", "/v1/tokens", {"user": "bob", "role": "admin"}, token=ADMIN_TOKEN)
    assert reply.status == 409 and "operator" in reply.body["error"]
    assert served.call("POST", "/v1/tokens", {"user": "nobody"}, token=ADMIN_TOKEN).status == 404


def test_admin_routes_add_and_list_users_without_their_hashes(served):
    added = served.call("POST", "/v1/users", {"name": "carol", "role": "viewer", "password": "a long password"},
                        token=ADMIN_TOKEN)
    assert added.status == 200 and added.body["role"] == "viewer" and "password_hash" not in added.body
    assert served.login("carol", "a long password").status == 200
    listed = served.call("GET", "/v1/users", token=ADMIN_TOKEN)
    assert sorted(u["name"] for u in listed.body["users"]) == ["alice", "bob", "carol"]
    assert all("password_hash" not in u for u in listed.body["users"])
    for body, status in (({"name": "carol", "role": "viewer", "password": "a long password"}, 409),
                         ({"name": "dave", "role": "superuser", "password": "a long password"}, 400),
                         ({"name": "dave", "role": "viewer", "password": "short"}, 400)):
        assert served.call("POST", "/v1/users", body, token=ADMIN_TOKEN).status == status, body
    assert served.call("GET", "/v1/users", token=TOKENS["engineer"]).status == 403
    assert served.audit_entries("user.add")[-1]["actor"] == "token:admin"


def test_the_unix_socket_is_admin_for_root_and_manages_users_without_any_token(served, tmp_path):
    conn = UnixHTTPConnection(tmp_path / "c.sock")
    status, body = request(conn, "POST", "/v1/users", {"name": "erin", "role": "operator",
                                                       "password": "a long password"})
    assert status == 200 and body["name"] == "erin"
    assert served.audit_entries("user.add")[-1]["actor"] == "uid:0"


def test_writable_by_sets_the_role_a_signal_write_needs(served):
    refused = served.call("PUT", "/v1/signals/limit", {"value": 2}, token=TOKENS["operator"])
    assert refused.status == 403
    assert refused.body["error"] == "writing 'limit' needs the engineer role (writable_by); you are operator"
    assert served.call("PUT", "/v1/signals/limit", {"value": 2}, token=TOKENS["engineer"]).status == 200
    assert served.runtime.plant.table.read("limit").value == 2.0
    denied = served.audit_entries("access.denied")[-1]
    assert denied["actor"] == "token:operator" and denied["details"]["signal"] == "limit"


def test_a_signal_a_driver_writes_cannot_be_written_remotely_unless_opened_not_even_by_an_admin(served, tmp_path):
    refused = served.call("PUT", "/v1/signals/pressure", {"value": 3}, token=ADMIN_TOKEN)
    assert refused.status == 403
    assert refused.body["error"].startswith("'pressure' cannot be written remotely (it is written by mqtt "
                                            "subscription 'p')")
    status, _ = request(UnixHTTPConnection(tmp_path / "c.sock"), "PUT", "/v1/signals/pressure", {"value": 3})
    assert status == 403  # root on the socket too: the driver owns it
    assert served.call("PUT", "/v1/signals/opened", {"value": 4}, token=TOKENS["operator"]).status == 200
    forced = served.call("POST", "/v1/signals/pressure/force", {"value": 3, "reason": "test"},
                         token=TOKENS["engineer"])
    assert forced.status == 200 and forced.body["forced"] is True  # forcing is the engineer's way
