"""Small helpers shared by tests: build configs from dicts, wait for conditions."""

from __future__ import annotations

import asyncio
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


class Announced:
    """Every value of one signal the plant's bus announces, in order, with the thread that announced it."""

    def __init__(self, plant: Any, name: str) -> None:
        import threading

        self._thread_name = lambda: threading.current_thread().name
        self.slot = plant.table.slot(name)
        self.seen: list[tuple[Any, str]] = []
        plant.bus.subscribe(self)

    def __call__(self, event: Any) -> None:
        for slot, value in zip(event.slots, event.values, strict=True):
            if slot == self.slot:
                self.seen.append((value, self._thread_name()))

    def values(self) -> list[Any]:
        return [value for value, _thread in self.seen]

    def threads(self) -> set[str]:
        return {thread for _value, thread in self.seen}


def run_apart(coro: Any) -> Any:
    """`asyncio.run(coro)` on a thread of its own.

    In a test process that has started the web tests' session-scoped Playwright browser (tests/web/browser.py),
    Playwright's sync API keeps its event loop marked as running in the main thread, so a plain `asyncio.run`
    there raises "cannot be called from a running event loop"; which tests share a worker is xdist's choice."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="test-asyncio") as pool:
        return pool.submit(asyncio.run, coro).result()
