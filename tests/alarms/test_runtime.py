"""The alarm subsystem in a running plant: real actors, the real twilio client against a Twilio-shaped
server, aiosmtpd for e-mail, the control API and signed webhooks."""

from __future__ import annotations

import json
import re
import time

import pytest

from petra.clock.source import ManualTime
from tests.alarms.support import OPERATOR, SUPERVISOR, AlarmPlant, alarm, flood_plant_data, plant_data, start_plant
from tests.helpers import wait_until
from tests.peers.mosquitto import free_port
from tests.peers.smtp_server import PASSWORD, USER
from tests.peers.twilio_server import AUTH_TOKEN, post_signed, post_signed_body

CHAIN = {"temp_high": ["operator", "supervisor"]}


def test_an_alarm_escalates_down_its_chain_until_acknowledged_and_the_ack_is_audited(tmp_path, twilio, plants):
    data = plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio, chains=CHAIN,
                      contacts=[OPERATOR, SUPERVISOR, {**OPERATOR, "id": "manager", "phone": "+15550000003"}])
    data["alarms"]["escalation_chains"] = {"temp_high": ["operator", "supervisor", "manager"]}
    data["security"] = {"enable_audit_logging": True, "audit_log": str(tmp_path / "audit.log")}
    plant = start_plant(plants, data, clock=ManualTime())
    assert plant.value("alarm.temp_high.state") == "normal"
    plant.write(temperature=91.5)
    plant.wait_state("temp_high", "active_unacked")
    wait_until(lambda: plant.value("alarm.temp_high.active") is True and plant.value("alarm.temp_high.acked") is False)
    [sms] = twilio.wait_for(1, timeout=5)
    [first] = [e for e in plant.events("temp_high") if e["event"] == "notification_requested"]
    plant.advance_to(first["time"] + 0.399)  # just short of the operator's escalation delay
    assert len(twilio.accepted()) == 1
    plant.advance_to(first["time"] + 0.4)
    sms, call = twilio.wait_for(2, timeout=5)
    assert sms.kind == "Messages" and sms.form["To"] == "+15550000001"
    assert sms.form["Body"].startswith("CRITICAL: Temp High is 91.5 (limit 80.0) Reply ACK ")
    assert call.kind == "Calls" and call.form["To"] == "+15550000002" and "<Say>" in call.form["Twiml"]
    requested = [e for e in plant.events("temp_high") if e["event"] == "notification_requested"]
    assert [e["who"] for e in requested] == ["operator", "supervisor"]
    assert requested[1]["time"] - requested[0]["time"] == pytest.approx(0.4)  # the operator's escalation delay
    response = plant.call("POST", "/v1/alarms/temp_high/ack", {"comment": "on my way"}, caller="token:ops")
    assert response.status == 200 and response.body["acked_by"] == "token:ops"
    plant.advance(10.0)  # the manager would have been called 0.4 s after the supervisor
    assert len(twilio.accepted()) == 2
    assert plant.call("POST", "/v1/alarms/temp_high/ack").status == 409
    events = [e["event"] for e in plant.events("temp_high")]
    assert events[:2] == ["raised", "escalation_started"] and "escalation_stopped" in events
    audit = (tmp_path / "audit.log").read_text()
    assert '"alarm.ack"' in audit and "token:ops" in audit


def test_shelve_unshelve_reset_history_and_kpi_through_the_control_api(tmp_path, plants):
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high", auto_reset=False)]),
                        clock=ManualTime())
    plant.write(temperature=90.0)
    plant.wait_state("temp_high", "active_unacked")
    refused = plant.call("POST", "/v1/alarms/temp_high/shelve", {"for_s": 60})
    assert refused.status == 400 and "reason" in refused.body["error"]
    shelved = plant.call("POST", "/v1/alarms/temp_high/shelve", {"for_s": 0.3, "reason": "probe swap"})
    assert shelved.status == 200 and shelved.body["shelve"]["by"] == "uid:1000"
    assert plant.value("alarm.temp_high.state") == "shelved" or plant.wait_state("temp_high", "shelved")
    until = shelved.body["shelve"]["until"]
    plant.advance_to(until - 0.001)
    assert plant.view("temp_high")["state"] == "shelved"
    plant.advance_to(until)
    plant.wait_state("temp_high", "active_unacked")  # the shelve expired: annunciated again
    assert plant.call("POST", "/v1/alarms/temp_high/reset").status == 409  # still active
    plant.call("POST", "/v1/alarms/temp_high/ack")
    plant.write(temperature=20.0)
    plant.wait_state("temp_high", "latched")
    assert plant.call("POST", "/v1/alarms/temp_high/reset").status == 200
    plant.wait_state("temp_high", "normal")
    assert plant.call("POST", "/v1/alarms/nope/ack").status == 404
    history = plant.call("GET", "/v1/alarms/history", query={"id": "temp_high"}).body["events"]
    assert [e["event"] for e in history if "state" in e][::-1] == [
        "raised", "shelved", "shelve_expired", "acked", "cleared", "reset"]
    assert history[-1]["who"] == "" and any(e["who"] == "uid:1000" for e in history)
    kpi = plant.call("GET", "/v1/alarms/kpi").body
    assert kpi["alarms"] == 2 and kpi["top10"] == [{"alarm": "temp_high", "count": 2}]
    listing = plant.call("GET", "/v1/alarms").body
    assert listing["alarms"][0]["state"] == "normal" and listing["flood"] is False


def test_suppression_by_design_follows_the_suppress_when_signal(tmp_path, plants):
    signals = [{"name": "temperature", "type": "float", "initial": 20.0, "group": "process"},
               {"name": "maintenance", "type": "bool", "initial": False, "group": "process"}]
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high", suppress_when="maintenance")],
                                     signals=signals))
    plant.write(maintenance=True)
    plant.wait_state("temp_high", "suppressed")
    plant.write(temperature=95.0)
    view = wait_until(lambda: (v := plant.view("temp_high")).get("value") == 95.0 and v)  # the alarm has seen it
    assert view["state"] == "suppressed"
    plant.write(maintenance=False)
    plant.wait_state("temp_high", "active_unacked")


def test_twilio_failures_are_retried_with_back_off_and_bad_numbers_are_reported(tmp_path, twilio, plants):
    bad = {**SUPERVISOR, "phone": "12345", "preferred_method": "sms"}
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio, chains=CHAIN,
                                     contacts=[OPERATOR, bad]))
    twilio.fail_next(2, 503)
    plant.write(temperature=90.0)
    [sms] = twilio.wait_for(1, timeout=5)
    assert sms.form["To"] == "+15550000001"
    wait_until(lambda: plant.metric("petra_notify_failed_total", {"channel": "sms"}) == 1, timeout=5)
    assert plant.metric("petra_notify_retries_total", {"channel": "sms"}) == 2
    assert plant.metric("petra_notify_sent_total", {"channel": "sms"}) == 1
    deliveries = plant.call("GET", "/v1/alarms/deliveries").body["deliveries"]
    by_to = {d["to"]: d for d in deliveries}
    assert by_to["+15550000001"]["attempts"] == 3 and by_to["+15550000001"]["status"] == "queued"
    assert by_to["12345"]["status"] == "failed" and "21211" in by_to["12345"]["error"]
    events = {e["event"] for e in plant.events("temp_high")}
    assert {"notification_sent", "notification_failed"} <= events


def test_smtp_failures_are_retried_and_the_email_arrives_once(tmp_path, smtp, plants):
    contact = {"id": "mail_op", "name": "Mail Operator", "email": "op@plant.example", "preferred_method": "email"}
    email = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "username": USER, "password": PASSWORD,
             "from_address": "petra@plant.example", "ca_file": str(smtp.ca_file)}
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high")], contacts=[contact],
                                           chains={"temp_high": ["mail_op"]}, email=email), clock=ManualTime())
    before = len(smtp.messages)
    smtp.fail_next(1)
    plant.write(temperature=90.0)
    wait_until(lambda: plant.metric("petra_notify_retries_total", {"channel": "email"}) == 1)
    plant.settle()
    assert len(smtp.messages) == before  # the retry waits out its back-off (0.05 s, at most 0.2)
    plant.advance(0.2)
    messages = smtp.wait_for(before + 1)
    assert plant.metric("petra_notify_sent_total", {"channel": "email"}) == 1
    assert "Temp High is 90.0" in messages[-1].get_payload() and messages[-1]["To"] == "op@plant.example"
    plant.advance(60.0)  # long past every back-off: a sent e-mail is not retried
    assert len(smtp.messages) == before + 1
    assert plant.metric("petra_notify_retries_total", {"channel": "email"}) == 1


def test_a_chattering_alarm_notifies_a_contact_once_within_the_cool_down(tmp_path, twilio, plants):
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high", require_acknowledgment=False)],
                                     twilio=twilio, chains={"temp_high": ["operator"]},
                                     notification_cooldown_seconds=60))
    for _ in range(4):
        plant.write(temperature=90.0)
        plant.wait_state("temp_high", "active_unacked")
        plant.write(temperature=20.0)
        plant.wait_state("temp_high", "normal")
    # every later activation is counted as suppressed by the cool-down, none is sent
    wait_until(lambda: plant.metric("petra_notify_suppressed_total", {"reason": "cooldown"}) == 3, timeout=5)
    twilio.wait_for(1, timeout=5)  # the first activation's SMS may still be on its way
    plant.settle()
    assert len(twilio.accepted()) == 1
    assert plant.view("temp_high")["chattering"] is True
    assert plant.metric("petra_alarm_chattering") == 1


def test_a_flood_consolidates_notifications_into_one_summary(tmp_path, twilio, plants):
    plant = start_plant(plants, flood_plant_data(tmp_path / "alarms", twilio, 6, summary_interval_s=0.3),
                        clock=ManualTime())
    for i in range(6):
        plant.write(**{f"t{i}": 100.0})
    wait_until(lambda: plant.metric("petra_notify_suppressed_total", {"reason": "consolidated"}) == 3, timeout=5)
    plant.settle()
    assert len(twilio.accepted()) == 3 and plant.metric("petra_notify_flood_summaries_total") == 0
    plant.advance(0.3)  # the summary interval
    assert plant.metric("petra_notify_flood_summaries_total") == 1
    received = twilio.wait_for(4, timeout=5)
    plant.advance(1.0)  # more summary intervals: nothing new to summarize
    assert len(twilio.accepted()) == 4  # three alarms one by one, then one summary for the other three
    summary = received[-1].form["Body"]
    assert summary.startswith("PETRA alarm flood: 3 alarm notification(s) consolidated.")
    in_summary = set(re.findall(r"^- (a\d) ", summary, re.MULTILINE))
    one_by_one = {r.form["Body"].split(" is ")[0].rsplit(" ", 1)[-1].lower() for r in received[:3]}
    assert len(in_summary) == 3 and in_summary | one_by_one == {f"a{i}" for i in range(6)}
    assert plant.metric("petra_alarm_floods_total") == 1 and plant.value("alarms.flood") is True
    assert plant.call("GET", "/v1/alarms/kpi").body["floods"] == 1


def webhook_plant(tmp_path, twilio, plants) -> tuple[AlarmPlant, str]:
    port = free_port()
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio, chains=CHAIN,
                                     webhook_port=port))
    return plant, f"http://127.0.0.1:{port}"


def test_webhooks_without_a_valid_signature_are_refused(tmp_path, twilio, plants):
    plant, base = webhook_plant(tmp_path, twilio, plants)
    form = {"From": "+15550000001", "Body": "ACK temp_high"}
    assert post_signed(base + "/v1/twilio/sms", form, "wrong-token") == 403
    assert post_signed(base + "/v1/twilio/sms", form, AUTH_TOKEN, signature="") == 403
    signed_for_other_url = post_signed(base + "/v1/twilio/sms", form, AUTH_TOKEN,
                                       signature=__import__("twilio.request_validator").request_validator
                                       .RequestValidator(AUTH_TOKEN).compute_signature(base + "/v1/twilio/voice", form))
    assert signed_for_other_url == 403
    assert plant.metric("petra_notify_webhooks_total", {"kind": "sms", "result": "refused"}) == 3
    assert post_signed(base + "/v1/twilio/sms", {"From": "+15550000001", "Body": "hello"}, AUTH_TOKEN) == 200


def test_an_sms_reply_with_the_code_acknowledges_and_strangers_are_refused(tmp_path, twilio, plants):
    plant, base = webhook_plant(tmp_path, twilio, plants)
    plant.write(temperature=90.0)
    [sms] = twilio.wait_for(1)
    code = sms.form["Body"].rsplit("ACK ", 1)[1].split()[0]
    status, body = post_signed_body(base + "/v1/twilio/sms", {"From": "+15557777777", "Body": f"ACK {code}"},
                                    AUTH_TOKEN)
    assert status == 200 and "may not acknowledge" in body
    assert plant.view("temp_high")["acked"] is False
    status, body = post_signed_body(base + "/v1/twilio/sms", {"From": "+1 555 000 0001", "Body": f"ack {code}"},
                                    AUTH_TOKEN)
    assert status == 200 and "<Message>Alarm temp_high acknowledged.</Message>" in body
    view = plant.wait_state("temp_high", "active_acked")
    assert view["acked_by"] == "sms:operator"


def test_a_key_press_during_the_call_acknowledges_and_status_callbacks_update_deliveries(tmp_path, twilio, plants):
    plant, base = webhook_plant(tmp_path, twilio, plants)
    plant.write(temperature=90.0)
    sms, call = twilio.wait_for(2)
    assert sms.form["StatusCallback"] == base + "/v1/twilio/status"
    assert f'action="{base}/v1/twilio/voice?alarm=temp_high"' in call.form["Twiml"]
    assert twilio.status_callback(sms, "delivered") == 200
    wait_until(lambda: any(d["status"] == "delivered" for d in
                           plant.call("GET", "/v1/alarms/deliveries").body["deliveries"]))
    assert plant.metric("petra_notify_delivery_status_total", {"channel": "sms", "status": "delivered"}) == 1
    status, body = post_signed_body(f"{base}/v1/twilio/voice?alarm=temp_high",
                                    {"CallSid": call.response["sid"], "Digits": "1", "To": "+15550000002"}, AUTH_TOKEN)
    assert status == 200 and "acknowledged" in body
    assert plant.wait_state("temp_high", "active_acked")["acked_by"] == "voice:supervisor"


def test_a_twilio_action_fires_on_the_rising_edge_once_per_cool_down(tmp_path, twilio, plants):
    signals = [{"name": "temperature", "type": "float", "initial": 20.0, "group": "process"},
               {"name": "emergency_stop", "type": "bool", "initial": False, "group": "process"}]
    data = plant_data(tmp_path / "alarms", [], twilio=twilio, signals=signals)
    data["twilio"]["actions"] = [{"name": "estop", "trigger_signal": "emergency_stop", "action_type": "call",
                                  "to_number": "+15550000009", "content": "<Response><Say>E stop</Say></Response>",
                                  "cooldown_seconds": 300}]
    plant = start_plant(plants, data, clock=ManualTime())
    for value in (True, False, True):
        plant.write(emergency_stop=value)
    [call] = twilio.wait_for(1)
    wait_until(lambda: plant.metric("petra_notify_suppressed_total", {"reason": "action_cooldown"}) == 1)
    plant.settle()
    assert len(twilio.accepted()) == 1
    assert call.form["Twiml"] == "<Response><Say>E stop</Say></Response>" and call.form["To"] == "+15550000009"
    plant.advance(299.0)  # still within the cool-down
    for value in (False, True):
        plant.write(emergency_stop=value)
    wait_until(lambda: plant.metric("petra_notify_suppressed_total", {"reason": "action_cooldown"}) == 2)
    plant.advance(1.5)  # past it: the next rising edge calls again
    for value in (False, True):
        plant.write(emergency_stop=value)
    twilio.wait_for(2)
    plant.settle()
    assert len(twilio.accepted()) == 2
    assert json.dumps(plant.call("GET", "/v1/alarms").body)  # an alarm list with no alarms still answers


def test_a_reload_that_adds_an_alarm_keeps_the_state_of_the_others(tmp_path, plants):
    import yaml

    data = plant_data(tmp_path / "alarms", [alarm("temp_high")])
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    plant = start_plant(plants, data, config_path=path)
    runtime = plant.runtime
    plant.write(temperature=90.0)
    plant.wait_state("temp_high", "active_unacked")
    data["alarms"]["alarms"].append(alarm("temp_very_high", setpoint=95.0))
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = runtime.reload()
    assert result.accepted, result.problems
    plant.wait_state("temp_very_high", "normal")
    assert plant.view("temp_high")["state"] == "active_unacked" and plant.view("temp_high")["occurrences"] == 1
    plant.write(temperature=99.0)
    plant.wait_state("temp_very_high", "active_unacked")


def test_alarm_events_older_than_their_retention_are_trimmed(tmp_path, plants):
    data = plant_data(tmp_path / "alarms", [alarm("temp_high")])
    data["alarms"]["event_retention_days"] = 1
    plant = start_plant(plants, data)
    plant.write(temperature=95.0)
    plant.wait_state("temp_high", "active_unacked")
    wait_until(lambda: plant.events("temp_high"))  # committed by the group-commit thread
    router = plant.runtime.tree.lookup("petra/alarms/alarm-router").proxy()
    assert router.trim_events(time.time() + 3600).get(timeout=5) == 0  # a day's retention keeps today's
    removed = router.trim_events(time.time() + 2 * 86400).get(timeout=5)
    assert removed > 0 and plant.events("temp_high") == []


def test_the_router_drops_changes_that_cannot_move_an_alarm_and_still_sees_every_crossing(tmp_path, plants):
    from petra.alarms.alarm_actor import Gate

    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high", require_acknowledgment=False)]))
    for step in range(100):  # below the limit all the time: nothing for the alarm to do
        plant.write(temperature=20.0 + step * 0.1)
    wait_until(lambda: isinstance(plant.service.gates.get("temp_high"), Gate))
    status = plant.call("GET", "/v1/alarms/temp_high")
    assert status.body["state"] == "normal"
    assert status.body["value"] == plant.value("temperature")  # the list shows the value as it is now
    plant.write(temperature=95.0)  # a crossing is never dropped
    plant.wait_state("temp_high", "active_unacked")
    plant.write(temperature=20.0)
    plant.wait_state("temp_high", "normal")


def test_a_gate_passes_only_values_that_keep_the_raw_condition(tmp_path):
    from petra.alarms.alarm_actor import Gate
    from petra.alarms.config import build_config
    from tests.helpers import plant_config

    data = plant_data(tmp_path / "alarms", [alarm("temp_high", deadband=2.0)])
    spec = build_config(plant_config(data)).alarm("temp_high")
    assert spec is not None and spec.condition == "above"
    quiet = Gate(spec, slot=0, setpoint_slot=None, raw=False, quality=0)
    assert quiet.unmoved(None, 0, 79.9, 0) and not quiet.unmoved(None, 0, 80.1, 0)
    assert not quiet.unmoved(None, 0, 70.0, 2)  # a quality change always goes through
    assert not quiet.unmoved(None, 1, 70.0, 0)  # so does any other watched signal
    active = Gate(spec, slot=0, setpoint_slot=None, raw=True, quality=0)
    assert active.unmoved(None, 0, 78.5, 0) and not active.unmoved(None, 0, 77.9, 0)  # the deadband holds


def test_a_stopped_sms_notifier_leaves_no_connection_open_at_twilio(tmp_path, twilio, plants):
    """The Twilio client pools HTTP connections: its notifier closes them when it ends (release), instead of
    leaving them to the garbage collector while the provider keeps a handler per connection."""
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio, chains=CHAIN,
                                           contacts=[OPERATOR]))
    plant.write(temperature=90.0)
    twilio.wait_for(1, timeout=5)
    assert twilio.open_connections() == 1  # kept alive by the client's pool
    plant.stop()
    wait_until(lambda: twilio.open_connections() == 0, timeout=5)
