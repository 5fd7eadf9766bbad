"""`petra twilio ...`, `petra notify test` and `petra-ctl alarms ...` against real peers and a running plant."""

from __future__ import annotations

import argparse
import json

import yaml

from petra.alarms import commands as alarm_cmds
from petra.ctl import main as ctl_main
from tests.alarms.support import OPERATOR, AlarmPlant, alarm, plant_data
from tests.peers.smtp_server import PASSWORD, USER
from tests.peers.twilio_server import ACCOUNT_SID, AUTH_TOKEN


def petra(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="petra")
    alarm_cmds.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


def test_twilio_sms_and_call_use_credentials_from_the_environment(twilio, monkeypatch, capsys):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    common = ("--from", "+15559999999", "--api-base-url", twilio.base_url)
    assert petra("twilio", "sms", "--to", "+15550000001", "--message", "Test from Petra", *common) == 0
    assert petra("twilio", "call", "--to", "+15550000001", "--message", "Test voice call", *common) == 0
    sms, call = twilio.accepted()
    assert sms.form["Body"] == "Test from Petra"
    assert call.form["Twiml"] == "<Response><Say>Test voice call</Say></Response>"
    assert petra("twilio", "sms", "--to", "not-a-number", "--message", "x", *common) == 1
    assert "21211" in capsys.readouterr().err


def config_file(tmp_path, twilio, smtp=None) -> str:
    data = plant_data(tmp_path / "alarms", [alarm("temp_high")], twilio=twilio,
                      signals=[{"name": "temperature", "type": "float", "initial": 20.0, "group": "process"},
                               {"name": "emergency_stop", "type": "bool", "initial": False, "group": "process"}])
    data["twilio"]["actions"] = [
        {"name": "estop_call", "trigger_signal": "emergency_stop", "action_type": "call", "to_number": "+15550000001",
         "content": "<Response><Say>Emergency stop</Say></Response>"},
        {"name": "estop_sms", "trigger_signal": "emergency_stop", "action_type": "sms", "to_number": "+15550000002",
         "content": "Emergency stop activated"}]
    if smtp is not None:
        data["email"] = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "username": USER, "password": PASSWORD,
                         "from_address": "petra@plant.example", "ca_file": str(smtp.ca_file)}
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_twilio_signal_fires_the_actions_that_signal_triggers(tmp_path, twilio, capsys):
    config = config_file(tmp_path, twilio)
    assert petra("twilio", "signal", "--config", config, "--signal", "emergency_stop", "--value", "false") == 0
    assert twilio.received == []
    assert petra("twilio", "signal", "--config", config, "--signal", "emergency_stop", "--value", "true") == 0
    call, sms = twilio.accepted()
    assert call.form["Twiml"] == "<Response><Say>Emergency stop</Say></Response>"
    assert sms.form == {"To": "+15550000002", "From": "+15559999999", "Body": "Emergency stop activated"}
    assert petra("twilio", "signal", "--config", config, "--signal", "temperature", "--value", "1") == 2


def test_notify_test_reaches_a_contact_through_each_of_its_channels(tmp_path, twilio, smtp, capsys):
    config = config_file(tmp_path, twilio, smtp)
    before = len(smtp.messages)
    assert petra("notify", "test", "operator", "--config", config) == 0
    assert [r.kind for r in twilio.accepted()] == ["Messages", "Calls"]
    assert smtp.wait_for(before + 1)[-1]["To"] == OPERATOR["email"]
    out = capsys.readouterr().out
    assert out.count("accepted") == 3
    assert petra("notify", "test", "nobody", "--config", config) == 2


def test_petra_ctl_lists_acknowledges_shelves_and_reports(tmp_path, plants, capsys):
    socket_path = tmp_path / "control.sock"
    plant = AlarmPlant(plant_data(tmp_path / "alarms", [alarm("temp_high"), alarm("temp_low", condition="below",
                                                                                     setpoint=5.0)]),
                       control_socket=socket_path)
    plants.append(plant)
    plant.write(temperature=90.0)
    plant.wait_state("temp_high", "active_unacked")
    code = plant.view("temp_high")["code"]

    def ctl(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        status = ctl_main(["--socket", str(socket_path), *argv])
        return status, capsys.readouterr().out

    status, out = ctl("alarms")
    assert status == 0 and "temp_high" in out and "active_unacked" in out
    status, out = ctl("ack", code, "--comment", "seen", "--json")
    assert status == 0 and json.loads(out)["acked_by"].startswith("uid:")
    assert ctl("alarms", "ack", "temp_high")[0] == 1  # already acknowledged: refused
    status, out = ctl("alarms", "shelve", "temp_low", "--for", "2h", "--reason", "sensor swap")
    assert status == 0 and "shelved" in out
    status, out = ctl("alarms", "--json")
    shelve = {a["id"]: a for a in json.loads(out)["alarms"]}["temp_low"]["shelve"]
    assert shelve["reason"] == "sensor swap" and shelve["until"] - shelve["at"] == 7200
    assert ctl("alarms", "unshelve", "temp_low")[0] == 0
    assert ctl("alarms", "reset", "temp_low")[0] == 1
    status, out = ctl("alarms", "history", "temp_high", "--json")
    assert status == 0 and [e["event"] for e in json.loads(out)][:2] == ["acked", "raised"]
    status, out = ctl("alarms", "kpi")
    assert status == 0 and "1 alarms" in out
    assert ctl("alarms", "ack", "nope")[0] == 1
