"""Alarm state across restarts inside one process: actors crashed under their supervisor, runtimes stopped and
started again on the same state directory, a commit refused by a full disk."""

from __future__ import annotations

from typing import Any

from petra.clock.source import ManualTime
from supervision import Inject
from tests.alarms.support import OPERATOR, SUPERVISOR, AlarmPlant, alarm, flood_plant_data, plant_data, start_plant
from tests.helpers import wait_until


def _crash_and_wait_for_successor(plant: AlarmPlant, path: str) -> None:
    tree = plant.runtime.tree
    assert tree is not None
    before = tree.lookup(path)
    assert before is not None
    before.tell(Inject("crash"))
    wait_until(lambda: (ref := tree.lookup(path)) is not None and ref != before and ref.is_alive())


def test_a_crashed_alarm_actor_restarts_with_its_state_and_its_pending_delay_intact(tmp_path, plants):
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high", delay_seconds=3.0)]),
                        clock=ManualTime())
    plant.write(temperature=95.0)
    wait_until(lambda: plant.view("temp_high").get("pending_delay"))
    onset = plant.view("temp_high")["pending_since"]
    plant.advance_to(onset + 1.5)
    _crash_and_wait_for_successor(plant, "petra/alarms/states/alarm:temp_high")
    plant.advance_to(onset + 2.999)
    assert plant.view("temp_high")["state"] == "normal"
    plant.advance_to(onset + 3.0)
    view = plant.wait_state("temp_high", "active_unacked")
    assert view["raised_at"] == onset + 3.0  # the restart did not start the delay again
    assert plant.call("POST", "/v1/alarms/temp_high/ack", caller="token:ops").status == 200
    _crash_and_wait_for_successor(plant, "petra/alarms/states/alarm:temp_high")
    view = plant.wait_state("temp_high", "active_acked")
    assert view["acked_by"] == "token:ops" and view["occurrences"] == 1
    plant.write(temperature=20.0)
    plant.wait_state("temp_high", "normal")


def test_a_crashed_alarm_actor_clears_at_the_original_end_of_its_clear_delay(tmp_path, plants):
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high", clear_delay_seconds=3.0,
                                                                      require_acknowledgment=False)]),
                        clock=ManualTime())
    plant.write(temperature=95.0)
    plant.wait_state("temp_high", "active_unacked")
    plant.write(temperature=20.0)
    wait_until(lambda: plant.view("temp_high").get("pending_until"))
    onset = plant.view("temp_high")["pending_since"]
    plant.advance_to(onset + 1.5)
    _crash_and_wait_for_successor(plant, "petra/alarms/states/alarm:temp_high")
    plant.advance_to(onset + 2.999)
    assert plant.view("temp_high")["state"] == "active_unacked"
    plant.advance_to(onset + 3.0)
    plant.wait_state("temp_high", "normal")
    [cleared] = wait_until(lambda: [e for e in plant.events("temp_high") if e["event"] == "cleared"])
    assert cleared["time"] == onset + 3.0  # the restart did not start the clear delay again


def test_a_delay_whose_condition_cleared_while_petra_was_down_is_cancelled_by_the_first_evaluation(tmp_path,
                                                                                                   plants):
    data = plant_data(tmp_path / "alarms", [alarm("temp_high", delay_seconds=60.0)])
    first = start_plant(plants, data)
    first.write(temperature=95.0)
    wait_until(lambda: (first.service.store.get("states", "temp_high") or {}).get("pending_on") is not None)
    first.stop()
    second = start_plant(plants, data)
    assert second.view("temp_high")["pending_delay"]  # restored: it would raise at its original deadline
    second.write(temperature=30.0)
    wait_until(lambda: not second.view("temp_high")["pending_delay"])
    wait_until(lambda: (second.service.store.get("states", "temp_high") or {}).get("pending_on") is None)
    second.stop()
    third = start_plant(plants, data)
    assert third.view("temp_high")["state"] == "normal" and not third.view("temp_high")["pending_delay"]


def test_an_alarm_that_became_active_while_shelved_is_annunciated_when_the_shelve_expires_after_a_restart(
        tmp_path, plants):
    data = plant_data(tmp_path / "alarms", [alarm("temp_high")])
    clock = ManualTime()  # one clock across both runs
    first = start_plant(plants, data, clock=clock)
    shelved = first.call("POST", "/v1/alarms/temp_high/shelve", {"for_s": 6, "reason": "probe swap"})
    assert shelved.status == 200
    first.write(temperature=95.0)  # no transition while shelved, but the alarm is now in alarm
    wait_until(lambda: (first.service.store.get("states", "temp_high") or {}).get("in_alarm") is True, timeout=3)
    first.stop()
    clock.advance(3.0)  # PETRA was down for a while
    second = start_plant(plants, data, clock=clock)
    assert second.view("temp_high")["state"] == "shelved"
    until = shelved.body["shelve"]["until"]
    second.advance_to(until - 0.001)
    assert second.view("temp_high")["state"] == "shelved"
    second.advance_to(until)
    view = second.wait_state("temp_high", "active_unacked")  # the original expiry, from the store
    assert view["shelve"] is None
    # the live view changes before the group commit that makes the transition durable lands
    wait_until(lambda: [e["event"] for e in second.events("temp_high") if "state" in e]
               == ["shelved", "shelve_expired"])


def test_a_twilio_action_keeps_its_cool_down_across_a_restart_of_its_actor(tmp_path, twilio, plants):
    signals = [{"name": "emergency_stop", "type": "bool", "initial": False, "group": "process"}]
    data = plant_data(tmp_path / "alarms", [], twilio=twilio, signals=signals)
    data["twilio"]["actions"] = [{"name": "estop", "trigger_signal": "emergency_stop", "action_type": "sms",
                                  "to_number": "+15550000009", "content": "E stop", "cooldown_seconds": 300}]
    plant = start_plant(plants, data)
    plant.write(emergency_stop=True)
    twilio.wait_for(1)
    _crash_and_wait_for_successor(plant, "petra/alarms/twilio-actions")
    plant.write(emergency_stop=False)
    plant.write(emergency_stop=True)  # a new rising edge, well within the 300 s cool-down
    wait_until(lambda: plant.metric("petra_notify_suppressed_total", {"reason": "action_cooldown"}) == 1)
    assert len(twilio.accepted()) == 1


def test_a_flood_goes_on_consolidating_after_the_escalations_actor_restarts(tmp_path, twilio, plants):
    plant = start_plant(plants, flood_plant_data(tmp_path / "alarms", twilio, 5, summary_interval_s=600))
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
    clock = ManualTime()  # one clock across both runs
    first = start_plant(plants, data, clock=clock)
    first.write(temperature=95.0)
    twilio.wait_for(1)
    store = first.service.store
    first.stop()
    # as after a kill -9 between the ack's commit and the escalation hearing of it
    state = store.get("states", "temp_high")
    store.write(states={"temp_high": {**state, "acked": True, "acked_by": "token:ops"}})
    due = store.get("escalations", "temp_high")["walk"]["next_at"]
    clock.set(due)  # the supervisor's turn has come
    second = start_plant(plants, data, clock=clock)
    wait_until(lambda: any(e["event"] == "escalation_stopped" for e in second.events("temp_high")))
    assert second.view("temp_high")["state"] == "active_acked"
    assert [r.form["To"] for r in twilio.accepted()] == ["+15550000001"]  # the supervisor is not called


def test_an_alarm_raised_while_the_escalation_manager_was_down_is_escalated_when_it_is_back(tmp_path, twilio,
                                                                                          plants):
    from petra.alarms.children import child_specs

    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio,
                                        chains={"temp_high": ["operator"]}))
    tree = plant.runtime.tree
    assert tree is not None
    [spec] = [s for s in child_specs(plant.plant, plant.runtime.wiring) if s.id == "escalations"]
    tree.remove_child("petra/alarms/escalations")
    plant.write(temperature=95.0)
    plant.wait_state("temp_high", "active_unacked")  # announced to nobody
    tree.add_child("petra/alarms", spec)
    [sms] = twilio.wait_for(1)
    assert sms.form["To"] == "+15550000001"


def test_a_notification_retry_keeps_its_back_off_across_a_restart_of_its_notifier(tmp_path, twilio, plants):
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio,
                                        chains={"temp_high": ["operator"]},
                                        retry={"max_attempts": 3, "initial_backoff_seconds": 3.0,
                                               "max_backoff_seconds": 3.0}), clock=ManualTime())
    twilio.fail_next(1, 503)
    plant.write(temperature=95.0)

    def retrying() -> list[dict[str, Any]]:
        return [d for d in plant.call("GET", "/v1/alarms/deliveries").body["deliveries"] if d["status"] == "retrying"]

    [delivery] = wait_until(retrying)
    _crash_and_wait_for_successor(plant, "petra/alarms/notify:sms")
    plant.advance_to(delivery["retry_at"] - 0.001)  # not at once because its notifier restarted
    assert retrying() and twilio.accepted() == []
    plant.advance_to(delivery["retry_at"])
    [sent] = wait_until(lambda: [d for d in plant.call("GET", "/v1/alarms/deliveries").body["deliveries"]
                                 if d["status"] == "queued"])
    assert sent["attempts"] == 2 and len(twilio.accepted()) == 1
    assert sent["sent_at"] == delivery["retry_at"]


def test_an_escalation_restarted_after_a_re_raise_tells_the_next_contact_about_the_new_occurrence(tmp_path, twilio,
                                                                                                  plants):
    contacts = [{**OPERATOR, "escalation_delay_seconds": 1.5}, {**SUPERVISOR, "preferred_method": "sms"}]
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio, contacts=contacts,
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
    plant = start_plant(plants, data)
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
