"""`plan_for` as a table: one row per strategy, with and without ClickHouse and S3."""

from __future__ import annotations

import pytest

from petra.storage.plan import plan_for
from petra.storage.settings import parse_settings

P, PC = ("parquet",), ("parquet", "clickhouse")

# (strategy, remote, s3) -> (parquet, clickhouse, s3, clickhouse_source, parquet_spill_only, consumers, gating),
# written down from plan_for before its always-true `parquet` flag was removed.
ROWS = {
    ("local_first", False, False): (True, False, False, "wal", False, P, P),
    ("local_first", False, True): (True, False, True, "wal", False, P, P),
    ("local_first", True, False): (True, True, False, "parquet", False, PC, P),
    ("local_first", True, True): (True, True, True, "parquet", False, PC, P),
    ("remote_first", False, False): (True, False, False, "wal", False, P, P),
    ("remote_first", False, True): (True, False, True, "wal", False, P, P),
    ("remote_first", True, False): (True, True, False, "wal", True, PC, PC),
    ("remote_first", True, True): (True, True, True, "wal", True, PC, PC),
    ("parallel", False, False): (True, False, False, "wal", False, P, P),
    ("parallel", False, True): (True, False, True, "wal", False, P, P),
    ("parallel", True, False): (True, True, False, "wal", False, PC, PC),
    ("parallel", True, True): (True, True, True, "wal", False, PC, PC),
}


@pytest.mark.parametrize(("key", "expected"), ROWS.items(), ids=["-".join(map(str, key)) for key in ROWS])
def test_each_strategy_runs_the_tiers_and_gates_the_cursors_its_readme_row_says(key, expected) -> None:
    strategy, remote, s3 = key
    section: dict[str, object] = {"strategy": strategy}
    if remote:
        section["remote"] = {"url": "clickhouse://db:9000"}
    if s3:
        section["s3"] = {"bucket": "b"}
    p = plan_for(parse_settings(section, "n"))
    assert (p.parquet, p.clickhouse, p.s3, p.clickhouse_source, p.parquet_spill_only, p.consumers, p.gating) == expected
