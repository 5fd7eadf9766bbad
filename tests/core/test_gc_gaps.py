"""Garbage collections run after a completed scan, in the gap before the next, not inside a scan (the
collector runs in whichever thread crosses its threshold: with listeners on the bus, the chains' own)."""

from __future__ import annotations

import gc
import threading

from petra.gc_gaps import SAFETY_FACTOR, generation_due
from tests.harness import RunningPlant
from tests.helpers import plant_config, wait_until


def chains() -> dict:
    """20 chains of 100 blocks scanned every 10 ms (scans of a few milliseconds): a collection at a random time
    would often land inside one."""
    blocks = []
    for c in range(20):
        blocks.append({"name": f"g{c}", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
                       "outputs": {"sine_out": f"c{c}_0"}})
        blocks.extend({"name": f"a{c}_{i}", "type": "ADD", "inputs": {"in1": f"c{c}_{i - 1}", "in2": "1.5"},
                       "outputs": {"out": f"c{c}_{i}"}} for i in range(1, 100))
    return {"scan_time_ms": 10, "signals": [{"name": "enable", "type": "bool", "initial": True}], "blocks": blocks}


def test_the_generation_due_is_the_one_cpython_would_collect():
    thresholds = (700, 10, 10)
    assert generation_due((700, 3, 3), thresholds, True) is None  # not past the first threshold yet
    assert generation_due((701, 3, 3), thresholds, True) == 0
    assert generation_due((701, 11, 3), thresholds, True) == 1
    assert generation_due((701, 11, 11), thresholds, True) == 2
    assert generation_due((701, 11, 11), thresholds, False) == 1  # a full one held back
    assert generation_due((5000, 0, 0), (0, 10, 10), True) is None  # collection switched off by threshold 0


def test_collections_run_between_scans_and_the_thresholds_come_back_at_stop():
    before = gc.get_threshold()
    inside: list[bool] = []
    stop = threading.Event()

    with RunningPlant(plant_config(chains())) as running:
        stats = running.runtime.plant.stats
        assert gc.get_threshold() == (before[0] * SAFETY_FACTOR, before[1], before[2])

        def noted(phase: str, _info: dict) -> None:
            if phase == "start":
                tick, done = stats.last_tick_monotonic, stats.last_complete_monotonic
                inside.append(tick is not None and (done is None or done < tick))

        def litter() -> None:  # cyclic garbage, ~20,000 containers a second: young collections are due often
            while not stop.wait(0.001):
                for _ in range(20):
                    cycle: list[object] = []
                    cycle.append(cycle)

        gc.callbacks.append(noted)
        worker = threading.Thread(target=litter, daemon=True)
        worker.start()
        try:
            wait_until(lambda: len(inside) >= 30, timeout=30)
        finally:
            stop.set()
            worker.join(5)
            gc.callbacks.remove(noted)
        assert not any(inside), f"{sum(inside)} of {len(inside)} collections ran inside a scan"
        assert running.runtime.collector.collections[0] > 0  # young ones, by the gap collector
    assert gc.get_threshold() == before
