"""The history tools and the storage self-test, called as the CLI calls them."""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pyarrow import fs as pafs

from petra.storage import commands as history_cmds
from petra.storage.parquet_store import ParquetStore, scan_parts
from petra.storage.rows import decode_block, encode_block, to_rows
from petra.storage.selftest import _verdict
from petra.storage.settings import LocalSettings
from tests.peers.clickhouse import free_port


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    history_cmds.register(sub)
    args = parser.parse_args(list(argv))
    return args.handler(args)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    store = ParquetStore(LocalSettings(data_dir=tmp_path / "local"))
    start = 1_700_000_000.0
    samples = [(start + i, "level", float(i), 0) for i in range(100) if not 40 <= i < 60]
    samples += [(start + i, "pump", i % 2 == 0, 0) for i in range(10)]
    store.write(to_rows(decode_block(encode_block(samples, "n1")), 1), 1, len(samples))
    return store.dir


def test_list_info_and_show(data_dir: Path, capsys) -> None:
    assert _run("history", "list", str(data_dir)) == 0
    assert "90 rows" in capsys.readouterr().out
    assert _run("history", "info", str(scan_parts(data_dir)[0].path)) == 0
    out = capsys.readouterr().out
    assert "rows:        90" in out and "signals:     2: level, pump" in out and "ZSTD" in out.upper()
    assert "2023-11-14T22:13:20+00:00" in out
    assert _run("history", "show", str(data_dir), "--signal", "pump", "--rows", "3") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and "True" in lines[1]
    assert _run("history", "show", str(data_dir), "--signal", "level", "--max-points", "5") == 0
    assert len(capsys.readouterr().out.splitlines()) == 5, "header + 4 buckets: the one inside the gap is empty"


def test_export_csv_and_json_lines_with_a_time_range(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    assert _run("history", "export", str(data_dir), "--signal", "level", "--since", "1700000010",
                "--until", "1700000020", "--output", str(out)) == 0
    rows = list(csv.DictReader(out.open()))
    assert [float(r["value"]) for r in rows] == [float(i) for i in range(10, 20)]
    out = tmp_path / "x.jsonl"
    assert _run("history", "export", str(data_dir), "--signal", "pump", "--output", str(out)) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["value"] for r in records][:3] == [True, False, True] and records[0]["type"] == "bool"


def test_stats_report_count_range_and_the_gap(data_dir: Path, capsys) -> None:
    assert _run("history", "stats", str(data_dir)) == 0
    out = capsys.readouterr().out
    level = next(line for line in out.splitlines() if line.startswith("level"))
    fields = level.split()
    assert fields[1:5] == ["80", "0.0", "99.0", "49.5"]
    assert fields[-2:] == ["1", "21.0"]


def test_storage_selftest_passes_through_parquet_and_clickhouse(tmp_path: Path, ch, database: str,
                                                               capsys) -> None:
    from petra.storage.selftest import run_selftest

    storage = {"strategy": "parallel", "local": {"data_dir": str(tmp_path / "local"), "flush_interval_seconds": 0.2},
               "wal": {"wal_dir": str(tmp_path / "wal")}, "history": {"max_interval_ms": 0},
               "remote": {"type": "clickhouse", "host": "127.0.0.1", "port": ch.tcp_port, "database": database}}
    report = run_selftest(storage, count=10000, timeout=30)
    assert report.ok, report.lines()
    assert report.tiers["parquet"]["rows"] == report.samples == report.tiers["clickhouse"]["rows"]
    assert report.samples >= 10000
    assert _run("storage", "selftest", "--count", "2000") == 0
    assert "PASSED" in capsys.readouterr().out


def test_history_list_names_a_damaged_part_and_fails(data_dir: Path, capsys) -> None:
    part = scan_parts(data_dir)[0].path
    part.write_bytes(part.read_bytes()[:100])
    assert _run("history", "list", str(data_dir)) == 1
    captured = capsys.readouterr()
    assert "DAMAGED" in captured.out and str(part) in captured.err


def test_history_commands_accept_the_original_dir_option(data_dir: Path, capsys) -> None:
    assert _run("history", "list", "--dir", str(data_dir)) == 0
    assert "90 rows" in capsys.readouterr().out
    assert _run("history", "stats", "--dir", str(data_dir)) == 0
    assert any(line.startswith("level") for line in capsys.readouterr().out.splitlines())


def _plant_config(tmp_path: Path, remote: dict, **more: object) -> Path:
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump({
        "node_id": "plant-1", "signals": [{"name": "temp", "type": "float", "initial": 1.0}],
        "storage": {"strategy": "parallel", "wal": {"wal_dir": str(tmp_path / "plant" / "wal")},
                    "local": {"data_dir": str(tmp_path / "plant" / "local")}, "remote": remote, **more}}))
    return config


def test_storage_selftest_of_a_config_leaves_the_plants_history_untouched(tmp_path: Path, ch, database: str,
                                                                         s3, capsys) -> None:
    remote = {"type": "clickhouse", "host": "127.0.0.1", "port": ch.tcp_port, "database": database}
    archive = {"bucket": "archive", "prefix": "plant-1/", "endpoint": s3.endpoint, "upload_after_minutes": 0}
    config = _plant_config(tmp_path, remote, s3=archive)
    assert _run("storage", "selftest", str(config), "--count", "2000", "--timeout", "30") == 0
    assert "PASSED" in capsys.readouterr().out
    bucket = s3.filesystem().get_file_info(pafs.FileSelector("archive", recursive=True, allow_not_found=True))
    assert not [i.path for i in bucket if i.type == pafs.FileType.File], "objects left in the bucket"
    assert not (tmp_path / "plant").exists(), "the self-test wrote into the plant's WAL or Parquet directory"
    databases = {row[0] for row in ch.client().execute("SHOW DATABASES")}
    assert database not in databases, "the self-test wrote into the plant's ClickHouse database"
    assert not [d for d in databases if d.startswith("petra_selftest_")], "the scratch database was left behind"


def test_a_failing_selftest_says_why_and_prints_no_traceback(tmp_path: Path) -> None:
    remote = {"type": "clickhouse", "host": "127.0.0.1", "port": free_port(), "database": "nowhere"}
    result = subprocess.run(
        [sys.executable, "-m", "petra.cli", "storage", "selftest", str(_plant_config(tmp_path, remote)),
         "--count", "500", "--timeout", "3"], capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parents[2])
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    failed = next(line for line in result.stdout.splitlines() if line.strip().startswith("clickhouse"))
    assert "FAIL" in failed and "why=" in failed and "127.0.0.1" in failed, failed


def test_a_tier_judged_on_no_acknowledged_sample_fails_with_the_reason_instead_of_a_traceback() -> None:
    verdict = _verdict([], set(), elapsed=3.0)  # the WAL took nothing within the timeout (a loaded machine)
    assert verdict["ok"] is False and "acknowledged none" in verdict["why"]


def test_a_wrong_option_is_reported_under_the_sub_command_s_usage() -> None:
    result = subprocess.run([sys.executable, "-m", "petra.cli", "history", "list", "--bogus", "x"],
                            capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 2
    assert result.stderr.startswith("usage: petra history list"), result.stderr
    assert "unrecognized arguments: --bogus" in result.stderr
