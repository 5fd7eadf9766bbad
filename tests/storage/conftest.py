"""Fixtures for the storage tests: a real ClickHouse and a real moto S3 server for the session."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from petra.runtime import Runtime
from tests.harness import RunningPlant
from tests.peers.clickhouse import ClickHouseServer
from tests.peers.moto_s3 import ACCESS_KEY, SECRET_KEY, MotoS3
from tests.peers.small_disk import small_disk_fixture

_db = itertools.count()


@pytest.fixture(scope="session")
def clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    server = ClickHouseServer(tmp_path_factory.mktemp("clickhouse"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ch(clickhouse: ClickHouseServer) -> ClickHouseServer:
    """The session server, started again if a test stopped it."""
    clickhouse.start()
    return clickhouse


@pytest.fixture
def database() -> str:
    """A database name of its own for each test."""
    return f"petra_test_{next(_db)}_{int(time.time() * 1000) % 100000}"


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    server = MotoS3(tmp_path_factory.mktemp("moto"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3(moto: MotoS3, monkeypatch: pytest.MonkeyPatch) -> MotoS3:
    moto.start()
    moto.reset()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    return moto


small_disk = small_disk_fixture(8 << 20)  # a real 8 MB file system for what a full disk does


def ramp_config(tmp: Path, storage: dict[str, Any], generators: int = 2, scan_ms: int = 10,
                node_id: str = "test-node") -> dict[str, Any]:
    """A plant whose DATA_GENERATORs count and wave every scan, with `storage` (paths made absolute)."""
    storage = {k: dict(v) if isinstance(v, dict) else v for k, v in storage.items()}
    storage.setdefault("wal", {}).setdefault("wal_dir", str(tmp / "wal"))
    storage.setdefault("local", {}).setdefault("data_dir", str(tmp / "local"))
    storage["local"].setdefault("flush_interval_seconds", 0.3)
    storage.setdefault("history", {}).setdefault("max_interval_ms", 0)
    blocks = [
        {"name": f"gen{i}", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
         "outputs": {"count_out": f"count{i}", "sine_out": f"sine{i}", "square_out": f"square{i}"},
         "params": {"frequency": 0.5 + i}}
        for i in range(generators)
    ]
    return {"node_id": node_id, "scan_time_ms": scan_ms,
            "signals": [{"name": "enable", "type": "bool", "initial": True},
                        {"name": "label", "type": "string", "initial": "batch-1"}],
            "blocks": blocks, "storage": storage, "control": {"socket": str(tmp / "control.sock")}}


def start_runtime(data: dict[str, Any]) -> Runtime:
    """A started runtime for `data` (its control socket is the config's); the test stops it."""
    return RunningPlant(data).start().runtime


def metric(runtime: Runtime, name: str, labels: dict[str, str] | None = None) -> float:
    value = runtime.plant.metrics.registry.get_sample_value(name, labels or {})
    return 0.0 if value is None else value


def wal_proxy(runtime: Runtime) -> Any:
    assert runtime.tree is not None
    return runtime.tree.lookup("petra/storage/wal").proxy()


def clickhouse_storage(server: ClickHouseServer, database: str, **extra: Any) -> dict[str, Any]:
    return {"type": "clickhouse", "host": "127.0.0.1", "port": server.tcp_port, "database": database,
            "batch_size": 2000, **extra}


def ch_seqs(server: ClickHouseServer, database: str) -> list[int]:
    try:
        return [r[0] for r in server.client().execute(f"SELECT seq FROM {database}.samples ORDER BY seq")]
    except Exception as exc:
        if "doesn't exist" in str(exc) or "UNKNOWN_TABLE" in str(exc):
            return []
        raise


def set_enable(runtime: Runtime, on: bool) -> None:
    """Switch the generators on or off through the signal group that owns `enable`."""
    from petra.messages import SignalUpdate, UpdateSignals

    assert runtime.tree is not None
    ref = runtime.tree.lookup("petra/core/signals/default")
    ref.ask(UpdateSignals((SignalUpdate("enable", on),), "test"), timeout=5)


def quiesce(runtime: Runtime, consumers: tuple[str, ...], timeout: float = 30.0) -> list[int]:
    """Stop the ramp, wait until every consumer's lag is zero; returns every seq acknowledged so far."""
    from tests.helpers import wait_until

    set_enable(runtime, False)
    wal = wal_proxy(runtime)

    def caught_up() -> bool:
        head = wal.flush().get(timeout=5)
        return all(wal.cursor(c).get(timeout=5) == head for c in consumers)

    wait_until(caught_up, timeout=timeout, interval=0.1)
    status = wal.status().get(timeout=5)
    return list(range(status["origin"], status["head"] + 1))


def lag(runtime: Runtime, consumer: str) -> float:
    """The lag the WAL last published; it refreshes on its timer, so wait on it, never read it once."""
    return metric(runtime, "petra_storage_consumer_lag_samples", {"consumer": consumer})
