"""Shared helpers of the designer tests: the example configs and comparing the models two texts load to."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from petra.config.loader import load_config_text
from petra.config.model import PlantConfig

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [*sorted((ROOT / "configs").glob("*.yaml")), ROOT / "petra" / "demo.yaml"]
ENV = {"MQTT_USERNAME": "petra", "MQTT_PASSWORD": "secret", "CLICKHOUSE_PASSWORD": "secret"}
"""What configs/original-example.yaml needs set (it has no defaults, as in the original)."""


def model(text: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """What a config means, without where it was written (lines, hash): equal for texts PETRA runs alike."""
    config: PlantConfig = load_config_text(text, "plant.yaml", dict(ENV, **(env or {})))
    return {
        "node_id": config.node_id, "scan_time_ms": config.scan_time_ms,
        "signals": config.signals, "blocks": tuple(replace(b, line=0) for b in config.blocks),
        "sections": config.sections, "tasks": tuple(replace(t, line=0) for t in config.tasks),
        "warnings": len(config.warnings),
    }


def changed_lines(before: str, after: str) -> list[int]:
    """0-based lines of `before` that `after` does not keep (by a line diff); lines inserted count as a change
    of the line they follow."""
    import difflib

    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    out: list[int] = []
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag == "insert":
            out.append(max(i1 - 1, 0))
        elif tag != "equal":
            out.extend(range(i1, i2))
    return out
