"""PETRA's OPC-UA server against asyncua's own client on loopback: browse, values, subscriptions, writes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, ua
from rich.console import Console

from petra.control.api import ControlApi, Request
from petra.ctl.render import render_status
from tests.helpers import wait_until
from tests.opcua.opcua_support import Opcua, run, serving


@pytest.fixture(scope="module")
def opcua(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Opcua]:
    with serving(tmp_path_factory.mktemp("opcua")) as served:
        yield served


async def _child(node: Any, name: str) -> Any:
    for child in await node.get_children():
        if (await child.read_browse_name()).Name == name:
            return child
    raise AssertionError(f"no child {name} under {node}")


def test_signals_are_browsable_typed_variables_with_units_descriptions_and_quality(opcua: Opcua) -> None:
    async def go() -> None:
        async with opcua.client() as client:
            ns = await opcua.ns(client)
            signals = await _child(client.nodes.objects, "Signals")
            default = await _child(signals, "default")
            tank1 = await _child(default, "tank1")
            level = await _child(tank1, "level")
            assert level.nodeid == ua.NodeId("tank1.level", ns)
            line = await _child(await _child(signals, "line"), "line")
            assert (await _child(line, "speed")).nodeid == ua.NodeId("line.speed", ns)
            value = await level.read_data_value()
            assert value.Value.Value == 42.5 and value.Value.VariantType == ua.VariantType.Double
            assert value.StatusCode.is_good() and value.SourceTimestamp is not None
            assert (await level.read_description()).Text == "Tank 1 level"
            eu = await (await level.get_child(["0:EngineeringUnits"])).read_value()
            assert eu.DisplayName.Text == "m" and eu.UnitId == (ord("M") << 16 | ord("T") << 8 | ord("R"))
            types = {}
            for name in ("tank1.pump", "batch", "recipe", "tank1.setpoint"):
                dv = await client.get_node(ua.NodeId(name, ns)).read_data_value()
                types[name] = (dv.Value.VariantType, dv.Value.Value)
            assert types == {"tank1.pump": (ua.VariantType.Boolean, False), "batch": (ua.VariantType.Int64, 7),
                             "recipe": (ua.VariantType.String, "PA-12"),
                             "tank1.setpoint": (ua.VariantType.Double, 50.0)}
            count = client.get_node(ua.NodeId("count", ns))
            assert await count.read_data_type() == ua.NodeId(ua.ObjectIds.Int64)
            access = await count.read_attribute(ua.AttributeIds.UserAccessLevel)
            assert not access.Value.Value & ua.AccessLevel.CurrentWrite.mask  # a block computes it
            petra = await _child(client.nodes.objects, "PETRA")
            assert (await (await _child(petra, "NodeId")).read_value()) == "opcua-test"

    run(go())


def test_a_subscribed_client_sees_each_change_with_its_source_time_and_quality(opcua: Opcua) -> None:
    async def go() -> None:
        async with opcua.client() as client:
            ns = await opcua.ns(client)
            seen: list[ua.DataValue] = []
            arrived = asyncio.Event()

            class Handler:
                def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
                    seen.append(data.monitored_item.Value)
                    if val == 61.25:
                        arrived.set()

            sub = await client.create_subscription(20, Handler())
            await sub.subscribe_data_change(client.get_node(ua.NodeId("line.speed", ns)))
            await asyncio.to_thread(opcua.running.write, "line", **{"line.speed": 61.25})
            await asyncio.wait_for(arrived.wait(), 10)
            last = seen[-1]
            sample = opcua.running.plant.table.read("line.speed")
            assert last.Value.Value == 61.25 and last.StatusCode.is_good()
            assert abs(last.SourceTimestamp.timestamp() - sample.timestamp) < 1e-3

    run(go())


def test_an_operators_write_request_answers_each_node_and_writes_the_good_ones(opcua: Opcua) -> None:
    async def go() -> list[ua.StatusCode]:
        async with opcua.client("otto") as client:
            ns = await opcua.ns(client)

            def item(name: str, variant: ua.Variant) -> ua.WriteValue:
                return ua.WriteValue(NodeId=ua.NodeId(name, ns), AttributeId=ua.AttributeIds.Value,
                                     Value=ua.DataValue(variant))

            params = ua.WriteParameters(NodesToWrite=[
                item("tank1.setpoint", ua.Variant(75.5, ua.VariantType.Double)),    # accepted
                item("tank1.setpoint", ua.Variant(250.0, ua.VariantType.Double)),   # max 100
                item("batch", ua.Variant("seven", ua.VariantType.String)),          # not an int
                item("tuning", ua.Variant(2.0, ua.VariantType.Double)),             # writable_by engineer
                item("count", ua.Variant(5, ua.VariantType.Int64)),                 # computed by a block
                item("recipe", ua.Variant("PA-6", ua.VariantType.String)),          # accepted
                item("tank1.pump", ua.Variant(None, ua.VariantType.Null)),          # no value
            ])
            return list(await client.uaclient.write(params))

    codes = [c.value for c in run(go())]
    assert codes == [ua.StatusCodes.Good, ua.StatusCodes.BadOutOfRange, ua.StatusCodes.BadTypeMismatch,
                     ua.StatusCodes.BadUserAccessDenied, ua.StatusCodes.BadNotWritable, ua.StatusCodes.Good,
                     ua.StatusCodes.BadTypeMismatch]
    assert opcua.running.value("tank1.setpoint") == 75.5
    assert opcua.running.value("recipe") == "PA-6"
    assert opcua.running.value("tuning") == 1.0
    sets = [e for e in opcua.audit_events() if e["event"] == "signal.set" and e["details"].get("via") == "opcua"]
    assert {(e["actor"], e["details"]["signal"], e["details"]["value"]) for e in sets} >= {
        ("user:otto", "tank1.setpoint", 75.5), ("user:otto", "recipe", "PA-6")}
    denied = [e for e in opcua.audit_events() if e["event"] == "access.denied" and e["details"].get("via") == "opcua"]
    assert any(e["details"]["signal"] == "tuning" and e["actor"] == "user:otto" for e in denied)
    assert opcua.running.metric("petra_opcua_writes_total", result="accepted") >= 2
    assert opcua.running.metric("petra_opcua_writes_total", result="range") >= 1


def test_a_viewer_may_read_but_each_write_is_bad_user_access_denied(opcua: Opcua) -> None:
    async def go() -> None:
        async with opcua.client("vera") as client:
            ns = await opcua.ns(client)
            node = client.get_node(ua.NodeId("tank1.setpoint", ns))
            assert isinstance(await node.read_value(), float)
            with pytest.raises(ua.UaStatusCodeError) as caught:
                await node.write_value(ua.DataValue(ua.Variant(10.0, ua.VariantType.Double)))
            assert caught.value.code == ua.StatusCodes.BadUserAccessDenied

    run(go())
    assert opcua.running.value("tank1.setpoint") != 10.0


def test_an_engineer_may_write_what_needs_the_engineer_role(opcua: Opcua) -> None:
    async def go() -> None:
        async with opcua.client("erin") as client:
            ns = await opcua.ns(client)
            await client.get_node(ua.NodeId("tuning", ns)).write_value(
                ua.DataValue(ua.Variant(1.5, ua.VariantType.Double)))

    run(go())
    assert opcua.running.value("tuning") == 1.5


def test_clients_may_not_write_petras_other_nodes_or_add_nodes(opcua: Opcua) -> None:
    async def go() -> None:
        async with opcua.client("ada") as client:
            ns = await opcua.ns(client)
            status = client.get_node(ua.NodeId("~petra/NodeId", ns))
            with pytest.raises(ua.UaStatusCodeError):
                await status.write_value(ua.DataValue(ua.Variant("evil", ua.VariantType.String)))
            with pytest.raises(ua.UaStatusCodeError) as caught:
                await client.nodes.objects.add_folder(ns, "Injected")
            assert caught.value.code == ua.StatusCodes.BadUserAccessDenied

    run(go())


def test_anonymous_and_the_none_policy_are_refused_by_default(opcua: Opcua) -> None:
    async def anonymous() -> None:
        async with opcua.client(user=None):
            pass

    with pytest.raises(ua.UaStatusCodeError) as caught:
        run(anonymous())
    assert caught.value.code in (ua.StatusCodes.BadIdentityTokenRejected, ua.StatusCodes.BadUserAccessDenied)

    async def endpoints() -> list[ua.EndpointDescription]:
        client = Client(opcua.url)
        return list(await client.connect_and_get_server_endpoints())

    offered = run(endpoints())
    assert {(e.SecurityPolicyUri.rsplit("#", 1)[-1], e.SecurityMode) for e in offered} == {
        ("Basic256Sha256", ua.MessageSecurityMode.SignAndEncrypt),
        ("Aes256_Sha256_RsaPss", ua.MessageSecurityMode.SignAndEncrypt)}
    tokens = {t.TokenType for e in offered for t in e.UserIdentityTokens}
    assert tokens == {ua.UserTokenType.UserName}

    async def plain() -> None:
        async with opcua.client(secure=False):
            pass

    with pytest.raises(Exception):  # noqa: B017  (asyncua: no such endpoint, or the channel is refused)
        run(plain(), timeout=20)


def test_the_servers_certificate_names_its_application_uri_and_host(opcua: Opcua) -> None:
    from cryptography import x509

    cert = x509.load_der_x509_certificate((opcua.pki_dir / "own" / "cert.der").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    assert len(uris) == 1 and uris[0].endswith(":petra")
    assert "127.0.0.1" in [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    key_mode = (opcua.pki_dir / "private" / "key.pem").stat().st_mode & 0o777
    assert key_mode == 0o600


def test_an_untrusted_client_certificate_is_refused_and_kept_in_pki_rejected(opcua: Opcua, tmp_path: Path) -> None:
    from tests.opcua.opcua_support import make_client_cert

    stranger = make_client_cert(tmp_path, "stranger")

    async def go() -> None:
        async with opcua.client(cert=stranger):
            pass

    with pytest.raises(ua.UaStatusCodeError) as caught:
        run(go())
    assert caught.value.code == ua.StatusCodes.BadCertificateUntrusted
    rejected = list((opcua.pki_dir / "rejected").glob("stranger*.der"))
    assert len(rejected) == 1 and rejected[0].read_bytes() == stranger.cert.read_bytes()
    wait_until(lambda: opcua.running.metric("petra_opcua_refused_total", reason="certificate") >= 1, 10)


def test_status_shows_the_endpoint_and_the_open_sessions(opcua: Opcua) -> None:
    async def go() -> dict[str, Any]:
        async with opcua.client("otto"):
            return await asyncio.to_thread(lambda: opcua.actor().proxy().status().get(timeout=5))

    status = run(go())
    assert status["endpoint"] == opcua.url
    assert {"user": "otto", "role": "operator", "address": "127.0.0.1"}.items() <= status["sessions"][0].items()


def test_petra_ctl_status_names_the_endpoint_and_who_holds_a_session(opcua: Opcua) -> None:
    """GET /v1/status carries the server's report, and petra-ctl's status table shows it in one line."""
    async def go() -> Any:
        async with opcua.client("otto"):
            return await asyncio.to_thread(ControlApi(opcua.running.runtime).handle, Request("GET", "/v1/status"))

    response = run(go(), timeout=90)
    assert response.status == 200
    console = Console(width=250, record=True)
    console.print(render_status(response.body))
    line = next((line for line in console.export_text().splitlines() if "endpoint=" in line), "")
    assert line.startswith("│ opcua ") and f"endpoint={opcua.url}" in line and "sessions=1 (otto)" in line, line
