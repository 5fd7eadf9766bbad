"""Helpers for the configuration tests: load YAML text given inline."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import pytest

from petra.config.errors import ConfigError
from petra.config.loader import load_config_text
from petra.config.model import PlantConfig

FILENAME = "plant.yaml"


def load(text: str, env: Mapping[str, str] | None = None) -> PlantConfig:
    """Load dedented `text` as plant.yaml with an empty environment by default."""
    return load_config_text(textwrap.dedent(text).lstrip("\n"), FILENAME, env if env is not None else {})


def problems(text: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The formatted problems loading `text` reports (it must fail)."""
    with pytest.raises(ConfigError) as info:
        load(text, env)
    return [str(p) for p in info.value.problems]
