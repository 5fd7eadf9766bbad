"""PETRA as a Sparkplug B edge node against a real Mosquitto and a test host decoding with the same proto."""

from __future__ import annotations

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
