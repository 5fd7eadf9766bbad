"""The change bus and signal groups under repeated bad input."""

from __future__ import annotations

import logging

from petra.bus import ChangeBus
from petra.messages import SignalsChanged, SignalUpdate, UpdateSignals
from tests.harness import RunningPlant
from tests.helpers import plant_config


class Listener:
    def __init__(self) -> None:
        self.heard: list[SignalsChanged] = []

    def on_change(self, event: SignalsChanged) -> None:
        self.heard.append(event)


def test_unsubscribing_a_bound_method_removes_it():
    bus = ChangeBus()
    listener = Listener()
    bus.subscribe(listener.on_change)
    bus.unsubscribe(listener.on_change)  # a new bound-method object, equal to the subscribed one
    bus.publish(SignalsChanged("g", ()))
    assert listener.heard == [] and not bus.has_subscribers


def test_a_source_repeating_a_bad_value_is_counted_every_time_and_logged_once(tmp_path, caplog):
    config = plant_config({"signals": [{"name": "batch", "type": "int", "initial": 0, "group": "field"}]})
    with RunningPlant(config, control_socket=tmp_path / "c.sock") as plant:
        group = plant.lookup("petra/core/signals/field")
        assert group is not None
        with caplog.at_level(logging.WARNING, logger="petra.actors.signal_group"):
            for _ in range(50):
                errors = group.ask(UpdateSignals((SignalUpdate("batch", 2**70),), "device:plc1"), timeout=5)
                assert errors and "batch" in errors[0]
        refused = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refused) == 1, [r.getMessage() for r in refused]
        registry = plant.plant.metrics.registry
        assert registry.get_sample_value("petra_signal_update_errors_total", {"group": "field"}) == 50
