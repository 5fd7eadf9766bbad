"""The storage section as frozen dataclasses: parsed once from the validated config dict.

Times are in the unit their name ends with. Defaults repeat the schema's so a
dict built by hand (tests, the self-test) works too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

log = logging.getLogger(__name__)

STRATEGIES = ("local_first", "remote_first", "parallel")


@dataclass(frozen=True)
class WalSettings:
    wal_dir: Path = Path("./data/wal")
    sync_on_write: bool = True
    retention_hours: float = 48
    map_size_mb: int = 256
    max_map_size_mb: int = 4096


@dataclass(frozen=True)
class LocalSettings:
    data_dir: Path = Path("./data/local")
    max_file_size_mb: int = 100
    compression: str = "zstd"
    compression_level: int | None = None
    retention_days: float = 7
    compact_after_hours: float = 24
    flush_interval_seconds: float = 60.0


@dataclass(frozen=True)
class RemoteSettings:
    host: str = "127.0.0.1"
    port: int = 9000
    database: str = "petra"
    username: str = "default"
    password: str = ""
    batch_size: int = 10000
    async_insert: bool = False
    alternative_hosts: tuple[str, ...] = ()
    fallback_after_seconds: float = 60.0
    table: str = "samples"


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    prefix: str = "petra/"
    endpoint: str | None = None
    region: str = "us-east-1"
    upload_after_minutes: float = 60
    delete_local_after_upload: bool = False


@dataclass(frozen=True)
class HistoryPolicy:
    """How one signal is recorded. `enabled` False: never recorded."""

    mode: str = "on_change"
    deadband: float = 0.0
    min_interval_ms: int = 0
    max_interval_ms: int = 60000
    enabled: bool = True

    def merged(self, override: Any) -> HistoryPolicy:
        """This default with a signal's own `history:` value applied (bool or mapping)."""
        if override is None or override is True:
            return self
        if override is False:
            return HistoryPolicy(self.mode, self.deadband, self.min_interval_ms, self.max_interval_ms, False)
        values = {**self.__dict__, **{k: v for k, v in dict(override).items() if k in self.__dataclass_fields__}}
        return HistoryPolicy(**values)


@dataclass(frozen=True)
class StorageSettings:
    node_id: str
    strategy: str = "local_first"
    wal: WalSettings = field(default_factory=WalSettings)
    local: LocalSettings | None = field(default_factory=LocalSettings)
    remote: RemoteSettings | None = None
    s3: S3Settings | None = None
    history: HistoryPolicy = field(default_factory=HistoryPolicy)


def _pick(cls: type[DataclassInstance], data: dict[str, Any] | None, **convert: Any) -> dict[str, Any]:
    data = dict(data or {})
    out = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
    for key, fn in convert.items():
        if key in out and out[key] is not None:
            out[key] = fn(out[key])
    return out


def remote_endpoint(section: dict[str, Any]) -> tuple[str, int]:
    """Native-protocol host and port from `host`/`port` or `url`.

    clickhouse-driver speaks the native protocol (default port 9000). An HTTP URL
    such as ``http://clickhouse:8123`` gives the host; its port is the HTTP port,
    so the native `port` setting is used instead. ``clickhouse://h:9440`` or
    ``tcp://h:9000`` give both.
    """
    port = int(section.get("port", 9000))
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
    strategy = section.get("strategy", "local_first")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown storage strategy {strategy!r}")
    wal = WalSettings(**_pick(WalSettings, section.get("wal"), wal_dir=Path))
    local = LocalSettings(**_pick(LocalSettings, section.get("local"), data_dir=Path))
    remote = None
    if section.get("remote"):
        raw = section["remote"]
        host, port = remote_endpoint(raw)
        values = _pick(RemoteSettings, raw, alternative_hosts=tuple)
        values.update(host=host, port=port, password=values.get("password") or "")
        remote = RemoteSettings(**values)
    s3 = S3Settings(**_pick(S3Settings, section["s3"])) if section.get("s3") else None
    history = HistoryPolicy(**_pick(HistoryPolicy, section.get("history")))
    return StorageSettings(node_id=node_id, strategy=strategy, wal=wal, local=local, remote=remote, s3=s3,
                           history=history)
