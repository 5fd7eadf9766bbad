"""Load a configuration file into a PlantConfig, or say everything wrong with it.

Steps: YAML with positions and ``${VAR}`` substitution (`yaml_source`), the
JSON Schema (`schema`, messages from `validation`), then the cross-checks
(`checks`, and each section's `checks.py`). All problems of all steps that could run are
reported together in one ConfigError, sorted by position.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

from petra.blocks.base import BlockRegistry
from petra.config.checks import BlockChecker, check_sections, check_signals, resolve_signals
from petra.config.context import CheckContext
from petra.config.errors import ConfigError, Problem
from petra.config.model import PlantConfig
from petra.config.schema import SCAN_TIME_MS, TOP_LEVEL_CORE, build_schema, default_registry, fill_defaults
from petra.config.tasks import check_tasks, read_tasks
from petra.config.validation import schema_problems
from petra.config.yaml_limits import MAX_DOCUMENT_BYTES, check_size
from petra.config.yaml_source import Document, parse_yaml, release_gradually
from petra.extras import check_extras


def load_config(
    path: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    *,
    registry: BlockRegistry | None = None,
) -> PlantConfig:
    """Load and check the file at `path`; raise ConfigError listing every problem.

    `env` replaces `os.environ` for ``${VAR}`` substitution; `registry` replaces
    the global block registry (tests).
    """
    name = os.fspath(path)
    return load_config_bytes(read_config_bytes(name), name, env, registry=registry, source=Path(name))


def read_config_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes, read once: whoever verifies a signature must parse these same bytes."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            check_size(os.fstat(f.fileno()).st_size, name)
            raw = f.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise ConfigError([Problem(name, 0, 0, "", f"cannot read the file: {exc.strerror or exc}")]) from None
    check_size(len(raw), name)
    return raw


def load_config_bytes(
    raw: bytes,
    name: str,
    env: Mapping[str, str] | None = None,
    *,
    registry: BlockRegistry | None = None,
    source: Path | None = None,
) -> PlantConfig:
    """Like `load_config` for a file's bytes already read (`name` is used in messages)."""
    check_size(len(raw), name)
    return _load(_decode(raw, name), name, env, registry, source, hashlib.sha256(raw).hexdigest())


def load_config_text(
    text: str,
    filename: str = "<config>",
    env: Mapping[str, str] | None = None,
    *,
    registry: BlockRegistry | None = None,
) -> PlantConfig:
    """Like `load_config` for text already in memory; `filename` is used in messages."""
    return _load(text, filename, env, registry, None, hashlib.sha256(text.encode("utf-8")).hexdigest())


def load_sections(
    path: str | os.PathLike[str], names: Sequence[str], env: Mapping[str, str] | None = None
) -> PlantConfig:
    """Only the top-level sections `names` of the file, checked against their schema.

    For tools that need one section (``petra twilio signal`` needs `twilio`):
    ``${VAR}`` is substituted and the schema applied only inside those
    sections, so variables that only other sections use need not be set. The
    result has no signals or blocks; sections absent from the file are absent
    (`node_id` is substituted too: tools stamp rows with it).
    """
    name = os.fspath(path)
    raw = read_config_bytes(name)
    wanted = tuple(names)
    doc = parse_yaml(_decode(raw, name), name, os.environ if env is None else env, only=(*wanted, "node_id"))
    data = doc.data if isinstance(doc.data, dict) else {}
    schema = build_schema(default_registry(), block_details=False)
    properties = {key: schema["properties"][key] for key in wanted if key in schema["properties"]}
    partial = {**schema, "properties": properties, "required": [], "additionalProperties": True}
    picked = {k: v for k, v in data.items() if k in properties} if isinstance(doc.data, dict) else doc.data
    chosen = Document(doc.filename, picked, doc.keys, doc.values)  # not a mapping: the schema says so
    _normalize(chosen.data)
    problems = schema_problems(chosen, partial)
    if problems:
        raise ConfigError(sorted(dict.fromkeys(problems)))
    return PlantConfig(
        source=Path(name),
        text_sha256=hashlib.sha256(raw).hexdigest(),
        node_id=str(data.get("node_id") or socket.gethostname()),
        scan_time_ms=SCAN_TIME_MS,
        signals=(),
        blocks=(),
        sections={key: fill_defaults(value, properties[key]) for key, value in chosen.data.items()},
    )


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError([Problem(name, line, column, "", "the file is not UTF-8 text")]) from None


def _load(
    text: str,
    filename: str,
    env: Mapping[str, str] | None,
    registry: BlockRegistry | None,
    source: Path | None,
    sha256: str,
) -> PlantConfig:
    registry = registry if registry is not None else default_registry()
    doc = parse_yaml(text, filename, os.environ if env is None else env)
    try:
        return _check(doc, registry, source, sha256)
    finally:
        release_gradually(doc.keys, doc.values)


def _check(doc: Document, registry: BlockRegistry, source: Path | None, sha256: str) -> PlantConfig:
    _normalize(doc.data)
    present = list(doc.data) if isinstance(doc.data, dict) else None
    schema = build_schema(registry, block_details=False, sections=present)
    problems = schema_problems(doc, schema)

    ctx = CheckContext(doc)
    check_signals(ctx)
    tasks = read_tasks(ctx)
    blocks = BlockChecker(ctx, registry).run()
    check_sections(ctx)
    check_extras(ctx)  # a section whose library is not installed: the pip extra to add
    check_tasks(ctx, tasks, blocks)
    signals = resolve_signals(ctx)
    problems.extend(ctx.errors)
    if problems:
        raise ConfigError(sorted(dict.fromkeys(problems)))

    data = doc.data
    sections = {
        key: fill_defaults(value, schema["properties"][key])
        for key, value in data.items()
        if key not in TOP_LEVEL_CORE
    }
    return PlantConfig(
        source=source,
        text_sha256=sha256,
        node_id=str(data.get("node_id") or socket.gethostname()),
        scan_time_ms=int(data.get("scan_time_ms", SCAN_TIME_MS)),
        signals=tuple(signals),
        blocks=tuple(blocks),
        sections=sections,
        warnings=tuple(str(w) for w in sorted(dict.fromkeys(ctx.warnings))),
        tasks=tuple(tasks),
    )


def _normalize(data: object) -> None:
    """Accept ``condition: true`` / ``condition: false`` unquoted (YAML reads them
    as booleans) by turning them into the strings the alarm schema names."""
    alarms = data.get("alarms") if isinstance(data, dict) else None
    items = alarms.get("alarms") if isinstance(alarms, dict) else None
    for alarm in items if isinstance(items, list) else []:
        if isinstance(alarm, dict) and isinstance(alarm.get("condition"), bool):
            alarm["condition"] = "true" if alarm["condition"] else "false"
