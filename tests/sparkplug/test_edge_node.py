"""PETRA as a Sparkplug B edge node against a real Mosquitto and a test host decoding with the same proto."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from petra.drivers.sparkplug import payload as sp
from tests.harness import RunningPlant
from tests.helpers import wait_until
from tests.peers.mosquitto import Mosquitto
from tests.sparkplug.conftest import section
from tests.sparkplug.host import SparkplugHost, metric_value

SIGNALS = [
    {"name": "temperature", "type": "float", "unit": "degC", "description": "Oven temperature"},
    {"name": "count", "type": "int", "initial": -5},
    {"name": "running", "type": "bool"},
    {"name": "recipe", "type": "string", "initial": "A"},
    {"name": "pump_speed", "type": "float", "group": "pumps", "unit": "rpm"},
]


def start(plants: list[RunningPlant], data: dict[str, Any]) -> RunningPlant:
    plant = RunningPlant(data).start()
    plants.append(plant)
    return plant


def node_metric(plant: RunningPlant, name: str, **labels: str) -> float:
    return plant.metric(name, {"node": "plant/line1", **labels})


def test_births_carry_every_metric_and_data_follows_by_exception(
        mosquitto: Mosquitto, host: SparkplugHost, plants: list[RunningPlant], tmp_path: Path) -> None:
    plant = start(plants, {"node_id": "line1", "signals": SIGNALS, "sparkplug": section(
        mosquitto, tmp_path, deadband=0.5, deadbands={"pump_speed": 10},
        devices=[{"name": "pumps", "groups": ["pumps"]}])})
    wait_until(lambda: host.received("NBIRTH", "line1") and host.received("DBIRTH", "line1"))
    nbirth = host.received("NBIRTH", "line1")[0]
    assert (nbirth.qos, nbirth.retain) == (0, False)
    body = nbirth.payload
    assert body.seq == 0
    by_name = {m.name: m for m in body.metrics}
    assert set(by_name) == {"bdSeq", "Node Control/Rebirth", "temperature", "count", "running", "recipe"}
    assert by_name["bdSeq"].datatype == sp.INT64 and by_name["bdSeq"].long_value == 0
    assert by_name["Node Control/Rebirth"].boolean_value is False
    assert by_name["temperature"].datatype == sp.DOUBLE
    assert sp.properties_of(by_name["temperature"]) == {"Quality": 192, "engUnit": "degC",
                                                         "Description": "Oven temperature"}
    assert by_name["count"].datatype == sp.INT64 and metric_value(by_name["count"]) == -5
    assert by_name["running"].datatype == sp.BOOLEAN and by_name["recipe"].string_value == "A"
    aliases = [m.alias for m in body.metrics]
    assert len(set(aliases)) == len(aliases)
    dbirth = host.received("DBIRTH", "line1")[0]
    assert (dbirth.device, dbirth.qos, dbirth.retain, dbirth.payload.seq) == ("pumps", 0, False, 1)
    assert [m.name for m in dbirth.payload.metrics] == ["pump_speed"]
    assert sp.properties_of(dbirth.payload.metrics[0])["engUnit"] == "rpm"

    plant.write("default", temperature=20.0)
    plant.write("default", temperature=20.2)  # within the deadband of 0.5: not reported
    plant.write("default", temperature=21.0, running=True)
    plant.write("pumps", pump_speed=5.0)  # within its own deadband of 10
    plant.write("pumps", pump_speed=15.0)
    wait_until(lambda: len(host.received("NDATA", "line1")) >= 2 and host.received("DDATA", "line1"))
    seen = host.values("line1")
    assert [v for v, _, _ in seen["temperature"]] == [20.0, 21.0]
    assert [v for v, _, _ in seen["running"]] == [True]
    assert [v for v, _, _ in seen["pump_speed"]] == [15.0]
    data = host.received("NDATA", "line1") + host.received("DDATA", "line1")
    assert all((m.qos, m.retain) == (0, False) for m in data)
    assert all(not m.HasField("name") for d in data for m in d.payload.metrics)  # aliases only after the birth
    seqs = sorted(d.payload.seq for d in data)
    assert seqs == list(range(2, 2 + len(data)))


def _bdseq(message: Any) -> int:
    return next(m.long_value for m in message.payload.metrics if m.name == "bdSeq")


def test_ndeath_is_the_will_with_the_births_bdseq_and_a_lost_session_starts_the_next(
        mosquitto: Mosquitto, host: SparkplugHost, plants: list[RunningPlant], tmp_path: Path) -> None:
    plant = start(plants, {"node_id": "line1", "signals": SIGNALS, "sparkplug": section(mosquitto, tmp_path)})
    wait_until(lambda: host.received("NBIRTH", "line1"))
    first = host.received("NBIRTH", "line1")[0]
    node = plant.lookup("petra/services/sparkplug:line1").proxy()
    client = node.client.get()
    client.socket().close()  # the connection dies without a DISCONNECT: the broker publishes the will
    wait_until(lambda: host.received("NDEATH", "line1") and len(host.received("NBIRTH", "line1")) >= 2)
    death = host.received("NDEATH", "line1")[0]
    assert (death.qos, death.retain) == (1, False)
    assert _bdseq(death) == _bdseq(first) == 0
    assert not death.payload.HasField("seq")
    second = host.received("NBIRTH", "line1")[1]
    assert _bdseq(second) == 1 and second.payload.seq == 0

    plant.stop()  # graceful: the NDEATH of the current session goes out before the disconnect
    wait_until(lambda: len(host.received("NDEATH", "line1")) >= 2)
    last = host.received("NDEATH", "line1")[-1]
    assert _bdseq(last) == 1 and last.qos == 1

    again = start(plants, {"node_id": "line1", "signals": SIGNALS, "sparkplug": section(mosquitto, tmp_path)})
    wait_until(lambda: len(host.received("NBIRTH", "line1")) >= 3)
    assert _bdseq(host.received("NBIRTH", "line1")[2]) == 2  # bdSeq survives the restart
    again.stop()


def test_seq_wraps_from_255_to_0(mosquitto: Mosquitto, host: SparkplugHost, plants: list[RunningPlant],
                                  tmp_path: Path) -> None:
    plant = start(plants, {"node_id": "line1", "signals": SIGNALS, "sparkplug": section(mosquitto, tmp_path)})
    wait_until(lambda: host.received("NBIRTH", "line1"))
    for i in range(300):
        plant.write("default", count=i)
    wait_until(lambda: len(host.received("NDATA", "line1")) >= 300)
    seqs = [m.payload.seq for m in host.received("NDATA", "line1")]
    assert seqs == [(1 + i) % 256 for i in range(300)]
    assert [v for v, _, _ in host.values("line1")["count"]] == list(range(300))


def test_rebirth_on_node_control_keeps_bdseq(mosquitto: Mosquitto, host: SparkplugHost,
                                             plants: list[RunningPlant], tmp_path: Path) -> None:
    plant = start(plants, {"node_id": "line1", "signals": SIGNALS, "sparkplug": section(mosquitto, tmp_path)})
    wait_until(lambda: host.received("NBIRTH", "line1"))
    plant.write("default", temperature=30.0)
    wait_until(lambda: host.received("NDATA", "line1"))
    host.command("plant", "line1", [{"name": "Node Control/Rebirth", "datatype": sp.BOOLEAN,
                                     "boolean_value": True}])
    wait_until(lambda: len(host.received("NBIRTH", "line1")) == 2)
    reborn = host.received("NBIRTH", "line1")[1]
    assert _bdseq(reborn) == 0 and reborn.payload.seq == 0
    assert {m.name: metric_value(m) for m in reborn.payload.metrics}["temperature"] == 30.0
    assert not host.received("NDEATH", "line1")
    assert node_metric(plant, "petra_sparkplug_births_total") == 2


def test_commands_write_through_the_host_identity_and_bad_ones_are_refused_and_counted(
        mosquitto: Mosquitto, host: SparkplugHost, plants: list[RunningPlant], tmp_path: Path) -> None:
    signals = [*SIGNALS, {"name": "setpoint", "type": "float", "min": 0, "max": 100},
               {"name": "locked", "type": "float", "writable_by": "engineer"}]
    plant = start(plants, {"node_id": "line1", "signals": signals,
                           "sparkplug": section(mosquitto, tmp_path, host_role="operator",
                                                devices=[{"name": "pumps", "groups": ["pumps"]}])})
    wait_until(lambda: host.received("DBIRTH", "line1"))
    alias = {m.name: m.alias for m in host.received("NBIRTH", "line1")[0].payload.metrics}
    host.command("plant", "line1", [{"name": "setpoint", "datatype": sp.DOUBLE, "double_value": 42.5}])
    host.command("plant", "line1", [{"alias": alias["count"], "long_value": (-7) % (1 << 64)}])
    host.command("plant", "line1", [], device="pumps", raw=_payload(
        [{"name": "pump_speed", "datatype": sp.DOUBLE, "double_value": 900.0}]))
    wait_until(lambda: plant.value("setpoint") == 42.5 and plant.value("count") == -7
               and plant.value("pump_speed") == 900.0)

    refused = "petra_sparkplug_commands_refused_total"
    host.command("plant", "line1", [{"name": "no_such", "datatype": sp.DOUBLE, "double_value": 1.0}])
    host.command("plant", "line1", [{"name": "setpoint", "datatype": sp.STRING, "string_value": "hot"}])
    host.command("plant", "line1", [{"name": "setpoint", "datatype": sp.DOUBLE, "boolean_value": True}])
    host.command("plant", "line1", [{"name": "bdSeq", "datatype": sp.INT64, "long_value": 9},
                                    {"name": "setpoint", "datatype": sp.DOUBLE, "double_value": 1.0}])
    host.command("plant", "line1", [], raw=b"\xff\xff\x01not a protobuf")
    host.command("plant", "line1", [{"name": "setpoint", "datatype": sp.DOUBLE, "double_value": 500.0}])
    host.command("plant", "line1", [{"name": "locked", "datatype": sp.DOUBLE, "double_value": 1.0}])
    host.command("plant", "line1", [], device="pumps", raw=_payload(
        [{"name": "temperature", "datatype": sp.DOUBLE, "double_value": 1.0}]))  # not a metric of that device
    expected = {"unknown": 2, "type": 2, "stale_bdseq": 1, "malformed": 1, "range": 1, "denied": 1}

    def counts() -> dict[str, float]:
        return {reason: node_metric(plant, refused, reason=reason) for reason in expected}

    # the device's DCMD and the node's NCMDs are handled apart: wait for every refusal, not the last one sent
    with contextlib.suppress(AssertionError):  # the assert below shows what was counted
        wait_until(lambda: counts() == expected, timeout=10)
    assert counts() == expected
    assert plant.value("setpoint") == 42.5 and plant.value("temperature") == 0.0
    assert node_metric(plant, "petra_sparkplug_commands_written_total") == 3
    plant.write("default", temperature=99.0)  # the node keeps running and reporting
    wait_until(lambda: [v for v, _, _ in host.values("line1").get("temperature", [])][-1:] == [99.0])


def test_the_default_host_role_writes_nothing(mosquitto: Mosquitto, host: SparkplugHost,
                                              plants: list[RunningPlant], tmp_path: Path) -> None:
    plant = start(plants, {"node_id": "line1", "signals": SIGNALS, "sparkplug": section(mosquitto, tmp_path)})
    wait_until(lambda: host.received("NBIRTH", "line1"))
    host.command("plant", "line1", [{"name": "temperature", "datatype": sp.DOUBLE, "double_value": 5.0}])
    wait_until(lambda: node_metric(plant, "petra_sparkplug_commands_refused_total", reason="denied") == 1)
    assert plant.value("temperature") == 0.0


def _payload(metrics: list[dict[str, Any]]) -> bytes:
    out = sp.Payload(timestamp=1)
    for spec in metrics:
        m = out.metrics.add()
        for key, value in spec.items():
            setattr(m, key, value)
    return bytes(out.SerializeToString())


def storage(tmp_path: Path) -> dict[str, Any]:
    return {"wal": {"wal_dir": str(tmp_path / "wal"), "sync_on_write": False},
            "local": {"data_dir": str(tmp_path / "local")}}


def test_primary_host_state_gates_births_and_the_offline_period_is_sent_historical_in_order_once(
        mosquitto: Mosquitto, host: SparkplugHost, plants: list[RunningPlant], tmp_path: Path) -> None:
    host.state(False)
    plant = start(plants, {"node_id": "line1", "signals": SIGNALS, "storage": storage(tmp_path),
                           "sparkplug": section(mosquitto, tmp_path / "sp", primary_host_id="scada",
                                                devices=[{"name": "pumps", "groups": ["pumps"]}])})
    wait_until(lambda: node_metric(plant, "petra_sparkplug_connected") == 1)
    plant.write("default", count=1)
    assert not host.received("NBIRTH", "line1")  # no birth while the host is offline
    host.state(True)
    wait_until(lambda: host.received("NBIRTH", "line1") and host.received("DBIRTH", "line1"))
    plant.write("default", count=2)
    wait_until(lambda: host.values("line1").get("count"))

    host.state(False)  # the node answers with its NDEATH and waits in a new session
    wait_until(lambda: host.received("NDEATH", "line1"))
    assert _bdseq(host.received("NDEATH", "line1")[0]) == 0
    wait_until(lambda: node_metric(plant, "petra_sparkplug_backfill_pending") == 1)
    offline = list(range(3, 40))
    for i in offline:
        plant.write("default", count=i)
        plant.write("pumps", pump_speed=float(i))
    host.state(True)
    wait_until(lambda: len(host.received("NBIRTH", "line1")) == 2)
    reborn = host.received("NBIRTH", "line1")[1]
    assert _bdseq(reborn) == 1
    plant.write("default", count=1000)  # live after the birth
    wait_until(lambda: node_metric(plant, "petra_sparkplug_backfill_pending") == 0, timeout=15)
    wait_until(lambda: [v for v, _, h in host.values("line1")["count"] if not h][-1:] == [1000])
    seen = host.values("line1")
    historical = [v for v, _, h in seen["count"] if h]
    assert historical == offline  # every change of the offline period, in order, once
    assert [v for v, _, h in seen["pump_speed"] if h] == [float(i) for i in offline]
    live = [v for v, _, h in seen["count"] if not h]
    assert live == [2, 1000]
    stamps = [t for _, t, h in seen["count"] if h]
    assert stamps == sorted(stamps)
    assert node_metric(plant, "petra_sparkplug_historical_sent_total") == 2 * len(offline)
    assert node_metric(plant, "petra_sparkplug_historical_lost_total") == 0
    ddata = [m for m in host.received("DDATA", "line1") if m.payload.metrics[0].is_historical]
    assert ddata and all(m.device == "pumps" for m in ddata)
    # the node's own WAL cursor: at the head once caught up (it follows the head while live)
    wal = plant.lookup("petra/storage/wal").proxy()
    plant.write("default", count=1001)
    wait_until(lambda: [v for v, _, h in host.values("line1")["count"]][-1:] == [1001])
    head = wal.flush().get()
    wait_until(lambda: wal.cursor("sparkplug").get() >= head, timeout=15)


def test_a_stale_or_malformed_state_changes_nothing(mosquitto: Mosquitto, host: SparkplugHost,
                                                    plants: list[RunningPlant], tmp_path: Path) -> None:
    host.state(True)
    plant = start(plants, {"node_id": "line1", "signals": SIGNALS,
                           "sparkplug": section(mosquitto, tmp_path, primary_host_id="scada")})
    wait_until(lambda: host.received("NBIRTH", "line1"))
    host.client.publish("spBv1.0/STATE/scada", b'{"online": false, "timestamp": 5}', qos=1).wait_for_publish(5)
    host.client.publish("spBv1.0/STATE/scada", b"{not json", qos=1).wait_for_publish(5)
    wait_until(lambda: node_metric(plant, "petra_sparkplug_errors_total") == 1)
    plant.write("default", count=3)
    wait_until(lambda: host.values("line1").get("count"))
    assert not host.received("NDEATH", "line1")


def test_metric_quality_follows_signal_quality(mosquitto: Mosquitto, host: SparkplugHost,
                                               plants: list[RunningPlant], tmp_path: Path) -> None:
    from petra.messages import SignalUpdate, UpdateSignals
    from petra.values import Quality

    plant = start(plants, {"node_id": "line1", "signals": SIGNALS, "sparkplug": section(mosquitto, tmp_path)})
    wait_until(lambda: host.received("NBIRTH", "line1"))
    group = plant.lookup("petra/core/signals/default")
    group.ask(UpdateSignals((SignalUpdate("temperature", 12.0, Quality.BAD),), "test"), timeout=5)
    group.ask(UpdateSignals((SignalUpdate("temperature", 12.0, Quality.UNCERTAIN),), "test"), timeout=5)
    plant.write("default", temperature=12.0)
    plant.write("default", temperature=13.0)
    wait_until(lambda: len(host.values("line1").get("temperature", [])) == 4)
    qualities = [sp.properties_of(m).get("Quality") for d in host.received("NDATA", "line1")
                 for m in d.payload.metrics]
    assert qualities == [0, 64, 192, None]  # bad, uncertain, good again (said once), then good by default
    assert [sp.quality_of(m) for d in host.received("NDATA", "line1") for m in d.payload.metrics] == [
        Quality.BAD, Quality.UNCERTAIN, Quality.GOOD, Quality.GOOD]


def test_a_broker_outage_is_a_new_session_and_its_changes_follow_as_history(
        plants: list[RunningPlant], tmp_path: Path) -> None:
    broker = Mosquitto(auth=False).start()
    own = SparkplugHost(broker.port, None, None, client_id="outage-host")
    try:
        plant = start(plants, {"node_id": "line1", "signals": SIGNALS, "storage": storage(tmp_path),
                               "sparkplug": section(broker, tmp_path / "sp", username=None, password=None)})
        wait_until(lambda: own.received("NBIRTH", "line1"))
        plant.write("default", count=1)
        wait_until(lambda: own.values("line1").get("count"))
        own.close()
        broker.stop()
        wait_until(lambda: node_metric(plant, "petra_sparkplug_backfill_pending") == 1)
        for i in range(2, 12):
            plant.write("default", count=i)
        broker.start()
        own = SparkplugHost(broker.port, None, None, client_id="outage-host")
        wait_until(lambda: own.received("NBIRTH", "line1"), timeout=15)
        assert next(m.long_value for m in own.received("NBIRTH", "line1")[0].payload.metrics
                    if m.name == "bdSeq") >= 1
        wait_until(lambda: node_metric(plant, "petra_sparkplug_backfill_pending") == 0, timeout=15)
        wait_until(lambda: [v for v, _, h in own.values("line1").get("count", []) if h] == list(range(2, 12)))
    finally:
        own.close()
        broker.close()


def test_coalesce_ms_gathers_changes_into_one_message_per_device(
        mosquitto: Mosquitto, host: SparkplugHost, plants: list[RunningPlant], tmp_path: Path) -> None:
    plant = start(plants, {"node_id": "line1", "signals": SIGNALS, "sparkplug": section(
        mosquitto, tmp_path, coalesce_ms=1000, devices=[{"name": "pumps", "groups": ["pumps"]}])})
    wait_until(lambda: host.received("DBIRTH", "line1"))
    for i in range(5):
        plant.write("default", count=i + 1)
    plant.write("pumps", pump_speed=3.0)
    wait_until(lambda: len(host.values("line1").get("count", [])) == 5 and host.received("DDATA", "line1"))
    seen = host.values("line1")["count"]
    assert [v for v, _, _ in seen] == [1, 2, 3, 4, 5]
    assert [t for _, t, _ in seen] == sorted(t for _, t, _ in seen)  # each change keeps its own time
    assert max(len(m.payload.metrics) for m in host.received("NDATA", "line1")) > 1
    seqs = [m.payload.seq for m in host.received(node="line1") if m.kind in ("NDATA", "DDATA")]
    assert sorted(seqs) == list(range(2, 2 + len(seqs)))


def test_tls_and_credentials_as_in_the_mqtt_section(mosquitto: Mosquitto, host: SparkplugHost,
                                                   plants: list[RunningPlant], tmp_path: Path) -> None:
    assert mosquitto.tls_port is not None and mosquitto.ca_file is not None
    wrong = start(plants, {"node_id": "line2", "signals": SIGNALS, "sparkplug": section(
        mosquitto, tmp_path / "wrong", edge_node_id="line2", password="not-it")})
    plant = start(plants, {"node_id": "line1", "signals": SIGNALS, "sparkplug": section(
        mosquitto, tmp_path, broker_port=mosquitto.tls_port, tls={"ca_file": str(mosquitto.ca_file)})})
    wait_until(lambda: host.received("NBIRTH", "line1"))  # over TLS
    plant.write("default", count=4)
    wait_until(lambda: host.values("line1").get("count"))
    wait_until(lambda: wrong.metric("petra_sparkplug_errors_total", {"node": "plant/line2"}) >= 2)  # retried
    assert not host.received(node="line2")
    assert wrong.metric("petra_sparkplug_connected", {"node": "plant/line2"}) == 0


def test_a_reload_that_changes_the_section_is_a_graceful_ndeath_and_a_new_session(
        mosquitto: Mosquitto, host: SparkplugHost, tmp_path: Path) -> None:
    import yaml

    from petra.config.loader import load_config

    data = {"node_id": "line1", "signals": SIGNALS, "sparkplug": section(mosquitto, tmp_path / "sp")}
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with RunningPlant(load_config(path), config_path=path) as plant:
        wait_until(lambda: host.received("NBIRTH", "line1"))
        data["sparkplug"]["deadband"] = 1.0
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        result = plant.runtime.reload(caller="uid:0")
        assert result.accepted, result
        wait_until(lambda: len(host.received("NBIRTH", "line1")) == 2)
        assert [_bdseq(m) for m in host.received("NDEATH", "line1")] == [0]
        assert _bdseq(host.received("NBIRTH", "line1")[1]) == 1
        plant.write("default", temperature=0.5)  # within the new deadband
        plant.write("default", temperature=2.0)
        wait_until(lambda: host.values("line1").get("temperature"))
        assert [v for v, _, _ in host.values("line1")["temperature"]] == [2.0]
