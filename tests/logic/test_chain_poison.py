"""A real runtime: a block whose inputs admit no value turns its outputs bad, and the chain scans on.

Before, such a block either wrote an int beyond 64 bits into the table (which
every other door refuses) or raised, so its chain crash-looped every scan
until its supervisor gave up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from petra.config.loader import load_config_text
from petra.messages import SignalsChanged, SignalUpdate, UpdateSignals
from petra.runtime import Runtime
from petra.values import INT_MAX, Quality
from tests.harness import RunningPlant
from tests.helpers import wait_until

PLANT = """
scan_time_ms: 10
signals:
  - {name: a, type: int, initial: 1}
  - {name: b, type: int, initial: 2}
blocks:
  - {name: add, type: ADD, inputs: {in1: a, in2: b}, outputs: {out: total}}
  - {name: positive, type: GT, inputs: {in1: total, in2: 0}, outputs: {out: is_positive}}
"""


class Watch:
    """Records (value, quality) of one signal from the change bus; wait() for one that matches."""

    def __init__(self, runtime: Runtime, name: str) -> None:
        self.slot = runtime.plant.table.slot(name)
        self.seen: list[tuple[object, int]] = []
        self._changed = threading.Condition()
        runtime.plant.bus.subscribe(self._on_change)

    def _on_change(self, event: SignalsChanged) -> None:
        for slot, value, quality in zip(event.slots, event.values, event.qualities, strict=True):
            if slot == self.slot:
                with self._changed:
                    self.seen.append((value, quality))
                    self._changed.notify_all()

    def wait(self, value: object, quality: Quality, timeout: float = 10.0) -> None:
        with self._changed:
            ok = self._changed.wait_for(lambda: (value, quality) in self.seen, timeout)
        assert ok, f"never saw {value!r} with {quality.name} quality; saw {self.seen}"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    with RunningPlant(load_config_text(PLANT, "<poison>"), control_socket=tmp_path / "ctl.sock") as plant:
        yield plant.runtime


def write(runtime: Runtime, **values: object) -> None:
    assert runtime.tree is not None
    ref = runtime.tree.lookup("petra/core/signals/default")
    assert ref is not None
    ref.ask(UpdateSignals(tuple(SignalUpdate(k, v) for k, v in values.items()), "test"))


def chain_restarts(runtime: Runtime) -> int:
    assert runtime.tree is not None
    [chain] = runtime.plant.chains
    stack = [runtime.tree.tree()]
    while stack:
        node = stack.pop()
        if node.path.endswith(f"/logic/{chain.name}"):
            return node.restarts
        stack.extend(node.children)
    raise AssertionError("chain not in the tree")


def test_an_int_overflow_holds_the_output_bad_and_the_chain_keeps_scanning(runtime):
    total = Watch(runtime, "total")
    write(runtime, a=5)
    total.wait(7, Quality.GOOD)
    write(runtime, a=INT_MAX)  # INT_MAX + 2 fits no int signal
    total.wait(7, Quality.BAD)  # held at its last value, announced as bad
    table = runtime.plant.table
    assert table.read("total").value == 7
    assert table.read("is_positive").quality == Quality.BAD  # what it feeds is bad too
    [chain] = runtime.plant.chains
    errors = runtime.plant.metrics.registry.get_sample_value("petra_block_errors_total", {"chain": chain.name})
    assert errors and errors >= 1
    write(runtime, a=40)
    total.wait(42, Quality.GOOD)
    assert table.read("is_positive").quality == Quality.GOOD
    assert chain_restarts(runtime) == 0


def test_a_block_failing_every_scan_is_counted_every_scan_but_logged_once(runtime, caplog):
    total = Watch(runtime, "total")
    [chain] = runtime.plant.chains
    caplog.set_level(logging.INFO, logger="petra.actors.block_chain")
    write(runtime, a=2)  # total changes after the watch subscribed, whenever the first scan ran
    total.wait(4, Quality.GOOD)
    write(runtime, a=INT_MAX)
    total.wait(4, Quality.BAD)
    wait_until(lambda: (runtime.plant.metrics.registry.get_sample_value(
        "petra_block_errors_total", {"chain": chain.name}) or 0) >= 5)  # five failing scans, at least
    lines = [r.getMessage() for r in caplog.records if "cannot compute" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "block add cannot compute" in lines[0] and "outside the int range" in lines[0]
