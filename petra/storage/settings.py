"""The `storage` section's settings: one declaration for its schema, defaults and typed model.

Times are in the unit their name ends with. The dataclasses' defaults are the
schema's (`petra.storage.schema` is generated from them), so a dict or an
instance built by hand (tests, the self-test) gets the same values as a config.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from petra.config.history import HistoryPolicy  # declared in petra.config: the signal schema needs it too
from petra.config.schema_builders import array, string
from petra.config.settings import NOT_A_SETTING, parse, setting

log = logging.getLogger(__name__)

STRATEGIES = ("local_first", "remote_first", "parallel")


@dataclass(frozen=True)
class WalSettings:
    wal_dir: Path = setting(Path("./data/wal"))
    sync_on_write: bool = setting(True)
    retention_hours: int = setting(48, unit="h", minimum=1)
    map_size_mb: int = setting(256, unit="MB", minimum=1)
    max_map_size_mb: int = setting(4096, unit="MB", minimum=1)


@dataclass(frozen=True)
class LocalSettings:
    data_dir: Path = setting(Path("./data/local"))
    max_file_size_mb: int = setting(100, unit="MB", minimum=1)
    compression: str = setting("zstd", enum=("zstd", "lz4", "snappy", "none"))
    compression_level: int | None = setting(None, minimum=1, maximum=22)
    retention_days: int = setting(7, unit="d", minimum=0)
    compact_after_hours: int = setting(24, unit="h", minimum=0)
    flush_interval_seconds: float = setting(60.0, unit="s", minimum=0.01,
                                            doc="Write buffered rows as a Parquet part at least this often.")


@dataclass(frozen=True)
class RemoteSettings:
    """ClickHouse. `host` and `port` are the native protocol's, from `host`/`port` or `url` (`remote_endpoint`)."""

    type: Literal["clickhouse"] = setting("clickhouse")
    url: str | None = setting(None, doc="HTTP URL, e.g. http://127.0.0.1:8123 (or give host and port).")
    host: str = setting("127.0.0.1", schema_default=False)
    port: int = setting(9000, doc="Native protocol port.", minimum=1, maximum=65535)
    database: str = setting("petra")
    username: str = setting("default")
    password: str = setting("", schema_default=False)
    batch_size: int = setting(50000, minimum=1, doc="Most rows per insert. Each insert has a fixed cost on the "
                              "server (new parts for the table and its rollup): fewer, bigger inserts go faster.")
    async_insert: bool = setting(False)
    alternative_hosts: tuple[str, ...] = setting((), doc="Fail-over hosts (host or host:port).",
                                                 schema=array(string(minLength=1)))
    fallback_after_seconds: float = setting(60.0, unit="s", minimum=0, doc="remote_first: rows ClickHouse has "
                                            "not taken this long are written to local Parquet.")
    cluster: str | None = setting(None, minLength=1, doc="A cluster in the servers' <remote_servers>: "
                                  "samples is then a Distributed table over samples_local on every host, sharded "
                                  "by cityHash64(node_id) (docs/clickhouse-cluster.md).")
    table: ClassVar[str] = "samples"


@dataclass(frozen=True)
class S3Settings:
    bucket: str = setting(minLength=1)
    prefix: str = setting("petra/")
    endpoint: str | None = setting(None, doc="For S3-compatible stores, e.g. http://127.0.0.1:9000.")
    region: str = setting("us-east-1")
    upload_after_minutes: int = setting(60, unit="min", minimum=0)
    delete_local_after_upload: bool = setting(False)


@dataclass(frozen=True)
class StorageSettings:
    """History storage: local Parquet files, ClickHouse, WAL and S3 archive."""

    node_id: str = field(metadata=NOT_A_SETTING)
    strategy: str = setting("local_first", enum=STRATEGIES)
    local: LocalSettings | None = setting(default_factory=LocalSettings)
    remote: RemoteSettings | None = None
    wal: WalSettings = setting(default_factory=WalSettings)
    s3: S3Settings | None = None
    history: HistoryPolicy = setting(default_factory=HistoryPolicy, doc="Defaults for how every signal is recorded.")


def remote_endpoint(section: dict[str, Any]) -> tuple[str, int]:
    """Native-protocol host and port from `host`/`port` or `url`.

    clickhouse-driver speaks the native protocol (default port 9000). An HTTP URL
    such as ``http://clickhouse:8123`` gives the host; its port is the HTTP port,
    so the native `port` setting is used instead. ``clickhouse://h:9440`` or
    ``tcp://h:9000`` give both.
    """
    port = int(section.get("port", RemoteSettings.port))
    if section.get("host"):
        return str(section["host"]), port
    url = urlsplit(str(section["url"]))
    host = url.hostname or "127.0.0.1"
    if url.scheme in ("clickhouse", "tcp") and url.port:
        return host, url.port
    if url.port and url.port != port:
        log.info("storage.remote.url %s is an HTTP address; clickhouse-driver uses the native protocol on "
                 "%s:%d (set storage.remote.port to change it)", section["url"], host, port)
    return host, port


def parse_settings(section: dict[str, Any], node_id: str) -> StorageSettings:
    """The validated `storage` section (a dict with schema defaults filled in) as settings."""
    strategy = section.get("strategy", StorageSettings.strategy)
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown storage strategy {strategy!r}")
    data = dict(section)
    if data.get("remote"):
        host, port = remote_endpoint(data["remote"])
        data["remote"] = {**data["remote"], "host": host, "port": port}
    else:
        data.pop("remote", None)
    if not data.get("s3"):
        data.pop("s3", None)
    return parse(StorageSettings, data, node_id=node_id)
