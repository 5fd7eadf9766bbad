"""The storage settings are the one declaration of the section's schema and defaults."""

from __future__ import annotations

from pathlib import Path

from petra.config.loader import load_config_text
from petra.storage.settings import RemoteSettings, StorageSettings, parse_settings


def test_a_storage_section_without_keys_parses_to_the_declared_defaults() -> None:
    config = load_config_text("storage: {}\n")
    settings = parse_settings(config.sections["storage"], "n")
    assert settings == StorageSettings(node_id="n")
    assert settings.wal.wal_dir == Path("./data/wal") and settings.local is not None
    assert settings.local.compression == "zstd" and settings.remote is None and settings.s3 is None


def test_the_loader_fills_the_same_defaults_the_dataclasses_declare() -> None:
    config = load_config_text("storage:\n  wal: {}\n  remote: {host: db}\n  s3: {bucket: b}\n")
    section = config.sections["storage"]
    assert section["wal"]["retention_hours"] == 48 and section["remote"]["batch_size"] == 50000
    settings = parse_settings(section, "n")
    assert settings.remote == RemoteSettings(host="db")
    assert settings.s3 is not None and settings.s3.prefix == "petra/" and settings.s3.upload_after_minutes == 60
