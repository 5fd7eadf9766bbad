"""A WAL whose map is full at its maximum: PETRA keeps scanning, refuses new samples and says so."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from petra.messages import SignalUpdate, UpdateSignals
from tests.helpers import wait_until
from tests.peers.clickhouse import free_port
from tests.storage.conftest import metric, ramp_config, start_runtime, wal_proxy


def test_a_full_map_is_reported_and_the_plant_keeps_scanning(tmp_path: Path, caplog) -> None:
    remote = {"type": "clickhouse", "host": "127.0.0.1", "port": free_port(), "database": "down"}
    storage = {"strategy": "parallel", "remote": remote, "wal": {"map_size_mb": 1, "max_map_size_mb": 2}}
    runtime = start_runtime(ramp_config(tmp_path, storage))
    group = runtime.tree.lookup("petra/core/signals/default")
    wal = wal_proxy(runtime)

    def dropped() -> float:
        return metric(runtime, "petra_wal_dropped_samples_total")

    def big_label_refused() -> bool:
        """Change `label` to 64 KB of incompressible text; True when the WAL refused (and counted) something."""
        before = dropped()
        group.ask(UpdateSignals((SignalUpdate("label", os.urandom(32 * 1024).hex()),)), timeout=5)
        wal.flush().get(timeout=5)
        return dropped() > before

    try:
        # Nothing is ever trimmed here (parallel: ClickHouse is down, gates trimming and took nothing). Full is
        # declared at the first refused commit, but a refusal of the ramp's small samples is not lasting: a
        # later, smaller commit may still fit (and the WAL then counts as no longer full), and after a refused
        # big one the small ones go on fitting in the room it left (measured at load 15: 2.4 s, 800 samples;
        # longer on a slower scan). A 64 KB label that is refused stays refused: it never fits again. So: fill
        # with labels until three in a row are refused; from then on the WAL is full for good.
        with caplog.at_level(logging.ERROR, "petra.actors.wal"):
            refused_in_a_row = 0
            for _ in range(400):
                refused_in_a_row = refused_in_a_row + 1 if big_label_refused() else 0
                if refused_in_a_row == 3:
                    break
            assert refused_in_a_row == 3, "a 2 MB map took 400 changes of 64 KB"
            assert metric(runtime, "petra_wal_full") == 1
            # the WAL sets the gauge, then logs (in its own thread): the line may come a moment later
            wait_until(lambda: any("WAL FULL" in r.message for r in caplog.records), timeout=5)

        status = wal.status().get(timeout=5)
        assert status["full"] and status["map_bytes"] == 2 * 1024 * 1024
        # ... and raised as the internal alarm signal that alarms, MQTT and operators can watch
        wait_until(lambda: runtime.plant.table.read("storage.wal_full").value is True, timeout=5)
        ticks = metric(runtime, "petra_ticks_total")
        wait_until(lambda: metric(runtime, "petra_ticks_total") > ticks + 50, timeout=10)
        assert big_label_refused(), "still full, still refusing what does not fit"
        assert wal.status().get(timeout=5)["full"]
        assert runtime.plant.table.read("count0").value > 0
        assert metric(runtime, "petra_actor_up", {"path": "petra/storage/wal"}) == 1
    finally:
        runtime.stop()
