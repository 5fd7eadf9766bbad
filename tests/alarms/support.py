"""Helpers for the alarm tests: plant configs with alarms, a started runtime, control API calls.

A test that must show that nothing more happens (no second SMS, no retry after
success) runs its plant on a `ManualTime` instead of sleeping: it advances the
clock past the deadline that would be wrong, calls `settle()`, and then asserts::

    plant = start_plant(plants, data, clock=ManualTime())
    ...
    plant.advance(0.4)        # the supervisor's step is due now
    assert len(twilio.accepted()) == 2
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pykka

from petra.alarms.service import AlarmService
from petra.clock.source import ManualTime
from petra.control.api import ControlApi, Request, Response
from tests.harness import RunningPlant
from tests.helpers import wait_until
from tests.peers.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

OPERATOR = {"id": "operator", "name": "Shift Operator", "phone": "+15550000001", "email": "op@plant.example",
            "preferred_method": "sms", "escalation_delay_seconds": 0.4}
SUPERVISOR = {"id": "supervisor", "name": "Supervisor", "phone": "+15550000002", "preferred_method": "call",
              "escalation_delay_seconds": 0.4}


def alarm(alarm_id: str, signal: str = "temperature", **extra: Any) -> dict[str, Any]:
    base = {"id": alarm_id, "name": alarm_id.replace("_", " ").title(), "signal": signal, "condition": "above",
            "setpoint": 80.0, "severity": "critical", "require_acknowledgment": True,
            "message_template": "{severity}: {name} is {value} (limit {setpoint})"}
    base.update(extra)
    return base


def plant_data(state_dir: Path, alarms: list[dict[str, Any]], *, twilio: FakeTwilio | None = None,
               contacts: list[dict[str, Any]] | None = None, chains: dict[str, list[str]] | None = None,
               signals: list[dict[str, Any]] | None = None, webhook_port: int | None = None,
               email: dict[str, Any] | None = None, **alarm_settings: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "node_id": "alarm-test",
        "scan_time_ms": 50,
        "signals": signals or [{"name": "temperature", "type": "float", "initial": 20.0, "group": "process",
                                "unit": "degC"}],
        "alarms": {"alarms": alarms, "contacts": contacts if contacts is not None else [OPERATOR, SUPERVISOR],
                   "escalation_chains": chains if chains is not None else {},
                   "state_dir": str(state_dir), "retry": {"max_attempts": 4, "initial_backoff_seconds": 0.05,
                                                          "max_backoff_seconds": 0.2},
                   **alarm_settings},
    }
    if twilio is not None:
        section: dict[str, Any] = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": "+15559999999",
                                   "api_base_url": twilio.base_url}
        if webhook_port is not None:
            section["webhook"] = {"port": webhook_port, "public_url": f"http://127.0.0.1:{webhook_port}"}
        data["twilio"] = section
    if email is not None:
        data["email"] = email
    return data


def flood_plant_data(state_dir: Path, twilio: FakeTwilio, count: int, summary_interval_s: float) -> dict[str, Any]:
    """`count` alarms a0.. on signals t0.., each notifying the operator, a flood above 3 raises in 10 minutes."""
    names = [f"t{i}" for i in range(count)]
    signals = [{"name": n, "type": "float", "initial": 0.0, "group": "process"} for n in names]
    alarms = [alarm(f"a{i}", signal=n) for i, n in enumerate(names)]
    return plant_data(state_dir, alarms, twilio=twilio, signals=signals,
                      chains={a["id"]: ["operator"] for a in alarms},
                      flood={"threshold": 3, "window_seconds": 600, "summary_interval_seconds": summary_interval_s})


class AlarmPlant(RunningPlant):
    """A RunningPlant with alarms, started on construction; stop() in a finally or through the fixture."""

    def __init__(self, data: dict[str, Any], control_socket: Path | None = None, **options: Any) -> None:
        # a socket of its own next to the state directory: the default one is shared by every PETRA on the machine
        socket = control_socket or Path(data["alarms"]["state_dir"]).parent / "control.sock"
        super().__init__(data, control_socket=socket, **options)
        self.start()
        self.api = ControlApi(self.runtime, routes=self.runtime.wiring.routes)

    @property
    def clock(self) -> ManualTime:
        """The plant's manual clock (start it with `clock=ManualTime()`)."""
        clock = self.plant.time
        assert isinstance(clock, ManualTime), "this plant runs on the real clock: start it with clock=ManualTime()"
        return clock

    def advance(self, seconds: float) -> None:
        """Move the manual clock forward by `seconds`, then `settle()`."""
        self.clock.advance(seconds)
        self.settle()

    def advance_to(self, when: float) -> None:
        """Set the manual clock to wall-clock time `when` (a deadline read from the plant, exactly), then `settle()`."""
        self.clock.set(when)
        self.settle()

    def settle(self, timeout: float = 5.0) -> None:
        """Return once what is due by the plant's clock has gone all the way through.

        The timers have fired; then, in the order messages flow (alarm actors, the store's
        group commit that announces their transitions, the escalation manager, the Twilio
        actions, the notifiers), each actor has handled everything told to it before: an ask
        after the tells is the barrier. A notifier's send is synchronous, so what it sent has
        reached the peer. Two passes, for an actor that tells itself once more.
        """
        service = self.service
        for _ in range(2):
            assert service.scheduler.settle(timeout), "alarm timers still due after the settle timeout"
            for spec in service.config.alarms:
                barrier(service.alarm_ref(spec.id), timeout)
            service.store.submit(wait=True)  # every commit queued before it is announced when this returns
            barrier(service.ref("escalations"), timeout)
            barrier(service.ref("twilio-actions"), timeout)
            for channel in service.config.channels():
                barrier(service.ref(f"notify:{channel}"), timeout)

    @property
    def service(self) -> AlarmService:
        service = AlarmService.of(self.runtime.wiring)
        assert service is not None, "the plant has no alarms"
        return service

    def write(self, group: str = "process", **values: Any) -> None:
        super().write(group, **values)

    def view(self, alarm_id: str) -> dict[str, Any]:
        return self.service.views.get(alarm_id, {})

    def wait_state(self, alarm_id: str, state: str, timeout: float = 5.0) -> dict[str, Any]:
        wait_until(lambda: self.view(alarm_id).get("state") == state, timeout=timeout)
        return self.view(alarm_id)

    def call(self, method: str, path: str, body: Any = None, caller: str = "uid:1000",
             query: dict[str, str] | None = None) -> Response:
        raw = b"" if body is None else json.dumps(body).encode()
        return self.api.handle(Request(method, path, query or {}, raw, caller))

    def events(self, alarm_id: str | None = None) -> list[dict[str, Any]]:
        return self.service.store.events(alarm_id, limit=10_000)


def barrier(ref: pykka.ActorRef[Any] | None, timeout: float = 5.0) -> None:
    """Return once the actor at `ref` (if any) has handled every message told to it before."""
    if ref is not None:
        ref.proxy().path.get(timeout=timeout)


def start_plant(plants: list[AlarmPlant], data: dict[str, Any], **kwargs: Any) -> AlarmPlant:
    """Start an AlarmPlant that the `plants` fixture stops after the test."""
    plant = AlarmPlant(data, **kwargs)
    plants.append(plant)
    return plant
