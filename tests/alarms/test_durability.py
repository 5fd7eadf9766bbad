"""kill -9 in the middle of an escalation: PETRA as a subprocess, restarted on the same state directory."""

from __future__ import annotations

import time

import yaml

from petra.ctl.client import ControlClient, Target
from tests.alarms.support import OPERATOR, SUPERVISOR, alarm, plant_data
from tests.e2e.petra_process import PetraProcess
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
        assert received[2].at - received[1].at >= 0.9  # the supervisor's delay still applies after the restart
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
