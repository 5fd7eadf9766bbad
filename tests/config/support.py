"""Helpers for the configuration tests: load YAML text given inline."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from petra.config.errors import ConfigError
from petra.config.loader import load_config_text
from petra.config.model import PlantConfig

FILENAME = "plant.yaml"

ORIGINAL_EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "original-example.yaml"
"""The example of the original PETRA description: a comment header between two
`# ----` rules, then the original byte for byte."""


def original_example_text() -> str:
    """The original example as the description gives it: the repo copy below its header."""
    lines = ORIGINAL_EXAMPLE.read_text().splitlines(keepends=True)
    rules = [index for index, line in enumerate(lines) if line.startswith("# ----")]
    return "".join(lines[rules[1] + 1:])


def load(text: str, env: Mapping[str, str] | None = None) -> PlantConfig:
    """Load dedented `text` as plant.yaml with an empty environment by default."""
    return load_config_text(textwrap.dedent(text).lstrip("\n"), FILENAME, env if env is not None else {})


def problems(text: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The formatted problems loading `text` reports (it must fail)."""
    with pytest.raises(ConfigError) as info:
        load(text, env)
    return [str(p) for p in info.value.problems]
