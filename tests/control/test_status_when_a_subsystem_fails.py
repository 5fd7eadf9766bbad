"""`GET /v1/status` still answers when one driver or storage actor's own status raises."""

from __future__ import annotations

import pytest

from petra.control.api import ControlApi, Request
from petra.storage.parquet_actor import ParquetTier
from tests.harness import RunningPlant
from tests.helpers import wait_until
from tests.storage.conftest import ramp_config


def test_a_storage_actor_whose_status_raises_is_reported_as_such_and_the_rest_of_the_status_is_served(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_status(self: ParquetTier) -> dict[str, object]:
        raise RuntimeError("status exploded")

    with RunningPlant(ramp_config(tmp_path, {"strategy": "local_first"})) as plant:
        wait_until(lambda: plant.plant.stats.completed_scans > 2)
        monkeypatch.setattr(ParquetTier, "status", broken_status)
        response = ControlApi(plant.runtime).handle(Request("GET", "/v1/status", caller="uid:1000"))
        assert response.status == 200, response.body
        assert response.body["subsystems"]["petra/storage/history:parquet"] == {
            "error": "RuntimeError: status exploded"}
        assert "petra/storage/wal" in response.body["subsystems"]
