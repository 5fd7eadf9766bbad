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
    try:
        with caplog.at_level(logging.ERROR, "petra.actors.wal"):
            for _ in range(400):  # 64 KB of incompressible text per change; ClickHouse never takes any
                group.ask(UpdateSignals((SignalUpdate("label", os.urandom(32 * 1024).hex()),)), timeout=5)
                if metric(runtime, "petra_wal_full") == 1:
                    break
            wait_until(lambda: metric(runtime, "petra_wal_full") == 1, timeout=10)
            # the WAL sets the gauge, then logs (in its own thread): the line may come a moment later
            wait_until(lambda: any("WAL FULL" in r.message for r in caplog.records), timeout=5)
        # Full is a state that trimming can briefly lift; what matters is that it is reported.
        def reported_full() -> bool:
            status = wal_proxy(runtime).status().get()
            return bool(status["full"]) and status["map_bytes"] == 2 * 1024 * 1024

        wait_until(reported_full, timeout=10)
        # ... and raised as the internal alarm signal that alarms, MQTT and operators can watch
        wait_until(lambda: runtime.plant.table.read("storage.wal_full").value is True, timeout=5)
        ticks = metric(runtime, "petra_ticks_total")
        dropped = metric(runtime, "petra_wal_dropped_samples_total")
        wait_until(lambda: metric(runtime, "petra_ticks_total") > ticks + 50, timeout=10)

        # While full, small samples that still fit in the space the refused big one left are acknowledged
        # (nothing is trimmed: ClickHouse gates and never took anything). How long the ramp's own samples
        # take to use that space up depends on the scan rate: 2.4 s at load 15, more on a slower run. A
        # sample that does not fit is refused and counted at once: send those until one is.
        def a_sample_that_does_not_fit_is_refused() -> bool:
            group.ask(UpdateSignals((SignalUpdate("label", os.urandom(32 * 1024).hex()),)), timeout=5)
            wal_proxy(runtime).flush().get(timeout=5)
            return metric(runtime, "petra_wal_dropped_samples_total") > dropped

        wait_until(a_sample_that_does_not_fit_is_refused, timeout=10, interval=0.05)
        assert runtime.plant.table.read("count0").value > 0
        assert metric(runtime, "petra_actor_up", {"path": "petra/storage/wal"}) == 1
    finally:
        runtime.stop()
