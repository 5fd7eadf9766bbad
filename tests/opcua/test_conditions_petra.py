"""Alarms & Conditions through PETRA's own OPC-UA server (`opcua:` section, users file, PKI, SignAndEncrypt).

test_conditions.py drives the conditions on a plain asyncua server; this is the same
path end to end as an operator's SCADA client takes it: `petra run`'s runtime with an
`alarms:` and an `opcua:` section, PETRA's users, and asyncua's client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from petra.config.loader import load_config
from petra.opcua import conditions
from tests.harness import RunningPlant, free_port
from tests.helpers import wait_until
from tests.opcua.opcua_support import PASSWORD, USERS, Opcua, add_users, make_client_cert, plant_data, run

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def petra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Opcua]:
    tmp_path = tmp_path_factory.mktemp("petra-ac")
    users_file = tmp_path / "users.yaml"
    add_users(users_file, USERS)
    pki_dir = tmp_path / "pki"
    trusted = make_client_cert(tmp_path / "clients")
    (pki_dir / "trusted").mkdir(parents=True)
    (pki_dir / "trusted" / trusted.cert.name).write_bytes(trusted.cert.read_bytes())
    port = free_port()
    data = plant_data(port, users_file, pki_dir)
    data["alarms"] = {"state_dir": str(tmp_path / "alarms"), "contacts": [], "alarms": [
        {"id": "tank1_high", "name": "Tank 1 high", "signal": "tank1.level", "condition": "above", "setpoint": 80.0,
         "severity": "emergency", "require_acknowledgment": True,
         "message_template": "{name}: {value} {unit} (limit {setpoint} {unit})"},
    ]}
    config_path = tmp_path / "plant.yaml"
    config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    audit = tmp_path / "audit.log"
    with RunningPlant(load_config(config_path), control_socket=tmp_path / "c.sock", config_path=config_path,
                      audit_log=audit) as running:
        served = Opcua(tmp_path, f"opc.tcp://127.0.0.1:{port}/petra", running, audit, pki_dir, trusted)
        served.wait_ready()
        yield served


@contextlib.asynccontextmanager
async def connected(petra: Opcua, user: str) -> AsyncIterator[Client]:
    """As `Opcua.client`, with asyncua's server probe relaxed: its default (a 1 s read every second) ends the
    session when the machine is at load 30, which is not what these tests are about."""
    client = Client(petra.url, timeout=30, watchdog_intervall=30)
    client.application_uri = petra.trusted.uri
    await client.set_security(SecurityPolicyBasic256Sha256, str(petra.trusted.cert), str(petra.trusted.key),
                              mode=ua.MessageSecurityMode.SignAndEncrypt)
    client.set_user(user)
    client.set_password(PASSWORD)
    await client.connect()
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()


class Events:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def event_notification(self, event: Any) -> None:
        self.queue.put_nowait({k: v for k, v in vars(event).items() if k[0].isupper()})

    async def next(self, predicate: Any, timeout: float = 60.0) -> dict[str, Any]:
        async def first() -> dict[str, Any]:
            while True:
                fields = await self.queue.get()
                if predicate(fields):
                    return fields
        return await asyncio.wait_for(first(), timeout)


async def subscribe(client: Client) -> tuple[Any, Events]:
    events = Events()
    sub = await client.create_subscription(20, events)
    await sub.subscribe_events(client.get_node(ua.ObjectIds.Server),
                               [client.get_node(ua.ObjectIds.BaseEventType),
                                client.get_node(ua.ObjectIds.ExclusiveLimitAlarmType)])
    return sub, events


def write(petra: Opcua, value: float) -> None:
    petra.running.write("default", **{"tank1.level": value})


def view(petra: Opcua) -> dict[str, Any]:
    from petra.alarms.service import AlarmService

    service = AlarmService.of(petra.running.runtime.wiring)
    assert service is not None
    return service.views.get("tank1_high", {})


async def acknowledge(client: Client, node: ua.NodeId, event_id: bytes, comment: str) -> ua.StatusCode:
    request = ua.CallMethodRequest(ObjectId=node,
                                   MethodId=ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge),
                                   InputArguments=[ua.Variant(event_id, ua.VariantType.ByteString),
                                                   ua.Variant(ua.LocalizedText(comment), ua.VariantType.LocalizedText)])
    return (await client.uaclient.call([request]))[0].StatusCode


def test_an_alarm_through_petras_server_refresh_viewer_refused_operator_acknowledges(petra: Opcua) -> None:
    write(petra, 20.0)
    wait_until(lambda: view(petra).get("state") == "normal")

    async def scenario() -> tuple[Any, ...]:
        async with connected(petra, "vera") as viewer, connected(petra, "otto") as operator:
            ns = await petra.ns(operator)
            node = conditions.node_id_of("tank1_high", ns)
            _, events = await subscribe(operator)
            write(petra, 93.0)
            raised = await events.next(lambda f: f.get("NodeId") == node and f.get("ActiveState/Id") is True)
            # a client that connects later gets it from ConditionRefresh
            sub, late = await subscribe(viewer)
            await viewer.get_node(ua.ObjectIds.ConditionType).call_method(
                ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
                ua.Variant(sub.subscription_id, ua.VariantType.UInt32))
            replayed = await late.next(lambda f: f.get("NodeId") == node)
            refused = await acknowledge(viewer, node, raised["EventId"], "not mine to ack")
            accepted = await acknowledge(operator, node, raised["EventId"], "on my way")
            acked = await events.next(lambda f: f.get("NodeId") == node and f.get("AckedState/Id") is True)
            return ns, raised, replayed, refused, accepted, acked

    ns, raised, replayed, refused, accepted, acked = run(scenario(), 150)
    assert raised["SourceNode"] == ua.NodeId("tank1.level", ns) and raised["Severity"] == 900
    assert raised["Message"].Text == "Tank 1 high: 93.0 m (limit 80.0 m)"
    assert raised["Retain"] is True and raised["AckedState/Id"] is False
    assert replayed["EventId"] == raised["EventId"] and replayed["Retain"] is True
    assert refused.name == "BadUserAccessDenied"
    assert accepted.is_good(), accepted
    assert acked["ClientUserId"] == "user:otto" and acked["Comment"].Text == "on my way"
    assert view(petra)["acked_by"] == "user:otto"
    audit = petra.audit_events()
    assert any(e.get("event") == "alarm.ack" and e.get("actor") == "user:otto" for e in audit), audit[-5:]
    assert any(e.get("event") == "opcua.alarm.refused" and e.get("actor") == "user:vera" for e in audit)
    wait_until(lambda: petra.running.metric("petra_opcua_events_total") >= 2, 10)


def test_the_condition_is_under_its_signal_in_petras_address_space(petra: Opcua, tmp_path: Path) -> None:
    async def scenario() -> tuple[set[str], list[ua.NodeId], int]:
        async with connected(petra, "vera") as client:
            ns = await petra.ns(client)
            source = client.get_node(ua.NodeId("tank1.level", ns))
            names = {(await c.read_browse_name()).Name for c in await source.get_children()}
            linked = [n.nodeid for n in await source.get_referenced_nodes(refs=ua.ObjectIds.HasCondition)]
            return names, linked, ns

    names, linked, ns = run(scenario(), 150)
    assert "tank1_high" in names
    assert linked == [conditions.node_id_of("tank1_high", ns)]


def test_petra_opcua_tool_against_petras_server(petra: Opcua, capsys: pytest.CaptureFixture[str]) -> None:
    """`petra opcua` with PETRA's default security: SignAndEncrypt, a trusted client certificate, a user."""
    import json

    from petra.cli import main

    write(petra, 96.0)
    wait_until(lambda: view(petra).get("active") is True)
    secure = ["--endpoint", petra.url, "--cert", str(petra.trusted.cert), "--key", str(petra.trusted.key),
              "--user", "vera", "--password", PASSWORD]
    capsys.readouterr()
    assert main(["opcua", "read", *secure, "--ns", petra.namespace_uri, "tank1.level"]) == 0
    assert capsys.readouterr().out.startswith("tank1.level = 96.0 m  Double  Good")

    # a viewer's write is refused by PETRA, per node, with the reason
    assert main(["opcua", "write", *secure, "--ns", petra.namespace_uri, "tank1.setpoint=60"]) == 1
    assert "tank1.setpoint := 60 (Double): BadUserAccessDenied" in capsys.readouterr().out

    # ConditionRefresh from the tool: RefreshStart, the retained condition, RefreshEnd
    assert main(["opcua", "events", *secure, "--refresh", "--count", "3", "--seconds", "30", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["EventType"] for e in events] == ["RefreshStartEventType", "ExclusiveLimitAlarmType",
                                                "RefreshEndEventType"]
    condition = events[1]
    assert condition["ConditionName"] == "Tank 1 high" and condition["Severity"] == 900
    assert condition["ActiveState/Id"] is True and condition["Retain"] is True
    assert condition["SourceName"] == "tank1.level"

    # the default policy of the tool without a certificate is None, which PETRA does not offer
    assert main(["opcua", "read", "--endpoint", petra.url, "i=2258"]) == 1
    assert "offers no endpoint with security None" in capsys.readouterr().err


def test_a_tool_certificate_is_refused_into_rejected_then_trusted_by_moving_it(petra: Opcua, tmp_path: Path,
                                                                               capsys: pytest.CaptureFixture[str]
                                                                               ) -> None:
    """The operator's path with PETRA's defaults: `petra opcua cert`, a refused first try, move, connect."""
    from petra.cli import main

    capsys.readouterr()
    assert main(["opcua", "cert", "--out", str(tmp_path), "--name", "ops-laptop"]) == 0
    made = capsys.readouterr().out
    cert, key = tmp_path / "ops-laptop.der", tmp_path / "ops-laptop.pem"
    assert f"certificate {cert}" in made and (key.stat().st_mode & 0o777) == 0o600
    assert main(["opcua", "cert", "--out", str(tmp_path), "--name", "ops-laptop"]) == 1  # not overwritten
    assert "exists" in capsys.readouterr().err

    argv = ["opcua", "read", "--endpoint", petra.url, "--cert", str(cert), "--key", str(key), "--user", "vera",
            "--password", PASSWORD, "--ns", petra.namespace_uri, "tank1.level"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"refused the client certificate {cert}: BadCertificateUntrusted" in err, err
    assert "move it from pki/rejected to pki/trusted" in err
    rejected = wait_until(lambda: [p for p in (petra.pki_dir / "rejected").glob("*.der")
                                   if p.read_bytes() == cert.read_bytes()])
    rejected[0].rename(petra.pki_dir / "trusted" / rejected[0].name)
    assert main(argv) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith("tank1.level = ")


def test_an_operator_demoted_while_connected_can_no_longer_acknowledge(petra: Opcua) -> None:
    """The role is read from the users file at each call, as for writes: an open session keeps no old rights."""
    from petra.security import user_changes
    from petra.security.roles import Role

    users_file = petra.directory / "users.yaml"
    add = {"olga": Role.OPERATOR}
    add_users(users_file, add)
    write(petra, 20.0)
    wait_until(lambda: view(petra).get("state") in ("normal", "rtn_unacked"))
    if view(petra).get("state") == "rtn_unacked":
        from petra.alarms.service import AlarmService

        service = AlarmService.of(petra.running.runtime.wiring)
        assert service is not None
        service.command("tank1_high", "ack", "user:test")
    wait_until(lambda: view(petra).get("state") == "normal")

    async def scenario() -> ua.StatusCode:
        async with connected(petra, "olga") as client:
            ns = await petra.ns(client)
            node = conditions.node_id_of("tank1_high", ns)
            _, events = await subscribe(client)
            write(petra, 97.0)
            raised = await events.next(lambda f: f.get("NodeId") == node and f.get("ActiveState/Id") is True)
            user_changes.set_role(users_file, "olga", Role.VIEWER, lambda *a, **k: None, "uid:0")
            return await acknowledge(client, node, raised["EventId"], "still mine?")

    status = run(scenario(), 150)
    assert status.name == "BadUserAccessDenied"
    assert view(petra)["state"] == "active_unacked"
