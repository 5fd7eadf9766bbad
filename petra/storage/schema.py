"""JSON Schema of the `storage` section; defaults given here are filled into `PlantConfig.sections`."""

from __future__ import annotations

from petra.config.schema_builders import Schema, array, boolean, enum, integer, number, obj, string


def storage_schema() -> Schema:
    local = obj(
        {
            "data_dir": string(default="./data/local"),
            "max_file_size_mb": integer(default=100, minimum=1),
            "compression": enum(["zstd", "lz4", "snappy", "none"], default="zstd"),
            "compression_level": integer(minimum=1, maximum=22),
            "retention_days": integer(default=7, minimum=0),
            "compact_after_hours": integer(default=24, minimum=0),
            "flush_interval_seconds": number("Write buffered rows as a Parquet part at least this often.",
                                             default=60, minimum=0.01),
        }
    )
    remote = obj(
        {
            "type": enum(["clickhouse"], default="clickhouse"),
            "url": string("HTTP URL, e.g. http://127.0.0.1:8123 (or give host and port)."),
            "host": string(),
            "port": integer("Native protocol port.", default=9000, minimum=1, maximum=65535),
            "database": string(default="petra"),
            "username": string(default="default"),
            "password": string(),
            "batch_size": integer(default=10000, minimum=1),
            "async_insert": boolean(default=False),
            "alternative_hosts": array(string(minLength=1), "Fail-over hosts (host or host:port).",
                                       default=[]),
            "fallback_after_seconds": number("remote_first: rows ClickHouse has not taken this long are "
                                             "written to local Parquet.", default=60, minimum=0),
        },
        anyOf=[{"required": ["url"]}, {"required": ["host"]}],
    )
    wal = obj(
        {
            "wal_dir": string(default="./data/wal"),
            "sync_on_write": boolean(default=True),
            "retention_hours": integer(default=48, minimum=1),
            "map_size_mb": integer(default=256, minimum=1),
            "max_map_size_mb": integer(default=4096, minimum=1),
        }
    )
    s3 = obj(
        {
            "bucket": string(minLength=1),
            "prefix": string(default="petra/"),
            "endpoint": string("For S3-compatible stores, e.g. http://127.0.0.1:9000."),
            "region": string(default="us-east-1"),
            "upload_after_minutes": integer(default=60, minimum=0),
            "delete_local_after_upload": boolean(default=False),
        },
        required=("bucket",),
    )
    history = obj(
        {
            "mode": enum(["on_change", "interval"], default="on_change"),
            "deadband": number(default=0.0, minimum=0),
            "min_interval_ms": integer(default=0, minimum=0),
            "max_interval_ms": integer("Store at least this often even without change.",
                                       default=60000, minimum=0),
        },
        description="Defaults for how every signal is recorded.",
    )
    return obj(
        {
            "strategy": enum(["local_first", "remote_first", "parallel"], default="local_first"),
            "local": local,
            "remote": remote,
            "wal": wal,
            "s3": s3,
            "history": history,
        },
        description="History storage: local Parquet files, ClickHouse, WAL and S3 archive.",
    )
