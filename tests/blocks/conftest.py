"""Evaluate blocks the way the chain compiler does, without the compiler.

`evaluate()` binds each input to a local name (or, with `literal=True`, to the
repr() of its value), tells the block its input types through
`output_types()` as the compiler does, then evals the inline expressions; a
block without expressions gets `step(now, *inputs)` in `input_ports` order.
Import the helpers with `from tests.blocks.conftest import evaluate, make`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import petra.blocks  # noqa: F401  (registers every block type)
from petra.blocks import REGISTRY, Block
from petra.values import type_of


def make(type_name: str, params: Mapping[str, Any] | None = None, connected: Iterable[str] = ()) -> Block:
    """A fresh instance of `type_name` whose config connects the inputs `connected`."""
    cls = REGISTRY.get(type_name)
    assert cls is not None, f"unknown block type {type_name}"
    ports = cls.input_ports(list(connected))
    return cls(f"test_{type_name.lower()}", dict(params or {}), [p.name for p in ports])


def evaluate(
    block: Block, inputs: Mapping[str, Any], now: float = 0.0, literal: bool = False, typed: bool = True
) -> Any:
    """One tick: a bare value for one output, a tuple in `outputs` order for several."""
    ports = block.input_ports(list(inputs))
    values = [inputs.get(p.name, p.default) for p in ports]
    if typed:
        block.output_types({p.name: type_of(v) for p, v in zip(ports, values, strict=True)})
    names = {p.name: f"arg{i}" for i, p in enumerate(ports)}
    args = {p.name: repr(v) if literal else names[p.name] for p, v in zip(ports, values, strict=True)}
    expressions = block.expressions(args)
    if expressions is None:
        return block.step(now, *values)
    env = {names[p.name]: v for p, v in zip(ports, values, strict=True)}
    results = tuple(eval(expressions[o.name], env) for o in block.outputs)
    return results[0] if len(results) == 1 else results


def run(type_name: str, inputs: Mapping[str, Any], params: Mapping[str, Any] | None = None, **kw: Any) -> Any:
    """make() + evaluate() for a stateless block, in one call."""
    return evaluate(make(type_name, params, inputs), inputs, **kw)
