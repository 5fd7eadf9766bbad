"""The S3 archive against a real moto server: upload, verify, outage, local removal."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.parquet as pq

from petra.storage.parquet_store import live_parts
from petra.storage.rows import concat_rows
from tests.helpers import wait_until
from tests.storage.conftest import metric, quiesce, ramp_config, set_enable, start_runtime


def _s3_rows(s3, bucket: str, prefix: str):
    fs = s3.filesystem()
    from pyarrow import fs as pafs

    infos = fs.get_file_info(pafs.FileSelector(f"{bucket}/{prefix}", recursive=True, allow_not_found=True))
    tables = []
    for info in infos:
        if info.type == pafs.FileType.File and info.path.endswith(".parquet"):
            with fs.open_input_file(info.path) as f:
                tables.append(pq.read_table(io.BytesIO(f.read())))
    return concat_rows(tables)


def _storage(s3, **extra: object) -> dict:
    return {"strategy": "local_first",
            "s3": {"bucket": "archive", "prefix": "plant-a/", "endpoint": s3.endpoint, "upload_after_minutes": 0,
                   **extra}}


def test_closed_parts_are_archived_once_and_survive_an_s3_outage(tmp_path: Path, s3) -> None:
    runtime = start_runtime(ramp_config(tmp_path, _storage(s3)))
    try:
        wait_until(lambda: _s3_rows(s3, "archive", "plant-a").num_rows > 100, timeout=20)
        s3.stop()
        wait_until(lambda: metric(runtime, "petra_storage_failures_total", {"tier": "s3"}) >= 1, timeout=20)
        s3.start()  # moto comes back empty: what was there before is gone too
        set_enable(runtime, True)
        seqs = quiesce(runtime, ("parquet",))

        def archived() -> bool:
            local = {p.relative for p in live_parts(tmp_path / "local")}
            rows = _s3_rows(s3, "archive", "plant-a")
            return rows.num_rows and sorted(rows.column("seq").to_pylist()) == seqs and local

        wait_until(archived, timeout=30, interval=0.3)
        wait_until(lambda: metric(runtime, "petra_storage_pending_files", {"tier": "s3"}) == 0, timeout=10)
    finally:
        runtime.stop()
    assert all(p.path.with_name(p.path.name + ".archived").exists() for p in live_parts(tmp_path / "local"))


def test_delete_local_after_upload_removes_only_verified_parts(tmp_path: Path, s3) -> None:
    runtime = start_runtime(ramp_config(tmp_path, _storage(s3, delete_local_after_upload=True)))
    try:
        seqs = quiesce(runtime, ("parquet",))
        wait_until(lambda: sorted(_s3_rows(s3, "archive", "plant-a").column("seq").to_pylist()) == seqs,
                   timeout=30, interval=0.3)
        wait_until(lambda: not live_parts(tmp_path / "local"), timeout=10)
    finally:
        runtime.stop()
