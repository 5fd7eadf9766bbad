"""Small helpers shared by tests: build configs from dicts, wait for conditions."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import yaml

import petra.blocks  # noqa: F401  (registers block types)
from petra.config.loader import load_config_text
from petra.config.model import PlantConfig


def plant_config(data: dict[str, Any], filename: str = "test.yaml") -> PlantConfig:
    return load_config_text(yaml.safe_dump(data, sort_keys=False), filename, env={})


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01) -> Any:
    """Poll `predicate` until it returns something truthy; fail with a clear message."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)
