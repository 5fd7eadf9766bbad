"""What PETRA's process sends its OPC-UA server process: only the changes of the signals it serves, in order,
and after an overflow every served signal as it is now (pure: no server process is started here)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from prometheus_client import CollectorRegistry

from petra.control.auth import Identities
from petra.messages import SignalsChanged
from petra.opcua.host import ServerHost
from petra.opcua.metrics import OpcuaMetrics
from petra.opcua.settings import OpcuaSettings
from petra.plant import build_plant
from tests.helpers import plant_config


def _host(signals: tuple[str, ...]) -> tuple[ServerHost, Any]:
    plant = build_plant(plant_config({"signals": [
        {"name": "tank.level", "type": "float", "initial": 1.0, "group": "field"},
        {"name": "tank.temp", "type": "float", "initial": 2.0, "group": "field"},
        {"name": "other", "type": "int", "initial": 3, "group": "spare"}]}))
    wiring = SimpleNamespace(section_state=lambda key: {}, audit=lambda *a, **k: None)
    host = ServerHost(plant, OpcuaSettings(signals=signals), Identities(wiring.audit), None,
                      OpcuaMetrics(CollectorRegistry()), wiring, lambda: None, lambda reason: None)  # type: ignore[arg-type]
    return host, plant


def _event(plant: Any, *names: str, value: float = 9.0) -> SignalsChanged:
    table = plant.table
    slots = tuple(table.index[n] for n in names)
    return SignalsChanged(table.owners[slots[0]], slots=slots, values=tuple(value for _ in slots),
                          qualities=tuple(0 for _ in slots), timestamp=123.0, names=table.names)


def test_only_the_served_signals_changes_go_to_the_server() -> None:
    host, plant = _host(("tank.level",))
    host.listener(_event(plant, "other"))  # an owner with no served signal: not even queued
    assert host.pending_count() == 0
    host.listener(_event(plant, "tank.level", "tank.temp", value=5.0))
    host.listener(_event(plant, "tank.temp", value=6.0))  # its owner serves, this signal does not: dropped
    assert host.pending_count() == 2
    with host._lock:
        taken, host._waiting = host._waiting, []
    level = plant.table.index["tank.level"]
    owner = plant.table.owners[level]
    assert host._items(taken, overflow=False) == [("changed", owner, (level,), (5.0,), (0,), 123.0)]


def test_after_an_overflow_every_served_signal_is_sent_as_it_is_now() -> None:
    host, plant = _host(("tank.*",))
    table = plant.table
    table.values[table.index["tank.temp"]] = 42.0
    items = host._items([], overflow=True)
    sent = {table.names[slot]: value for item in items if item[0] == "changed"
            for slot, value in zip(item[2], item[3], strict=True)}
    assert sent == {"tank.level": 1.0, "tank.temp": 42.0}
