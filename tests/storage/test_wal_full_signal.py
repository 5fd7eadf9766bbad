"""`storage.wal_full` follows the WAL's state even when an update of it was lost on the way."""

from __future__ import annotations

from tests.harness import RunningPlant
from tests.helpers import wait_until
from tests.storage.conftest import ramp_config


def test_a_wal_full_signal_that_disagrees_with_the_wal_is_written_again(tmp_path) -> None:
    with RunningPlant(ramp_config(tmp_path, {"strategy": "local_first"})) as plant:
        assert plant.value("storage.wal_full") is False
        # As if the WAL's "full" had landed and its "no longer full" had been lost with a crashed group:
        plant.write("storage", **{"storage.wal_full": True})
        assert plant.value("storage.wal_full") is True
        wait_until(lambda: plant.value("storage.wal_full") is False, timeout=5)
