"""kill -9 and damaged files: `petra run` as a subprocess, killed with SIGKILL and started again on the same
state directory (in-process restarts are in test_restarts.py)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from petra.alarms.store import AlarmStore
from petra.ctl.client import ControlClient, Target
from tests.alarms.support import OPERATOR, SUPERVISOR, alarm, plant_data
from tests.e2e.petra_process import PETRA, PetraProcess
from tests.helpers import wait_until

MANAGER = {**OPERATOR, "id": "manager", "phone": "+15550000003"}


def test_an_escalation_interrupted_by_kill_9_resumes_where_it_was_without_repeating_anyone(tmp_path, twilio):
    data = plant_data(tmp_path / "alarms", [alarm("temp_high", auto_reset=False)], twilio=twilio,
                      contacts=[{**OPERATOR, "escalation_delay_seconds": 2.0},
                                {**SUPERVISOR, "escalation_delay_seconds": 1.0}, MANAGER],
                      chains={"temp_high": ["operator", "supervisor", "manager"]})
    data["signals"][0]["writable"] = True
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    socket_path = tmp_path / "control.sock"
    args = ["run", str(config), "--metrics-port", "0", "--control-socket", str(socket_path)]
    client = ControlClient(Target(socket_path=socket_path))

    first = PetraProcess(args, tmp_path / "first.log")
    try:
        wait_until(socket_path.exists, timeout=30)
        wait_until(lambda: _alarms(client), timeout=30)
        client.set("temperature", 95.0)
        [sms] = twilio.wait_for(1, timeout=10)
        assert sms.form["To"] == "+15550000001"
        # (a kill between Twilio's 201 and PETRA recording it would re-send that one message: at-least-once)
        wait_until(lambda: client.request("GET", "/v1/alarms/deliveries")["deliveries"][0]["status"] == "queued")
        first.proc.kill()  # SIGKILL while waiting for the operator's escalation delay
        first.proc.wait(10)
    finally:
        first.kill()
    killed_at = time.monotonic()

    second = PetraProcess(args, tmp_path / "second.log")
    try:
        wait_until(lambda: socket_path.exists() and _alarms(client), timeout=30)
        [view] = _alarms(client)
        assert view["state"] == "active_unacked" and view["latched"] and view["occurrences"] == 1
        received = twilio.wait_for(3, timeout=15)
        by_to = {r.form["To"]: r for r in received}
        operator, supervisor, manager = (by_to[n] for n in ("+15550000001", "+15550000002", "+15550000003"))
        assert supervisor.kind == "Calls"
        # the delays still apply after the restart, counted from the original deadlines: 2 s, then 1 s more.
        # The deadlines count from the raise, the operator's SMS from its arrival a little later: the margin is
        # that delivery's latency (a resumed walk that ignored the delays would send at once). By contact, not
        # by arrival: when the restart takes longer than both steps, the call and the SMS are sent together
        # by two notifiers, in either order.
        assert supervisor.at - operator.at >= 1.75 and manager.at - operator.at >= 2.75
        client.request("POST", "/v1/alarms/temp_high/ack", {})
        history = client.request("GET", "/v1/alarms/history?id=temp_high&limit=100")["events"]
        assert [e["event"] for e in history if "state" in e][::-1] == ["raised", "acked"]
        assert [e["who"] for e in history if e["event"] == "notification_requested"][::-1] == [
            "operator", "supervisor", "manager"]  # the walk's order
        assert sum(1 for e in history if e["event"] == "escalation_started") == 1
        # the escalation manager has taken the ack: what it set off is requested when it logs this
        wait_until(lambda: "escalation temp_high stopped after 3 notification(s): active_acked" in second.log)
        deliveries = client.request("GET", "/v1/alarms/deliveries")["deliveries"]
        assert len(deliveries) == 3, deliveries
        assert not [d for d in deliveries if d["status"] in ("pending", "retrying", "sending")], deliveries
        assert len(twilio.accepted()) == 3  # nobody was told twice, nobody was forgotten
        assert "resuming 1 escalation(s): temp_high" in second.log
        assert time.monotonic() - killed_at < 40
        assert second.terminate() == 0
    finally:
        second.kill()


def _alarms(client: ControlClient) -> list[dict]:
    try:
        return client.request("GET", "/v1/alarms")["alarms"]
    except Exception:
        return []


DELAY_S = 4.0


class DelayPlant:
    """`petra run` with one alarm on a condition that logic keeps true, an on-delay (4 s), and SMS to the operator."""

    def __init__(self, tmp_path: Path, twilio: Any, delay_s: float = DELAY_S) -> None:
        data = plant_data(tmp_path / "alarms", [alarm("overheat", signal="overheat", condition="true",
                                                      delay_seconds=delay_s)],
                          twilio=twilio, chains={"overheat": ["operator"]})
        data["signals"][0]["initial"] = 95.0
        data["blocks"] = [{"name": "overheat_check", "type": "GT", "inputs": {"in1": "temperature", "in2": "80.0"},
                           "outputs": {"out": "overheat"}}]
        self.config = tmp_path / "plant.yaml"
        self.config.write_text(yaml.safe_dump(data, sort_keys=False))
        self.socket = tmp_path / "control.sock"
        self.client = ControlClient(Target(socket_path=self.socket))
        self.tmp_path = tmp_path
        self.runs = 0

    def start(self) -> PetraProcess:
        self.runs += 1
        self.socket.unlink(missing_ok=True)
        process = PetraProcess(["run", str(self.config), "--metrics-port", "0", "--control-socket", str(self.socket)],
                               self.tmp_path / f"run{self.runs}.log")
        wait_until(lambda: self.socket.exists() and _alarms(self.client), timeout=30)
        return process

    def view(self) -> dict[str, Any]:
        views = _alarms(self.client)
        return views[0] if views else {}

    def kill_into_the_delay(self, after_s: float) -> float:
        """Start a run, SIGKILL it `after_s` into the on-delay (before it raised); the onset time."""
        process = self.start()
        try:
            wait_until(lambda: self.view().get("pending_delay"), timeout=10)
            onset = self.view()["pending_since"]
            wait_until(lambda: time.time() >= onset + after_s, timeout=10)
            assert self.view()["state"] == "normal"
            _kill(process)
        finally:
            process.kill()
        return onset


def _kill(process: PetraProcess) -> None:
    process.proc.kill()
    process.proc.wait(10)
    process.kill()


def test_an_on_delay_interrupted_by_kill_9_raises_the_alarm_at_its_original_deadline(tmp_path, twilio):
    delay_s = DELAY_S + 2.0  # 4 s left after the kill: time for a slow start before the deadline
    plant = DelayPlant(tmp_path, twilio, delay_s)
    onset = plant.kill_into_the_delay(2.0)

    second = plant.start()
    try:
        wait_until(lambda: plant.view().get("active"), timeout=15)
        view = plant.view()
        assert view["state"] == "active_unacked" and view["occurrences"] == 1
        assert abs(view["raised_at"] - (onset + delay_s)) < 1.0  # not a new delay from the restart
        [sms] = twilio.wait_for(1, timeout=10)
        assert sms.form["To"] == "+15550000001"
        assert second.terminate() == 0
    finally:
        second.kill()


def test_a_crash_loop_shorter_than_the_on_delay_still_raises_the_alarm_on_the_second_run(tmp_path, twilio):
    plant = DelayPlant(tmp_path, twilio)
    onset = plant.kill_into_the_delay(3.0)  # each run lives 3 s, less than the 4 s delay

    second = plant.start()
    started = time.time()
    try:
        wait_until(lambda: plant.view().get("active") or time.time() >= started + 3.0, timeout=10)
        view = plant.view()
        _kill(second)
    finally:
        second.kill()
    assert view["state"] == "active_unacked"
    assert view["raised_at"] <= max(onset + DELAY_S, started) + 1.0

    third = plant.start()
    try:
        [sms] = twilio.wait_for(1, timeout=10)  # told, even if the second run died before sending
        assert sms.form["To"] == "+15550000001"
        wait_until(lambda: [d["status"] for d in plant.client.request("GET", "/v1/alarms/deliveries")["deliveries"]]
                   == ["queued"])
        assert len(twilio.accepted()) == 1  # and told once
        history = plant.client.request("GET", "/v1/alarms/history?id=overheat&limit=100")["events"]
        assert [e["event"] for e in history if "state" in e] == ["raised"]
        assert third.terminate() == 0
    finally:
        third.kill()


def test_a_truncated_alarm_state_file_is_refused_with_its_name_and_what_to_do_never_a_bus_error(tmp_path):
    state_dir = tmp_path / "alarms"
    store = AlarmStore(state_dir)
    store.write(states={f"alarm_{i}": {"raw": False, "note": "x" * 2000} for i in range(200)})
    store.close()
    data_file = state_dir / "data.mdb"
    os.truncate(data_file, data_file.stat().st_size // 2)
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump(plant_data(state_dir, [alarm("temp_high")]), sort_keys=False))
    result = subprocess.run([*PETRA, "run", str(config), "--metrics-port", "0", "--control-socket",
                             str(tmp_path / "control.sock")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, f"exit {result.returncode} (-7 is SIGBUS): {result.stderr}"
    assert f"alarm state: {data_file} is truncated" in result.stderr
    assert f"mv {state_dir} " in result.stderr
