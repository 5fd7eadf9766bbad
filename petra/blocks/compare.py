"""Comparisons GT, GE, LT, LE (numbers) and EQ, NE (any scalar), inline expressions.

IEEE 754 semantics throughout: any comparison with NaN is false, except NE,
which is true (NaN is not equal to anything, itself included).
"""

from __future__ import annotations

from collections.abc import Mapping

from petra.blocks._support import wrap
from petra.blocks.base import ANY, NUMERIC, Block, Port, block_type
from petra.values import DataType


class _Compare(Block):
    operator = ""
    outputs = (Port("out", DataType.BOOL),)

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        return {"out": f"({wrap(args['in1'])} {self.operator} {wrap(args['in2'])})"}


_NUMBERS = (Port("in1", NUMERIC), Port("in2", NUMERIC))
_SCALARS = (Port("in1", ANY), Port("in2", ANY))


@block_type
class Gt(_Compare):
    """in1 > in2; false when either is NaN."""

    type_name = "GT"
    inputs = _NUMBERS
    operator = ">"


@block_type
class Ge(_Compare):
    """in1 >= in2; false when either is NaN."""

    type_name = "GE"
    inputs = _NUMBERS
    operator = ">="


@block_type
class Lt(_Compare):
    """in1 < in2; false when either is NaN."""

    type_name = "LT"
    inputs = _NUMBERS
    operator = "<"


@block_type
class Le(_Compare):
    """in1 <= in2; false when either is NaN."""

    type_name = "LE"
    inputs = _NUMBERS
    operator = "<="


@block_type
class Eq(_Compare):
    """in1 == in2 for any scalars; NaN equals nothing; 1 == 1.0 == true; a string never equals a number."""

    type_name = "EQ"
    inputs = _SCALARS
    operator = "=="


@block_type
class Ne(_Compare):
    """in1 != in2 for any scalars; true when either is NaN."""

    type_name = "NE"
    inputs = _SCALARS
    operator = "!="
