"""`petra opcua browse|read|write|subscribe|events` against a real asyncua server on loopback.

The peer is a plain asyncua Server (not PETRA's: the tool is for any server) in its own
thread and event loop, as a SCADA server on the network would be: one open on policy None
with two users, one on Basic256Sha256 SignAndEncrypt only.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole

from petra.cli import main
from tests.harness import free_port
from tests.helpers import wait_until

pytestmark = pytest.mark.timeout(180)  # asyncua Server.init takes ~1 s idle, a minute at load 25


class Users:
    """`op` may write, `view` may only read (asyncua's User role), anonymous reads, a wrong password is refused."""

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if username is None:
            return User(role=UserRole.User, name="anonymous")
        if password != "secret":
            return None
        return {"op": User(role=UserRole.Admin, name="op"), "view": User(role=UserRole.User, name="view")}.get(
            username or "")


def make_cert(directory: Path, name: str, uri: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=URI:{uri},IP:127.0.0.1,DNS:localhost",
         "-addext", "keyUsage=digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment,keyCertSign",
         "-addext", "extendedKeyUsage=serverAuth,clientAuth", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


class Peer:
    """An asyncua server in a thread with its own loop; `call` runs a coroutine there."""

    def __init__(self, secure: Path | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="peer-opcua", daemon=True)
        self.thread.start()
        self.port = free_port()
        self.endpoint = f"opc.tcp://127.0.0.1:{self.port}"
        self.server_cert: Path | None = None
        self.call(self._start(secure))

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(150)

    async def _start(self, secure: Path | None) -> None:
        server = self.server = Server(user_manager=Users())  # type: ignore[arg-type]
        await server.init()
        server.set_endpoint(self.endpoint)
        if secure is None:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        else:
            uri = "urn:petra:test:peer"
            await server.set_application_uri(uri)
            self.server_cert, key = make_cert(secure, "server", uri)
            await server.load_certificate(str(self.server_cert))
            await server.load_private_key(str(key))
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        ns = self.ns = await server.register_namespace("urn:petra:test")
        plant = await server.nodes.objects.add_folder(ua.NodeId("tank1", ns), "tank1")
        self.level = await plant.add_variable(ua.NodeId("tank1.level", ns), "level", 42.5, ua.VariantType.Double)
        await self.level.add_property(ua.NodeId("tank1.level.EU", ns), "EngineeringUnits",
                                      ua.EUInformation(DisplayName=ua.LocalizedText("m"),
                                                       Description=ua.LocalizedText("metre")),
                                      datatype=ua.NodeId(ua.ObjectIds.EUInformation))
        self.setpoint = await plant.add_variable(ua.NodeId("tank1.setpoint", ns), "setpoint", 7, ua.VariantType.Int32)
        await self.setpoint.set_writable()
        self.pump = await plant.add_variable(ua.NodeId("tank1.pump", ns), "pump", False, ua.VariantType.Boolean)
        await self.pump.set_writable()
        self.events = await server.get_event_generator()
        await server.start()

    def subscriptions(self) -> int:
        return len(self.server.iserver.subscription_service.subscriptions)

    def stop(self) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def secure_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    p = Peer(tmp_path_factory.mktemp("pki"))
    yield p
    p.stop()


def run_beside(function: Any, *args: Any) -> Any:
    """`function(*args)` on a thread of its own (see tests.helpers.run_apart: the web tests' Playwright loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


def tool(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = run_beside(main, ["opcua", *argv])  # the tool calls asyncio.run: not in a thread with a running loop
    out, err = capsys.readouterr()
    return status, out, err


def test_browse_prints_the_tree_to_the_depth_asked(peer: Peer, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = tool(capsys, "browse", "--endpoint", peer.endpoint, "--depth", "2")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("0:Objects")
    tank = next(line for line in lines if f"ns={peer.ns};s=tank1]" in line)
    assert tank.startswith("  ") and "Object" in tank
    level = next(line for line in lines if f"ns={peer.ns};s=tank1.level]" in line)
    assert level.startswith("    ") and "Variable" in level
    assert not any("EngineeringUnits" in line for line in lines)  # depth 3, not shown

    status, out, _ = tool(capsys, "browse", "--endpoint", peer.endpoint, "--node", f"ns={peer.ns};s=tank1",
                          "--depth", "1", "--values", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    by_name = {r["browse_name"]: r for r in records}
    assert by_name["0:level"]["value"] == 42.5 and by_name["0:level"]["status"] == "Good"
    assert by_name["0:pump"]["value"] is False


def test_read_shows_value_type_unit_status_and_time(peer: Peer, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = tool(capsys, "read", "--endpoint", peer.endpoint, "--ns", "urn:petra:test", "tank1.level",
                          f"ns={peer.ns};s=tank1.setpoint")
    assert status == 0
    level, setpoint = out.splitlines()
    assert level.startswith("tank1.level = 42.5 m  Double  Good  source 20")
    assert setpoint.startswith(f"ns={peer.ns};s=tank1.setpoint = 7  Int32  Good")

    status, out, _ = tool(capsys, "read", "--endpoint", peer.endpoint, "--json", f"ns={peer.ns};s=tank1.level")
    record = json.loads(out)
    assert record["value"] == 42.5 and record["type"] == "Double" and record["unit"] == "m"
    assert record["status"] == "Good" and record["source_timestamp"]


def test_read_of_an_unknown_node_says_so(peer: Peer, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = tool(capsys, "read", "--endpoint", peer.endpoint, f"ns={peer.ns};s=nothing.here")
    assert status == 1
    assert "BadNodeIdUnknown" in out


def test_write_is_typed_by_the_node_and_reports_each_node(peer: Peer, capsys: pytest.CaptureFixture[str]) -> None:
    ns = peer.ns
    # one request: the read-only level is refused, the other two are written as their own types
    status, out, _ = tool(capsys, "write", "--endpoint", peer.endpoint, "--user", "view", "--password", "secret",
                          f"ns={ns};s=tank1.setpoint=12", f"ns={ns};s=tank1.level=1.5", f"ns={ns};s=tank1.pump=on")
    assert status == 1, out
    assert out.splitlines() == [
        f"ns={ns};s=tank1.setpoint := 12 (Int32): Good",
        f"ns={ns};s=tank1.level := 1.5 (Double): BadUserAccessDenied (User does not have permission to perform the "
        "requested operation)",
        f"ns={ns};s=tank1.pump := on (Boolean): Good",
    ]
    assert peer.call(peer.setpoint.read_value()) == 12
    assert peer.call(peer.pump.read_value()) is True
    assert peer.call(peer.level.read_value()) == 42.5
    status, out, _ = tool(capsys, "write", "--endpoint", peer.endpoint, "--user", "op", "--password", "secret",
                          f"ns={ns};s=tank1.setpoint=7", f"ns={ns};s=tank1.pump=false")
    assert status == 0, out
    assert peer.call(peer.setpoint.read_value()) == 7
    assert peer.call(peer.pump.read_value()) is False


def test_write_refuses_a_value_that_is_not_of_the_nodes_type(peer: Peer, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETRA_OPCUA_PASSWORD", "secret")
    status, _, err = tool(capsys, "write", "--endpoint", peer.endpoint, "--user", "op",
                          f"ns={peer.ns};s=tank1.setpoint=high")
    assert status == 2
    assert "'high' is not a whole number for Int32" in err
    status, _, err = tool(capsys, "write", "--endpoint", peer.endpoint, "--user", "op",
                          f"ns={peer.ns};s=tank1.setpoint=3000000000")
    assert status == 2 and "does not fit in Int32" in err
    # --type sends another type: the server's exact type check answers
    status, out, _ = tool(capsys, "write", "--endpoint", peer.endpoint, "--user", "op", "--type", "Double",
                          f"ns={peer.ns};s=tank1.setpoint=3.5")
    assert status == 1 and "BadTypeMismatch" in out
    assert peer.call(peer.setpoint.read_value()) == 7


def _in_thread(target: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.setdefault("status", target()), daemon=True)
    thread.start()
    return thread, result


def test_subscribe_prints_the_value_then_each_change(peer: Peer, capsys: pytest.CaptureFixture[str]) -> None:
    before = peer.subscriptions()
    thread, result = _in_thread(lambda: main(["opcua", "subscribe", "--endpoint", peer.endpoint, "--interval-ms",
                                              "20", "--count", "2", "--seconds", "30",
                                              f"ns={peer.ns};s=tank1.level"]))
    wait_until(lambda: peer.subscriptions() > before and peer.server.iserver.subscription_service.subscriptions)
    wait_until(lambda: any(s.monitored_item_srv._monitored_items
                           for s in peer.server.iserver.subscription_service.subscriptions.values()))
    peer.call(peer.level.write_value(43.25))
    thread.join(30)
    out = capsys.readouterr().out
    assert result["status"] == 0
    first, second = out.splitlines()
    assert first.endswith("tank1.level = 42.5  Good") or first.endswith("tank1.level = 43.25  Good")
    assert second.endswith("tank1.level = 43.25  Good")
    peer.call(peer.level.write_value(42.5))


def test_events_prints_events_of_the_server_object(peer: Peer, capsys: pytest.CaptureFixture[str]) -> None:
    before = peer.subscriptions()
    thread, result = _in_thread(lambda: main(["opcua", "events", "--endpoint", peer.endpoint, "--interval-ms", "20",
                                              "--count", "1", "--seconds", "30", "--json"]))
    wait_until(lambda: peer.subscriptions() > before and any(
        s.monitored_item_srv._monitored_items for s in peer.server.iserver.subscription_service.subscriptions.values()))
    peer.events.event.Severity = 500
    peer.call(peer.events.trigger(message="pump tripped"))
    thread.join(30)
    assert result["status"] == 0
    fields = json.loads(capsys.readouterr().out)
    assert fields["Message"] == "pump tripped" and fields["Severity"] == 500
    assert fields["EventType"] == "BaseEventType" and fields["SourceName"] == "Server"


def test_an_unreachable_endpoint_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = tool(capsys, "read", "--endpoint", f"opc.tcp://127.0.0.1:{free_port()}", "i=2258")
    assert status == 1 and out == ""
    assert err.startswith("petra opcua: cannot reach opc.tcp://127.0.0.1:") and "refused" in err.lower()


def test_a_wrong_password_is_refused_with_the_servers_reason(peer: Peer, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = tool(capsys, "read", "--endpoint", peer.endpoint, "--user", "op", "--password", "nope", "i=2258")
    assert status == 1
    assert "refused user 'op'" in err and "Bad" in err


def test_a_policy_the_server_does_not_offer_is_named(peer: Peer, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    cert, key = make_cert(tmp_path, "client", "urn:petra:test:client")
    status, _, err = tool(capsys, "read", "--endpoint", peer.endpoint, "--cert", str(cert), "--key", str(key),
                          "i=2258")
    assert status == 1
    assert "offers no endpoint with security Basic256Sha256_SignAndEncrypt (it offers: None)" in err
    status, _, err = tool(capsys, "read", "--endpoint", peer.endpoint, "--policy", "Basic128_Sign", "i=2258")
    assert status == 2 and "unknown --policy 'Basic128_Sign'" in err


def test_sign_and_encrypt_with_a_client_certificate(secure_peer: Peer, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    cert, key = make_cert(tmp_path, "client", "urn:petra:test:client")
    assert secure_peer.server_cert is not None
    status, out, err = tool(capsys, "read", "--endpoint", secure_peer.endpoint, "--cert", str(cert), "--key", str(key),
                            "--trust-server", str(secure_peer.server_cert), "--user", "view", "--password", "secret",
                            f"ns={secure_peer.ns};s=tank1.level")
    assert status == 0, err
    assert out.startswith(f"ns={secure_peer.ns};s=tank1.level = 42.5 m  Double  Good")
    # without a client certificate the only endpoint cannot be used
    status, _, err = tool(capsys, "read", "--endpoint", secure_peer.endpoint, "i=2258")
    assert status == 1 and "(it offers: Basic256Sha256_SignAndEncrypt)" in err


def test_a_server_certificate_that_is_not_the_trusted_one_is_refused(secure_peer: Peer, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    cert, key = make_cert(tmp_path, "client", "urn:petra:test:client")
    other, _ = make_cert(tmp_path, "impostor", "urn:petra:test:peer")
    status, out, err = tool(capsys, "read", "--endpoint", secure_peer.endpoint, "--cert", str(cert), "--key", str(key),
                            "--trust-server", str(other), "i=2258")
    assert status == 1 and out == ""
    assert "not the trusted" in err and "refused" in err
