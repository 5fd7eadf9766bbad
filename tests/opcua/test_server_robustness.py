"""The OPC-UA server under wrong passwords, anonymous clients, hostile clients, its limits, and crashes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua

from tests.helpers import wait_until
from tests.opcua.opcua_support import Opcua, run, serving


def _wait(condition: Any, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


def _ticks(o: Opcua) -> int:
    return o.running.plant.stats.summary().ticks


def test_a_wrong_password_is_refused_and_repeated_ones_lock_the_user_out(tmp_path: Path) -> None:
    with serving(tmp_path) as o:
        async def login(password: str) -> None:
            async with o.client("otto", password=password):
                pass

        for _ in range(3):  # max_failed_auth_attempts: 3
            with pytest.raises(ua.UaStatusCodeError) as caught:
                run(login("wrong"))
            assert caught.value.code == ua.StatusCodes.BadUserAccessDenied
        with pytest.raises(ua.UaStatusCodeError):  # now even the right password
            run(login("correct horse battery"))
        events = [e["event"] for e in o.audit_events()]
        assert events.count("auth.login_failed") == 3
        assert "auth.locked_out" in events or "auth.login_refused" in events
        wait_until(lambda: o.running.metric("petra_opcua_refused_total", reason="locked_out") >= 1, 10)


def test_anonymous_when_allowed_is_a_viewer_of_the_signals_served(tmp_path: Path) -> None:
    with serving(tmp_path, allow_anonymous=True, signals=["tank1.*", "batch"]) as o:
        async def go() -> None:
            async with o.client(user=None) as client:
                ns = await o.ns(client)
                node = client.get_node(ua.NodeId("tank1.setpoint", ns))
                assert await node.read_value() == 50.0
                assert await client.get_node(ua.NodeId("batch", ns)).read_value() == 7
                with pytest.raises(ua.UaStatusCodeError) as unknown:
                    await client.get_node(ua.NodeId("recipe", ns)).read_value()
                assert unknown.value.code == ua.StatusCodes.BadNodeIdUnknown
                with pytest.raises(ua.UaStatusCodeError) as caught:
                    await node.write_value(ua.DataValue(ua.Variant(1.0, ua.VariantType.Double)))
                assert caught.value.code == ua.StatusCodes.BadUserAccessDenied

        run(go())


def test_limits_answer_their_status_codes_and_hostile_clients_do_not_stall_the_scan(tmp_path: Path) -> None:
    with serving(tmp_path, max_sessions=2, max_subscriptions=2, max_monitored_items=5) as o:
        ticks = _ticks(o)

        async def go() -> None:
            async with o.client("otto") as one, o.client("vera"):
                with pytest.raises(ua.UaStatusCodeError) as caught:
                    async with o.client("erin"):
                        pass
                assert caught.value.code == ua.StatusCodes.BadTooManySessions
                ns = await o.ns(one)
                sub = await one.create_subscription(50, None)
                nodes = [one.get_node(ua.NodeId(n, ns)) for n in
                         ("tank1.level", "tank1.setpoint", "tank1.pump", "batch", "recipe", "tuning", "line.speed")]
                handles = await sub.subscribe_data_change(nodes, queuesize=1)
                codes = [h.value if isinstance(h, ua.StatusCode) else ua.StatusCodes.Good for h in handles]
                assert codes == [ua.StatusCodes.Good] * 5 + [ua.StatusCodes.BadTooManyMonitoredItems] * 2
                await one.create_subscription(50, None)
                with pytest.raises(ua.UaStatusCodeError) as caught:
                    await one.create_subscription(50, None)
                assert caught.value.code == ua.StatusCodes.BadTooManySubscriptions
                many = ua.ReadParameters(NodesToRead=[ua.ReadValueId(NodeId=ua.NodeId("batch", ns),
                                                                     AttributeId=ua.AttributeIds.Value)] * 10_001)
                with pytest.raises(ua.UaStatusCodeError) as caught:
                    await one.uaclient.read(many)
                assert caught.value.code == ua.StatusCodes.BadTooManyOperations
                assert (await one.get_node(ua.NodeId("batch", ns)).read_value()) == 7  # still serving

        run(go())
        host, port = "127.0.0.1", int(o.url.rsplit(":", 1)[1].split("/")[0])
        for _ in range(50):  # connect and vanish
            with socket.create_connection((host, port), timeout=5):
                pass
        for garbage in (b"\x00" * 64, b"HELF" + b"\xff" * 60, b"GET / HTTP/1.1\r\n\r\n",
                        b"HEL" + b"F" + (10**9).to_bytes(4, "little") + b"\x00" * 32):
            with socket.create_connection((host, port), timeout=5) as s:
                s.sendall(garbage)
                s.settimeout(5)
                with contextlib.suppress(TimeoutError, ConnectionError):
                    s.recv(1024)

        async def still() -> Any:
            async with o.client("otto") as client:
                return await client.get_node(ua.NodeId("batch", await o.ns(client))).read_value()

        assert run(still()) == 7
        _wait(lambda: _ticks(o) > ticks + 20, what="the scan to go on")
        wait_until(lambda: o.running.metric("petra_opcua_refused_total", reason="sessions") >= 1, 10)
        wait_until(lambda: o.running.metric("petra_opcua_refused_total", reason="monitored_items") >= 2, 10)


@pytest.mark.parametrize("how", ["actor", "loop"])
def test_a_crash_of_the_server_is_restarted_the_plant_scans_on_and_the_client_reconnects(tmp_path: Path,
                                                                                         how: str) -> None:
    with serving(tmp_path) as o:
        before = o.running.node("petra/services/opcua").restarts
        ticks = _ticks(o)

        async def read() -> Any:
            async with o.client("otto") as client:
                return await client.get_node(ua.NodeId("batch", await o.ns(client))).read_value()

        assert run(read()) == 7
        if how == "actor":
            o.actor().proxy().inject("crash")
        else:
            o.actor().proxy().crash_loop().get(timeout=5)
        _wait(lambda: o.running.node("petra/services/opcua").restarts > before
              and o.running.node("petra/services/opcua").state == "running", what="the restart")
        assert _ticks(o) > ticks
        o.running.write("default", batch=8)
        o.wait_ready()  # the successor starts its server in the background

        async def reconnect() -> Any:
            for _ in range(50):
                try:
                    return await read()
                except (TimeoutError, OSError, ua.UaError):
                    await asyncio.sleep(0.2)
            raise AssertionError("the client could not reconnect")

        assert run(reconnect(), timeout=90) == 8
