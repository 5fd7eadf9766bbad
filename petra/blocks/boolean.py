"""Boolean logic: AND, OR, XOR (variadic) and NOT, all inline expressions."""

from __future__ import annotations

from collections.abc import Mapping

from petra.blocks._support import family, wrap
from petra.blocks.base import Block, Port, Variadic, block_type
from petra.values import DataType

BOOL = DataType.BOOL
_OUT = (Port("out", BOOL),)


@block_type
class And(Block):
    """True when every input is true (in1..inN, 2..16 inputs).

    Uses Python `and`, which short-circuits and, for bool inputs, yields a bool.
    """

    type_name = "AND"
    variadic = Variadic("in", BOOL)
    outputs = _OUT

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        return {"out": "(" + " and ".join(family(args, self.variadic)) + ")"}


@block_type
class Or(Block):
    """True when at least one input is true (in1..inN, 2..16 inputs)."""

    type_name = "OR"
    variadic = Variadic("in", BOOL)
    outputs = _OUT

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        return {"out": "(" + " or ".join(family(args, self.variadic)) + ")"}


@block_type
class Xor(Block):
    """Odd parity: true when an odd number of inputs is true (in1..inN, 2..16).

    This is the IEC 61131-3 extensible XOR (a chain of two-input XORs); it is
    *not* "exactly one input true".
    """

    type_name = "XOR"
    variadic = Variadic("in", BOOL)
    outputs = _OUT

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        return {"out": "(" + " ^ ".join(family(args, self.variadic)) + ")"}


@block_type
class Not(Block):
    """The inverse of `in`."""

    type_name = "NOT"
    inputs = (Port("in", BOOL),)
    outputs = _OUT

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        return {"out": f"(not {wrap(args['in'])})"}
