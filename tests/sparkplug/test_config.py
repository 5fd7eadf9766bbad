"""A wrong `sparkplug:` section is a located error: file:line and what was expected."""

from __future__ import annotations

from tests.config.support import load, problems

HEAD = """
node_id: line1
signals:
  - {name: temperature, type: float}
  - {name: speed, type: float, group: pumps}
sparkplug:
  broker_host: 127.0.0.1
"""


def test_a_valid_section_loads_with_its_defaults() -> None:
    config = load(HEAD + "  group_id: plant\n")
    assert config.sections["sparkplug"]["group_id"] == "plant"
    from petra.drivers.sparkplug.settings import build_config

    built = build_config(config)
    assert built is not None
    assert built.edge_node_id == "line1" and built.client_id == "petra-sparkplug-line1"
    assert built.host_role.label == "viewer"  # nothing the host sends is written unless configured
    assert built.topic("NBIRTH") == "spBv1.0/plant/NBIRTH/line1"


def test_ids_that_are_not_one_topic_level_are_refused_where_they_are_written() -> None:
    found = problems(HEAD + "  group_id: plant/a\n  edge_node_id: 'n+1'\n")
    assert any(p.startswith("plant.yaml:7") and "group_id" in p for p in found), found
    assert any(p.startswith("plant.yaml:8") and "edge_node_id" in p for p in found), found


def test_an_unknown_signal_is_a_located_warning_as_everywhere_in_petra() -> None:
    config = load(HEAD + """  group_id: plant
  signals: [temperature, nope]
  deadbands: {missing: 1.0}
  devices: [{name: d2, signals: [ghost]}]
""")
    text = "\n".join(config.warnings)
    for line, name in ((8, "nope"), (9, "missing"), (10, "ghost")):
        assert f"plant.yaml:{line}" in text and f"signal '{name}' is read but never declared" in text, text


def test_a_signal_on_two_devices_a_device_twice_and_a_wrong_role_are_located_errors() -> None:
    found = problems(HEAD + """  group_id: plant
  devices:
    - {name: d1, signals: [speed]}
    - {name: d2, signals: [speed]}
    - {name: d1}
  host_role: superuser
""")
    assert any(p.startswith("plant.yaml:10:") and "'speed' is already a metric of device 'd1'" in p
               for p in found), found
    assert any(p.startswith("plant.yaml:11:") and "device 'd1' is already devices[0]" in p for p in found), found
    assert any(p.startswith("plant.yaml:12:") and "host_role" in p and "viewer, operator" in p
               for p in found), found


def test_a_primary_host_without_storage_is_warned_of() -> None:
    config = load(HEAD + "  group_id: plant\n  primary_host_id: scada\n")
    assert any(w.startswith("plant.yaml:8:") and "no storage section" in w for w in config.warnings), config.warnings


def test_devices_take_signals_by_name_then_by_group_or_writing_driver() -> None:
    from petra.drivers.sparkplug.settings import build_config
    from tests.helpers import plant_config

    config = build_config(plant_config({
        "node_id": "n1",
        "signals": [{"name": "a", "type": "float"}, {"name": "b", "type": "float", "group": "pumps"},
                    {"name": "c", "type": "float", "group": "pumps"}],
        "s7": {"name": "p1", "ip": "127.0.0.1",
               "mappings": [{"signal": "x", "area": "DB", "db_number": 1, "address": 0, "data_type": "real"}]},
        "sparkplug": {"broker_host": "127.0.0.1", "group_id": "g", "devices": [
            {"name": "plc", "drivers": ["s7"]}, {"name": "pumps", "groups": ["pumps"]},
            {"name": "special", "signals": ["c"]}]}}))
    assert config is not None
    assert {m.signal: m.device for m in config.metrics.values()} == {"a": "", "b": "pumps", "c": "special",
                                                                      "x": "plc"}
    assert len({m.alias for m in config.metrics.values()}) == 4
