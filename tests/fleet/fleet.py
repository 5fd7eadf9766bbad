"""A fleet on loopback: N PETRA processes (Sparkplug edge nodes with a WAL and the ClickHouse cluster tier),
one Mosquitto, the two-shard ClickHouse cluster and a Sparkplug host application.

Used by tests/fleet and benchmarks/fleet.py. Each node's config, WAL, state and
log live under its own directory; nodes are real `petra run` processes, so a
SIGKILL is a real one.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.harness import PetraSubprocess, free_port, scrape, wait_for_metrics


def node_config(node_id: str, root: Path, broker_port: int, remote: dict[str, Any], *, signals: int = 3,
                scan_time_ms: int = 100, host_id: str = "scada", username: str | None = None,
                password: str | None = None) -> dict[str, Any]:
    """A plant of `signals` generator outputs (a counter first) changing every scan, reported over Sparkplug
    and recorded into the WAL -> local Parquet + the ClickHouse cluster."""
    blocks: list[dict[str, Any]] = [{"name": "gen0", "type": "DATA_GENERATOR",
                                     "outputs": {"count_out": "count"}, "params": {"frequency": 0.2}}]
    names = [f"s{i:05d}" for i in range(max(0, signals - 1))]
    blocks += [{"name": f"g{i}", "type": "DATA_GENERATOR", "outputs": {"ramp_out": name},
                "params": {"frequency": 0.01 + (i % 7) * 0.001, "amplitude": 100.0, "offset": float(i)}}
               for i, name in enumerate(names)]
    sparkplug: dict[str, Any] = {"broker_host": "127.0.0.1", "broker_port": broker_port, "group_id": "fleet",
                                 "edge_node_id": node_id, "primary_host_id": host_id,
                                 "state_dir": str(root / "sparkplug"), "reconnect_max_s": 1.0}
    if username:
        sparkplug.update(username=username, password=password)
    return {
        "node_id": node_id, "scan_time_ms": scan_time_ms,
        "security": {"users_file": str(root / "users.yaml"), "audit_log": str(root / "audit.log")},
        "signals": [],
        "blocks": blocks,
        "storage": {"wal": {"wal_dir": str(root / "wal"), "sync_on_write": False},
                    "local": {"data_dir": str(root / "local"), "flush_interval_seconds": 5.0},
                    "remote": remote, "strategy": "parallel"},
        "sparkplug": sparkplug,
    }


@dataclass
class Node:
    node_id: str
    root: Path
    config: dict[str, Any]
    metrics_port: int = field(default_factory=free_port)
    process: PetraSubprocess | None = None
    runs: int = 0

    @property
    def wal_dir(self) -> Path:
        return self.root / "wal"

    def start(self) -> Node:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "plant.yaml"
        path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        self.runs += 1
        self.process = PetraSubprocess(
            ["run", str(path), "--metrics-port", str(self.metrics_port), "--control-socket",
             str(self.root / "control.sock")], self.root / f"petra-{self.runs}.log")
        wait_for_metrics(self.metrics_port, self.process, timeout=60)
        return self

    def drain(self) -> Node:
        """Start again with the same signals and storage but nothing changing them and no Sparkplug: the
        ClickHouse tier sends what the WAL still holds; `caught_up` says when it has."""
        config = dict(self.config)
        signals = [{"name": out, "type": "int" if port == "count_out" else "float"}
                   for block in config.pop("blocks") for port, out in block["outputs"].items()]
        config.pop("sparkplug", None)
        self.config = {**config, "signals": signals, "blocks": []}
        return self.start()

    def caught_up(self) -> bool:
        metrics = self.metrics()
        lag = metrics.get('petra_storage_consumer_lag_samples{consumer="clickhouse"}')
        return lag == 0.0

    def metrics(self) -> dict[str, float]:
        return scrape(self.metrics_port)

    def kill(self) -> None:
        """SIGKILL: no NDEATH of its own, the broker publishes the will."""
        assert self.process is not None
        os.kill(self.process.proc.pid, signal.SIGKILL)
        self.process.kill()

    def stop(self) -> int:
        if self.process is None or self.process.proc.poll() is not None:
            return 0
        return self.process.terminate(timeout=40)

    def cpu_seconds(self) -> float:
        """User + system CPU of the process so far (from /proc)."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


def wal_seqs(wal_dir: Path) -> dict[int, tuple[str, int]]:
    """seq -> (signal, ts_us) of every sample the WAL acknowledged (read after the process ended)."""
    from petra.storage.rows import decode_block
    from petra.storage.wal import read_committed

    _, _, blocks = read_committed(wal_dir)
    out: dict[int, tuple[str, int]] = {}
    for first, payload in blocks:
        columns = decode_block(payload).to_pydict()
        for i, (name, ts) in enumerate(zip(columns["signal"], columns["ts_us"], strict=True)):
            out[first + i] = (name, ts)
    return out
