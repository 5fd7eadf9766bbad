"""Alarm state across restarts: `petra run` killed with SIGKILL and started again on the same state
directory, in-process runtimes stopped and started again, and alarm actors crashed under their supervisor."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from petra.alarms.store import AlarmStore
from petra.ctl.client import ControlClient, Target
from supervision import Inject
from tests.alarms.support import OPERATOR, SUPERVISOR, AlarmPlant, alarm, flood_plant_data, plant_data
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
        assert [r.form["To"] for r in received] == ["+15550000001", "+15550000002", "+15550000003"]
        assert received[1].kind == "Calls"
        # the delays still apply after the restart, counted from the original deadlines: 2 s, then 1 s more
        assert received[1].at - received[0].at >= 1.9 and received[2].at - received[0].at >= 2.9
        client.request("POST", "/v1/alarms/temp_high/ack", {})
        history = client.request("GET", "/v1/alarms/history?id=temp_high&limit=100")["events"]
        assert [e["event"] for e in history if "state" in e][::-1] == ["raised", "acked"]
        assert sum(1 for e in history if e["event"] == "escalation_started") == 1
        time.sleep(1.2)
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
    """`petra run` with one alarm on a condition that logic keeps true, `delay_seconds: 4`, and SMS to the operator."""

    def __init__(self, tmp_path: Path, twilio: Any) -> None:
        data = plant_data(tmp_path / "alarms", [alarm("overheat", signal="overheat", condition="true",
                                                      delay_seconds=DELAY_S)],
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
    plant = DelayPlant(tmp_path, twilio)
    onset = plant.kill_into_the_delay(DELAY_S / 2)

    second = plant.start()
    try:
        wait_until(lambda: plant.view().get("active"), timeout=15)
        view = plant.view()
        assert view["state"] == "active_unacked" and view["occurrences"] == 1
        assert abs(view["raised_at"] - (onset + DELAY_S)) < 1.0  # not a new 4 s delay from the restart
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


def _started(plants: list[AlarmPlant], data: dict[str, Any]) -> AlarmPlant:
    plant = AlarmPlant(data)
    plants.append(plant)
    return plant


def _crash_and_wait_for_successor(plant: AlarmPlant, path: str) -> None:
    tree = plant.runtime.tree
    assert tree is not None
    before = tree.lookup(path)
    assert before is not None
    before.tell(Inject("crash"))
    wait_until(lambda: (ref := tree.lookup(path)) is not None and ref != before and ref.is_alive())


def test_a_crashed_alarm_actor_restarts_with_its_state_and_its_pending_delay_intact(tmp_path, plants):
    plant = _started(plants, plant_data(tmp_path / "alarms", [alarm("temp_high", delay_seconds=3.0)]))
    plant.write(temperature=95.0)
    wait_until(lambda: plant.view("temp_high").get("pending_delay"))
    onset = plant.view("temp_high")["pending_since"]
    wait_until(lambda: time.time() >= onset + 1.5)
    _crash_and_wait_for_successor(plant, "petra/alarms/states/alarm:temp_high")
    view = plant.wait_state("temp_high", "active_unacked", timeout=10)
    assert abs(view["raised_at"] - (onset + 3.0)) < 0.75  # the restart did not start the delay again
    assert plant.call("POST", "/v1/alarms/temp_high/ack", caller="token:ops").status == 200
    _crash_and_wait_for_successor(plant, "petra/alarms/states/alarm:temp_high")
    view = plant.wait_state("temp_high", "active_acked")
    assert view["acked_by"] == "token:ops" and view["occurrences"] == 1
    plant.write(temperature=20.0)
    plant.wait_state("temp_high", "normal")


def test_a_delay_whose_condition_cleared_while_petra_was_down_is_cancelled_by_the_first_evaluation(tmp_path,
                                                                                                   plants):
    data = plant_data(tmp_path / "alarms", [alarm("temp_high", delay_seconds=60.0)])
    first = _started(plants, data)
    first.write(temperature=95.0)
    wait_until(lambda: (first.service.store.get("states", "temp_high") or {}).get("pending_on") is not None)
    first.stop()
    second = _started(plants, data)
    assert second.view("temp_high")["pending_delay"]  # restored: it would raise at its original deadline
    second.write(temperature=30.0)
    wait_until(lambda: not second.view("temp_high")["pending_delay"])
    wait_until(lambda: (second.service.store.get("states", "temp_high") or {}).get("pending_on") is None)
    second.stop()
    third = _started(plants, data)
    assert third.view("temp_high")["state"] == "normal" and not third.view("temp_high")["pending_delay"]


def test_an_alarm_that_became_active_while_shelved_is_annunciated_when_the_shelve_expires_after_a_restart(
        tmp_path, plants):
    data = plant_data(tmp_path / "alarms", [alarm("temp_high")])
    first = _started(plants, data)
    shelved = first.call("POST", "/v1/alarms/temp_high/shelve", {"for_s": 6, "reason": "probe swap"})
    assert shelved.status == 200
    first.write(temperature=95.0)  # no transition while shelved, but the alarm is now in alarm
    wait_until(lambda: (first.service.store.get("states", "temp_high") or {}).get("in_alarm") is True, timeout=3)
    first.stop()
    second = _started(plants, data)
    assert second.view("temp_high")["state"] == "shelved"
    view = second.wait_state("temp_high", "active_unacked", timeout=10)  # the original expiry, from the store
    assert view["shelve"] is None
    assert [e["event"] for e in second.events("temp_high") if "state" in e] == ["shelved", "shelve_expired"]


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


def test_a_twilio_action_keeps_its_cool_down_across_a_restart_of_its_actor(tmp_path, twilio, plants):
    signals = [{"name": "emergency_stop", "type": "bool", "initial": False, "group": "process"}]
    data = plant_data(tmp_path / "alarms", [], twilio=twilio, signals=signals)
    data["twilio"]["actions"] = [{"name": "estop", "trigger_signal": "emergency_stop", "action_type": "sms",
                                  "to_number": "+15550000009", "content": "E stop", "cooldown_seconds": 300}]
    plant = _started(plants, data)
    plant.write(emergency_stop=True)
    twilio.wait_for(1)
    _crash_and_wait_for_successor(plant, "petra/alarms/twilio-actions")
    plant.write(emergency_stop=False)
    plant.write(emergency_stop=True)  # a new rising edge, well within the 300 s cool-down
    wait_until(lambda: plant.metric("petra_notify_suppressed_total", {"reason": "action_cooldown"}) == 1)
    assert len(twilio.accepted()) == 1


def test_a_flood_goes_on_consolidating_after_the_escalations_actor_restarts(tmp_path, twilio, plants):
    plant = _started(plants, flood_plant_data(tmp_path / "alarms", twilio, 5, summary_interval_s=600))
    for i in range(4):
        plant.write(**{f"t{i}": 100.0})
    consolidated = {"reason": "consolidated"}
    wait_until(lambda: plant.metric("petra_notify_suppressed_total", consolidated) == 1)
    twilio.wait_for(3)
    _crash_and_wait_for_successor(plant, "petra/alarms/escalations")
    plant.write(t4=100.0)  # the fifth alarm within the window: still a flood
    wait_until(lambda: plant.metric("petra_notify_suppressed_total", consolidated) == 2)
    assert len(twilio.accepted()) == 3 and plant.value("alarms.flood") is True
    assert plant.metric("petra_alarm_floods_total") == 1  # the same flood, not a new one


def test_a_resumed_escalation_waits_for_the_alarm_state_and_tells_nobody_about_an_alarm_acked_before_the_crash(
        tmp_path, twilio, plants):
    data = plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio,
                      chains={"temp_high": ["operator", "supervisor"]})
    first = _started(plants, data)
    first.write(temperature=95.0)
    twilio.wait_for(1)
    store = first.service.store
    first.stop()
    # as after a kill -9 between the ack's commit and the escalation hearing of it
    state = store.get("states", "temp_high")
    store.write(states={"temp_high": {**state, "acked": True, "acked_by": "token:ops"}})
    due = store.get("escalations", "temp_high")["walk"]["next_at"]
    wait_until(lambda: time.time() >= due)  # the supervisor's turn has come
    second = _started(plants, data)
    wait_until(lambda: any(e["event"] == "escalation_stopped" for e in second.events("temp_high")))
    assert second.view("temp_high")["state"] == "active_acked"
    assert [r.form["To"] for r in twilio.accepted()] == ["+15550000001"]  # the supervisor is not called


def test_an_alarm_raised_while_the_escalation_manager_was_down_is_escalated_when_it_is_back(tmp_path, twilio,
                                                                                          plants):
    from petra.alarms import child_specs

    plant = _started(plants, plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio,
                                        chains={"temp_high": ["operator"]}))
    tree = plant.runtime.tree
    assert tree is not None
    [spec] = [s for s in child_specs(plant.plant) if s.id == "escalations"]
    tree.remove_child("petra/alarms/escalations")
    plant.write(temperature=95.0)
    plant.wait_state("temp_high", "active_unacked")  # announced to nobody
    tree.add_child("petra/alarms", spec)
    [sms] = twilio.wait_for(1)
    assert sms.form["To"] == "+15550000001"


def test_a_notification_retry_keeps_its_back_off_across_a_restart_of_its_notifier(tmp_path, twilio, plants):
    plant = _started(plants, plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio,
                                        chains={"temp_high": ["operator"]},
                                        retry={"max_attempts": 3, "initial_backoff_seconds": 3.0,
                                               "max_backoff_seconds": 3.0}))
    twilio.fail_next(1, 503)
    plant.write(temperature=95.0)

    def retrying() -> list[dict[str, Any]]:
        return [d for d in plant.call("GET", "/v1/alarms/deliveries").body["deliveries"] if d["status"] == "retrying"]

    [delivery] = wait_until(retrying)
    _crash_and_wait_for_successor(plant, "petra/alarms/notify:sms")
    [sent] = wait_until(lambda: [d for d in plant.call("GET", "/v1/alarms/deliveries").body["deliveries"]
                                 if d["status"] == "queued"])
    assert sent["attempts"] == 2 and len(twilio.accepted()) == 1
    assert sent["sent_at"] >= delivery["retry_at"] - 0.1  # not at once because its notifier restarted


def test_an_escalation_restarted_after_a_re_raise_tells_the_next_contact_about_the_new_occurrence(tmp_path, twilio,
                                                                                                  plants):
    contacts = [{**OPERATOR, "escalation_delay_seconds": 1.5}, {**SUPERVISOR, "preferred_method": "sms"}]
    plant = _started(plants, plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio, contacts=contacts,
                                        chains={"temp_high": ["operator", "supervisor"]}))
    plant.write(temperature=95.0)
    twilio.wait_for(1)
    plant.write(temperature=20.0)
    plant.wait_state("temp_high", "rtn_unacked")  # still unacknowledged: the walk goes on
    plant.write(temperature=99.0)
    code = plant.wait_state("temp_high", "active_unacked")["code"]
    assert plant.runtime.tree is not None
    escalations = plant.runtime.tree.lookup("petra/alarms/escalations")
    assert escalations is not None
    wait_until(lambda: "is 99.0" in escalations.ask("walks")["temp_high"]["message"])  # it heard of the re-raise
    _crash_and_wait_for_successor(plant, "petra/alarms/escalations")
    _, sms = twilio.wait_for(2)
    assert sms.form["To"] == "+15550000002"
    assert "is 99.0" in sms.form["Body"] and f"ACK {code}" in sms.form["Body"]


def test_a_raise_that_cannot_be_stored_is_not_announced_and_is_raised_once_the_disk_has_room(small_disk, twilio,
                                                                                            plants):
    data = plant_data(small_disk.path / "alarms", [alarm("temp_high"), alarm("always", setpoint=0.0)],
                      twilio=twilio, chains={"temp_high": ["operator"]})
    plant = _started(plants, data)
    plant.wait_state("always", "active_unacked")  # one occurrence on disk: its block of short codes too
    small_disk.fill()
    plant.write(temperature=95.0)
    restarts = {"path": "petra/alarms/states/alarm:temp_high"}
    wait_until(lambda: plant.metric("petra_actor_restarts_total", restarts) >= 1)  # its commit failed
    assert plant.value("alarm.temp_high.state") == "normal" and twilio.accepted() == []  # nothing announced
    small_disk.free()
    plant.wait_state("temp_high", "active_unacked", timeout=15)
    [sms] = twilio.wait_for(1)
    assert sms.form["To"] == "+15550000001"
    assert [e["event"] for e in plant.events("temp_high") if "state" in e] == ["raised"]
