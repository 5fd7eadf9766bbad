"""History keeps recording across a hot reload that adds signals."""

from __future__ import annotations

from pathlib import Path

import yaml

from petra.config.loader import load_config
from petra.storage.query import query_history
from tests.harness import RunningPlant
from tests.helpers import wait_until
from tests.storage.conftest import metric, ramp_config


def test_signals_added_by_a_reload_are_recorded_without_restarting_the_wal(tmp_path: Path) -> None:
    plant = ramp_config(tmp_path, {"strategy": "local_first"}, generators=1)
    config_path = tmp_path / "plant.yaml"
    config_path.write_text(yaml.safe_dump(plant))
    with RunningPlant(load_config(config_path), config_path=config_path) as running:
        runtime = running.runtime
        wait_until(lambda: metric(runtime, "petra_storage_rows_written_total", {"tier": "parquet"}) > 20, timeout=15)
        plant["blocks"].append({"name": "late", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
                                "outputs": {"count_out": "late_count"}})
        config_path.write_text(yaml.safe_dump(plant))
        result = runtime.reload()
        assert result.accepted and result.changes["started"] == ["logic/late"]

        def recorded() -> int:
            return query_history(tmp_path / "local", "late_count").num_rows

        wait_until(lambda: recorded() > 10, timeout=15)
        assert metric(runtime, "petra_actor_restarts_total", {"path": "petra/storage/wal"}) == 0
        wal = running.node("petra/storage/wal")
        assert wal.restarts == 0 and wal.state == "running"
