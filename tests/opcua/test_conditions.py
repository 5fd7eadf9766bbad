"""PETRA's alarms as OPC-UA Alarms & Conditions: a running plant, an asyncua server, an asyncua client.

The plant is real (its alarm actors, store and control socket); the server is a plain
asyncua Server in its own thread and loop with `petra.opcua.conditions` attached, users
mapped to PETRA principals as the OPC-UA section does; the client is asyncua's Client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, Server, ua
from asyncua.crypto.permission_rules import User, UserRole

from petra.ctl import main as ctl_main
from petra.opcua import conditions
from petra.security.roles import Principal, Role
from tests.alarms.support import AlarmPlant, alarm, plant_data
from tests.harness import free_port
from tests.helpers import run_apart, wait_until
from tests.opcua.opcua_support import add_users

pytestmark = pytest.mark.timeout(180)

ROLES = {"alice": Role.OPERATOR, "victor": Role.VIEWER, "erin": Role.ENGINEER}
PASSWORD = "correct horse"
SIGNALS = [{"name": "tank.level", "type": "float", "initial": 20.0, "group": "process", "unit": "m"},
           {"name": "pump.tripped", "type": "bool", "initial": False, "group": "process"},
           {"name": "valve.fault", "type": "bool", "initial": False, "group": "process"}]


class Users:
    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if username in ROLES and password == PASSWORD:
            return User(role=UserRole.User, name=username)
        return None


def principal(user: Any) -> Principal | None:
    name = getattr(user, "name", None)
    if name not in ROLES:
        return None
    return Principal(f"user:{name}", ROLES[name], "opcua", "127.0.0.1", user=name)


class Served:
    """The plant's conditions on an asyncua server in a thread of its own."""

    def __init__(self, plant: AlarmPlant) -> None:
        self.plant = plant
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-opcua", daemon=True)
        self.thread.start()
        self.endpoint = f"opc.tcp://127.0.0.1:{free_port()}"
        self.emitted = 0
        self.refusals: list[str] = []
        self.call(self._start())

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(150)

    def _count(self) -> None:
        self.emitted += 1

    async def _start(self) -> None:
        server = self.server = Server(user_manager=Users())  # type: ignore[arg-type]
        conditions.prepare(server)
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = self.ns = await server.register_namespace("urn:petra:test")
        folder = await server.nodes.objects.add_folder(ua.NodeId("signals", ns), "signals")
        self.nodes = {}
        for spec in SIGNALS:
            node = await folder.add_variable(ua.NodeId(spec["name"], ns), spec["name"], spec["initial"])
            self.nodes[spec["name"]] = node.nodeid
        self.handle = await conditions.attach(server, conditions.ConditionContext(
            plant=self.plant.plant, wiring=self.plant.runtime.wiring, namespace=ns,
            signal_node=self.nodes.get, principal=principal, events_emitted=self._count,
            refused=self.refusals.append))
        await server.start()
        await asyncio.wait_for(self.handle.ready.wait(), 120)

    def stop(self) -> None:
        self.call(self.handle.close())
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    state = tmp_path_factory.mktemp("alarms") / "state"
    trip = alarm("pump_trip", signal="pump.tripped", condition="true", name="Pump trip", severity="warning",
                 message_template="{name}")
    del trip["setpoint"]
    valve = alarm("valve_fault", signal="valve.fault", condition="true", name="Valve fault", severity="info",
                  auto_reset=False, message_template="{name}")
    del valve["setpoint"]
    alarms = [alarm("high_level", signal="tank.level", name="High level", severity="critical",
                    message_template="{name}: {value}{unit} over {setpoint}{unit}"), trip, valve]
    data = plant_data(state, alarms, signals=SIGNALS, contacts=[])
    # the users the test's user manager lets in, in PETRA's users file: their role is read from it at each call
    users_file = state.parent / "users.yaml"
    add_users(users_file, ROLES)
    data["security"] = {"users_file": str(users_file)}
    plant = AlarmPlant(data)
    # the control API's worker thread starts now, not in the first test that runs petra-ctl (the leak check)
    assert ctl_main(["--socket", str(plant.runtime.options.control_socket), "alarms"]) == 0
    try:
        s = Served(plant)
        try:
            yield s
        finally:
            s.stop()
    finally:
        plant.stop()


class Events:
    """Collects event notifications in the client's loop."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def event_notification(self, event: Any) -> None:
        fields = {k: v for k, v in vars(event).items() if k[0].isupper()}
        self.queue.put_nowait(fields)

    async def next(self, predicate: Any = lambda f: True, timeout: float = 60.0) -> dict[str, Any]:
        async def first() -> dict[str, Any]:
            while True:
                fields = await self.queue.get()
                if predicate(fields):
                    return fields
        return await asyncio.wait_for(first(), timeout)


async def connect(served: Served, user: str) -> Client:
    client = Client(served.endpoint, timeout=30, watchdog_intervall=30)  # asyncua's 1 s probe fails at load 30
    client.set_user(user)
    client.set_password(PASSWORD)
    await client.connect()
    return client


async def subscribe(client: Client) -> tuple[Any, Events]:
    events = Events()
    sub = await client.create_subscription(20, events)
    await sub.subscribe_events(client.get_node(ua.ObjectIds.Server),
                               [client.get_node(ua.ObjectIds.BaseEventType),
                                client.get_node(ua.ObjectIds.AlarmConditionType),
                                client.get_node(ua.ObjectIds.ExclusiveLimitAlarmType)])
    return sub, events


def of(served: Served, alarm_id: str) -> Any:
    node = conditions.node_id_of(alarm_id, served.ns)
    return lambda f: f.get("NodeId") == node


def reset(served: Served) -> None:
    """Back to normal between tests: level low, pump fine, every alarm acknowledged and unshelved."""
    plant = served.plant
    plant.write(**{"tank.level": 20.0, "pump.tripped": False, "valve.fault": False})
    for alarm_id in ("high_level", "pump_trip", "valve_fault"):
        view = plant.view(alarm_id)
        if view.get("out_of_service"):
            plant.service.command(alarm_id, "enable", "user:test")
        if view.get("shelve"):
            plant.service.command(alarm_id, "unshelve", "user:test")
        wait_until(lambda alarm_id=alarm_id: not plant.view(alarm_id).get("active"))
        if not plant.view(alarm_id).get("acked", True):
            plant.service.command(alarm_id, "ack", "user:test")
        if plant.view(alarm_id).get("latched"):
            plant.service.command(alarm_id, "reset", "user:test")
        plant.wait_state(alarm_id, "normal")


async def call(client: Client, obj: ua.NodeId, method: int | ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
    request = ua.CallMethodRequest(ObjectId=obj, MethodId=method if isinstance(method, ua.NodeId)
                                   else ua.NodeId(method), InputArguments=list(args))
    result = (await client.uaclient.call([request]))[0]
    return result.StatusCode


def test_a_raised_alarm_arrives_as_an_event_with_its_fields(served: Served) -> None:
    reset(served)

    async def scenario() -> dict[str, Any]:
        client = await connect(served, "alice")
        try:
            _, events = await subscribe(client)
            served.plant.write(**{"tank.level": 91.5})
            return await events.next(lambda f: of(served, "high_level")(f) and f.get("ActiveState/Id") is True)
        finally:
            await client.disconnect()

    fields = run_apart(scenario())
    assert fields["EventType"] == ua.NodeId(ua.ObjectIds.ExclusiveLimitAlarmType)
    assert fields["SourceNode"] == served.nodes["tank.level"] and fields["SourceName"] == "tank.level"
    assert fields["ConditionName"] == "High level"
    assert fields["Severity"] == 700
    assert fields["Message"].Text == "High level: 91.5m over 80.0m"
    assert fields["AckedState/Id"] is False and fields["Retain"] is True
    assert fields["ActiveState"].Text == "Active" and fields["AckedState"].Text == "Unacknowledged"
    assert fields["ShelvingState/CurrentState"].Text == "Unshelved" and fields["SuppressedOrShelved"] is False
    assert fields["LimitState/CurrentState"].Text == "High"
    assert served.emitted >= 1


def test_condition_refresh_replays_what_is_retained(served: Served) -> None:
    reset(served)
    served.plant.write(**{"pump.tripped": True})
    served.plant.wait_state("pump_trip", "active_unacked")

    async def scenario() -> list[dict[str, Any]]:
        client = await connect(served, "victor")  # a viewer may refresh
        try:
            sub, events = await subscribe(client)
            await client.get_node(ua.ObjectIds.ConditionType).call_method(
                ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
                ua.Variant(sub.subscription_id, ua.VariantType.UInt32))
            seen = [await events.next(lambda f: f["EventType"] == ua.NodeId(ua.ObjectIds.RefreshStartEventType))]
            while seen[-1]["EventType"] != ua.NodeId(ua.ObjectIds.RefreshEndEventType):
                seen.append(await events.next())
            return seen
        finally:
            await client.disconnect()

    seen = run_apart(scenario())
    replayed = [f for f in seen if f.get("NodeId") == conditions.node_id_of("pump_trip", served.ns)]
    assert len(replayed) == 1
    trip = replayed[0]
    assert trip["EventType"] == ua.NodeId(ua.ObjectIds.OffNormalAlarmType)
    assert trip["ActiveState/Id"] is True and trip["AckedState/Id"] is False and trip["Retain"] is True
    assert trip["Severity"] == 400 and trip["Message"].Text == "Pump trip"
    # high_level is normal: not retained, not replayed
    assert not [f for f in seen if f.get("NodeId") == conditions.node_id_of("high_level", served.ns)]


def test_acknowledge_from_the_client_is_petras_acknowledgement(served: Served, capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path) -> None:
    reset(served)

    async def scenario() -> tuple[ua.StatusCode, ua.StatusCode, dict[str, Any]]:
        client = await connect(served, "alice")
        try:
            _, events = await subscribe(client)
            served.plant.write(**{"pump.tripped": True})
            raised = await events.next(lambda f: of(served, "pump_trip")(f) and f.get("ActiveState/Id") is True)
            node = conditions.node_id_of("pump_trip", served.ns)
            wrong = await call(client, node, ua.ObjectIds.AcknowledgeableConditionType_Acknowledge,
                               ua.Variant(b"not-an-event", ua.VariantType.ByteString),
                               ua.Variant(ua.LocalizedText("x"), ua.VariantType.LocalizedText))
            status = await call(client, node, ua.ObjectIds.AcknowledgeableConditionType_Acknowledge,
                                ua.Variant(raised["EventId"], ua.VariantType.ByteString),
                                ua.Variant(ua.LocalizedText("seen, crew sent"), ua.VariantType.LocalizedText))
            acked = await events.next(lambda f: of(served, "pump_trip")(f) and f.get("AckedState/Id") is True)
            return wrong, status, acked
        finally:
            await client.disconnect()

    wrong, status, acked = run_apart(scenario())
    assert wrong.name == "BadEventIdUnknown"
    assert status.is_good(), status
    view = served.plant.view("pump_trip")
    assert view["state"] == "active_acked" and view["acked_by"] == "user:alice"
    assert acked["ClientUserId"] == "user:alice" and acked["Comment"].Text == "seen, crew sent"
    assert acked["ActiveState/Id"] is True and acked["Retain"] is True
    history = served.plant.service.store.events("pump_trip", None, limit=5, newest_first=True)
    assert history[0]["event"] == "acked" and history[0]["who"] == "user:alice"
    assert history[0]["details"]["comment"] == "seen, crew sent"
    capsys.readouterr()
    socket = Path(served.plant.runtime.options.control_socket)
    assert ctl_main(["--socket", str(socket), "alarms"]) == 0
    listing = capsys.readouterr().out
    line = next(line for line in listing.splitlines() if "pump_trip" in line)
    assert "alice" in line


def test_a_viewers_acknowledge_is_refused(served: Served) -> None:
    reset(served)

    async def scenario() -> ua.StatusCode:
        client = await connect(served, "victor")
        try:
            _, events = await subscribe(client)
            served.plant.write(**{"pump.tripped": True})
            raised = await events.next(lambda f: of(served, "pump_trip")(f) and f.get("ActiveState/Id") is True)
            return await call(client, conditions.node_id_of("pump_trip", served.ns),
                              ua.ObjectIds.AcknowledgeableConditionType_Acknowledge,
                              ua.Variant(raised["EventId"], ua.VariantType.ByteString),
                              ua.Variant(ua.LocalizedText("me too"), ua.VariantType.LocalizedText))
        finally:
            await client.disconnect()

    status = run_apart(scenario())
    assert status.name == "BadUserAccessDenied"
    assert served.plant.view("pump_trip")["state"] == "active_unacked"


def test_timed_shelve_from_the_client_shelves_it_in_petra(served: Served) -> None:
    reset(served)
    served.plant.write(**{"tank.level": 95.0})
    served.plant.wait_state("high_level", "active_unacked")

    async def scenario() -> tuple[ua.StatusCode, dict[str, Any], ua.StatusCode, ua.StatusCode]:
        client = await connect(served, "alice")
        try:
            _, events = await subscribe(client)
            shelving = ua.NodeId("alarm:high_level.ShelvingState", served.ns)
            status = await call(client, shelving, ua.ObjectIds.ShelvedStateMachineType_TimedShelve,
                                ua.Variant(600_000.0, ua.VariantType.Double))
            shelved = await events.next(lambda f: of(served, "high_level")(f)
                                        and f.get("SuppressedOrShelved") is True)
            too_long = await call(client, shelving, ua.ObjectIds.ShelvedStateMachineType_TimedShelve,
                                  ua.Variant(1e12, ua.VariantType.Double))
            unshelve = await call(client, shelving, ua.ObjectIds.ShelvedStateMachineType_Unshelve)
            return status, shelved, too_long, unshelve
        finally:
            await client.disconnect()

    status, shelved, too_long, unshelve = run_apart(scenario())
    assert status.is_good(), status
    assert shelved["ShelvingState/CurrentState"].Text == "Timed Shelved"
    assert shelved["ShelvingState/CurrentState/Id"] == ua.NodeId(ua.ObjectIds.ShelvedStateMachineType_TimedShelved)
    assert 0 < shelved["ShelvingState/UnshelveTime"] <= 600_000.0
    assert shelved["ClientUserId"] == "user:alice"
    assert too_long.name == "BadShelvingTimeOutOfRange"
    assert unshelve.is_good(), unshelve
    history = served.plant.service.store.events("high_level", None, limit=5, newest_first=True)
    shelve = next(e for e in history if e["event"] == "shelved")
    assert shelve["who"] == "user:alice" and shelve["details"]["kind"] == "timed"
    assert shelve["details"]["reason"] == "OPC-UA TimedShelve"
    assert history[0]["event"] == "unshelved"
    wait_until(lambda: served.plant.view("high_level")["state"] == "active_unacked")


def test_one_shot_shelve_and_unshelve_on_the_condition_node(served: Served) -> None:
    reset(served)
    served.plant.write(**{"pump.tripped": True})
    served.plant.wait_state("pump_trip", "active_unacked")

    async def scenario() -> tuple[ua.StatusCode, ua.StatusCode]:
        client = await connect(served, "alice")
        try:
            # the instance's own method node, with a comment (OneShotShelve2)
            node = ua.NodeId("alarm:pump_trip.ShelvingState", served.ns)
            first = await call(client, node, ua.ObjectIds.ShelvedStateMachineType_OneShotShelve2,
                               ua.Variant(ua.LocalizedText("pump being swapped"), ua.VariantType.LocalizedText))
            again = await call(client, node, ua.NodeId("alarm:pump_trip.ShelvingState.Unshelve", served.ns))
            return first, again
        finally:
            await client.disconnect()

    first, again = run_apart(scenario())
    assert first.is_good(), first
    history = served.plant.service.store.events("pump_trip", None, limit=5, newest_first=True)
    shelve = next(e for e in history if e["event"] == "shelved")
    assert shelve["details"] == {**shelve["details"], "kind": "oneshot", "reason": "pump being swapped"}
    assert again.is_good(), again  # the instance's own Unshelve method node


def test_the_condition_nodes_follow_the_alarm(served: Served) -> None:
    reset(served)
    served.plant.write(**{"tank.level": 85.0})
    served.plant.wait_state("high_level", "active_unacked")

    async def scenario() -> tuple[Any, ...]:
        client = await connect(served, "victor")
        try:
            node = client.get_node(conditions.node_id_of("high_level", served.ns))
            source = client.get_node(served.nodes["tank.level"])
            children = {(await c.read_browse_name()).Name for c in await source.get_children()}
            conditions_of_source = await source.get_referenced_nodes(refs=ua.ObjectIds.HasCondition)

            async def active() -> Any:
                return await (await node.get_child(["0:ActiveState", "0:Id"])).read_value()

            for _ in range(200):
                if await active():
                    break
                await asyncio.sleep(0.02)
            return (children, [n.nodeid for n in conditions_of_source], await active(),
                    await (await node.get_child("0:Retain")).read_value(),
                    (await (await node.get_child("0:Message")).read_value()).Text)
        finally:
            await client.disconnect()

    children, linked, active, retain, message = run_apart(scenario())
    assert "high_level" in children
    assert conditions.node_id_of("high_level", served.ns) in linked
    assert active is True and retain is True
    assert message == "High level: 85.0m over 80.0m"


def test_confirm_is_petras_reset_of_a_latched_alarm(served: Served) -> None:
    reset(served)
    node = conditions.node_id_of("valve_fault", served.ns)

    async def scenario() -> tuple[Any, ...]:
        client = await connect(served, "alice")
        try:
            _, events = await subscribe(client)
            served.plant.write(**{"valve.fault": True})
            raised = await events.next(lambda f: f.get("NodeId") == node and f.get("ActiveState/Id") is True)
            comment = ua.Variant(ua.LocalizedText("valve replaced"), ua.VariantType.LocalizedText)
            confirm = ua.ObjectIds.AcknowledgeableConditionType_Confirm
            early = await call(client, node, confirm, ua.Variant(raised["EventId"], ua.VariantType.ByteString), comment)
            served.plant.write(**{"valve.fault": False})
            wait_until(lambda: served.plant.view("valve_fault")["state"] == "latched")
            done = await call(client, node, confirm, ua.Variant(raised["EventId"], ua.VariantType.ByteString), comment)
            # an event carries the state as it is when sent, with who did the latest action announced: wait for
            # the one that reports the reset (an earlier one may already show its result, sent for the clear)
            confirmed = await events.next(lambda f: f.get("NodeId") == node and f.get("ConfirmedState/Id") is True
                                          and f.get("ClientUserId") == "user:alice")
            return raised, early, done, confirmed
        finally:
            await client.disconnect()

    raised, early, done, confirmed = run_apart(scenario())
    assert raised["ConfirmedState/Id"] is False  # latched from the moment it raised (auto_reset false)
    assert early.name == "BadInvalidState"  # still active: PETRA resets it once it clears
    assert done.is_good(), done
    assert confirmed["Retain"] is False and confirmed["ClientUserId"] == "user:alice"
    view = served.plant.view("valve_fault")
    assert view["state"] == "normal" and not view["latched"]


def test_malformed_method_calls_are_refused_and_counted(served: Served) -> None:
    reset(served)
    served.plant.write(**{"pump.tripped": True})
    served.plant.wait_state("pump_trip", "active_unacked")
    node = conditions.node_id_of("pump_trip", served.ns)
    ack = ua.ObjectIds.AcknowledgeableConditionType_Acknowledge
    before = list(served.refusals)

    async def scenario() -> list[str]:
        client = await connect(served, "alice")
        try:
            text = ua.Variant(ua.LocalizedText("x"), ua.VariantType.LocalizedText)
            results = [
                await call(client, node, ack),  # no arguments
                await call(client, node, ack, ua.Variant("not bytes", ua.VariantType.String), text),
                await call(client, node, ack, ua.Variant(b"\x00" * 16, ua.VariantType.ByteString), text),
                await call(client, ua.NodeId("alarm:nothing", served.ns), ack),
                await call(client, ua.NodeId("alarm:pump_trip.ShelvingState", served.ns),
                           ua.ObjectIds.ShelvedStateMachineType_TimedShelve, ua.Variant("soon", ua.VariantType.String)),
                await call(client, ua.NodeId("alarm:pump_trip.ShelvingState", served.ns),
                           ua.ObjectIds.ShelvedStateMachineType_TimedShelve, ua.Variant(-5.0, ua.VariantType.Double)),
                await call(client, ua.NodeId("alarm:pump_trip.ShelvingState", served.ns),
                           ua.ObjectIds.ShelvedStateMachineType_Unshelve),  # not shelved
            ]
            return [r.name for r in results]
        finally:
            await client.disconnect()

    names = run_apart(scenario())
    assert names == ["BadArgumentsMissing", "BadTypeMismatch", "BadEventIdUnknown", "BadNodeIdInvalid",
                     "BadTypeMismatch", "BadShelvingTimeOutOfRange", "BadConditionNotShelved"]
    assert served.refusals[len(before):] == ["malformed"] * 5
    assert served.plant.view("pump_trip")["state"] == "active_unacked"  # nothing reached the alarm


def test_the_listeners_of_a_server_whose_loop_died_go_away(served: Served) -> None:
    """A crashed server's loop is closed without close(): its first alarm change after that unsubscribes it."""
    reset(served)
    plant = served.plant
    dead = conditions.Conditions(served.server, conditions.ConditionContext(
        plant=plant.plant, wiring=plant.runtime.wiring, namespace=served.ns, signal_node=served.nodes.get,
        principal=principal))
    loop = asyncio.new_event_loop()
    loop.close()
    dead.loop, dead.service = loop, plant.service
    plant.service.transition_listeners.append(dead._on_transition)
    plant.plant.bus.subscribe(dead._on_change)
    plant.write(**{"pump.tripped": True})
    wait_until(lambda: dead._on_transition not in plant.service.transition_listeners
               and dead._on_change not in plant.plant.bus._subscribers)
    plant.wait_state("pump_trip", "active_unacked")  # the live server's listeners still there
    assert served.handle._on_transition in plant.service.transition_listeners


def test_disable_and_enable_need_an_engineer(served: Served) -> None:
    reset(served)
    node = conditions.node_id_of("high_level", served.ns)
    disable = ua.ObjectIds.ConditionType_Disable

    async def scenario() -> tuple[Any, ...]:
        operator = await connect(served, "alice")
        engineer = await connect(served, "erin")
        try:
            _, events = await subscribe(engineer)
            refused = await call(operator, node, disable)
            done = await call(engineer, node, disable)
            disabled = await events.next(lambda f: f.get("NodeId") == node and f.get("EnabledState/Id") is False)
            again = await call(engineer, node, disable)
            back = await call(engineer, node, ua.NodeId("alarm:high_level.Enable", served.ns))  # the instance's
            enabled = await events.next(lambda f: f.get("NodeId") == node and f.get("EnabledState/Id") is True)
            return refused, done, disabled, again, back, enabled
        finally:
            await operator.disconnect()
            await engineer.disconnect()

    refused, done, disabled, again, back, enabled = run_apart(scenario())
    assert refused.name == "BadUserAccessDenied"
    assert done.is_good() and back.is_good(), (done, back)
    assert again.name == "BadConditionAlreadyDisabled"
    assert disabled["EnabledState"].Text == "Disabled" and disabled["Retain"] is False
    assert disabled["ClientUserId"] == "user:erin"
    assert enabled["EnabledState"].Text == "Enabled"
    history = served.plant.service.store.events("high_level", None, limit=5, newest_first=True)
    assert [e["event"] for e in history[:2]] == ["enabled", "disabled"]
    assert history[1]["who"] == "user:erin" and history[1]["details"]["reason"] == "OPC-UA Disable"
    assert served.plant.view("high_level")["state"] == "normal"
