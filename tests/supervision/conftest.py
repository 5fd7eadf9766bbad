from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pykka
import pytest

from supervision import SupervisionTree, SupervisorEvent, SupervisorSpec, start_tree


@pytest.fixture(autouse=True)
def _stop_all_actors() -> Iterator[None]:
    yield
    # Not blocking: an abandoned (hung) actor would make a blocking stop_all wait for it.
    pykka.ActorRegistry.stop_all(block=False)


@pytest.fixture
def start() -> Iterator[Callable[..., SupervisionTree]]:
    """Start a tree that is stopped after the test."""
    trees: list[SupervisionTree] = []

    def _start(
        spec: SupervisorSpec,
        name: str = "root",
        listeners: Sequence[Callable[[SupervisorEvent], None]] = (),
        **kw: Any,
    ) -> SupervisionTree:
        tree = start_tree(spec, name=name, listeners=listeners, **kw)
        trees.append(tree)
        return tree

    yield _start
    for tree in trees:
        tree.stop(timeout=5.0)
