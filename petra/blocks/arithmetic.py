"""Arithmetic: ADD, MUL (variadic), SUB, DIV, ABS and SCALE, all inline expressions.

Results follow Python's numeric tower, which is the widest-input rule of the
contract: bool + bool is int, int + float is float.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from petra.blocks._support import NumericBlock, family, wrap
from petra.blocks.base import NUMERIC, Block, BlockParamError, Param, Port, Variadic, block_type
from petra.values import DataType

_OUT = (Port("out", NUMERIC),)
_TWO = (Port("in1", NUMERIC), Port("in2", NUMERIC))


@block_type
class Add(NumericBlock):
    """Sum of in1..inN (2..16 inputs); the output has the widest input type."""

    type_name = "ADD"
    variadic = Variadic("in", NUMERIC)
    outputs = _OUT

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        return {"out": "(" + " + ".join(family(args, self.variadic)) + ")"}


@block_type
class Mul(NumericBlock):
    """Product of in1..inN (2..16 inputs); the output has the widest input type."""

    type_name = "MUL"
    variadic = Variadic("in", NUMERIC)
    outputs = _OUT

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        return {"out": "(" + " * ".join(family(args, self.variadic)) + ")"}


@block_type
class Sub(NumericBlock):
    """in1 - in2; the output has the widest input type."""

    type_name = "SUB"
    inputs = _TWO
    outputs = _OUT

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        return {"out": f"({wrap(args['in1'])} - {wrap(args['in2'])})"}


def _is_float(t: DataType | None) -> bool:
    return t not in (DataType.INT, DataType.BOOL)


@block_type
class Div(NumericBlock):
    """in1 / in2; a zero divisor gives out 0 (0.0 for float) and error true.

    Two ints divide as IEC integer division, truncating toward zero
    (-7 / 2 = -3, unlike Python's floor division); any float input gives a
    float quotient. A NaN divisor is not zero: the quotient is NaN and error
    false. When the compiler has told the block its input types (via
    `output_types`), the expression is specialised for int or float; otherwise
    it decides at run time from the values.
    """

    type_name = "DIV"
    inputs = _TWO
    outputs = (Port("out", NUMERIC), Port("error", DataType.BOOL))

    def result_type(self, input_types: Mapping[str, DataType]) -> DataType:
        if _is_float(input_types.get("in1")) or _is_float(input_types.get("in2")):
            return DataType.FLOAT
        return DataType.INT

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        a, b = wrap(args["in1"]), wrap(args["in2"])
        integer = f"({a} // {b} if ({a} < 0) == ({b} < 0) else -(-{a} // {b}))"
        real = f"{a} / {b}"
        if self.arg_types:
            if self.result_type(self.arg_types) is DataType.INT:
                out = f"({integer} if {b} else 0)"
            else:
                out = f"({real} if {b} else 0.0)"
        else:
            floats = f"({a}.__class__ is float or {b}.__class__ is float)"
            out = f"(({real} if {floats} else {integer}) if {b} else (0.0 if {floats} else 0))"
        return {"out": out, "error": f"({b} == 0)"}


@block_type
class Abs(NumericBlock):
    """Absolute value of `in` (a bool counts as int); abs(NaN) is NaN."""

    type_name = "ABS"
    inputs = (Port("in", NUMERIC),)
    outputs = _OUT

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        return {"out": f"abs({args['in']})"}


@block_type
class Scale(Block):
    """Linear map of `in` from [in_min, in_max] to [out_min, out_max], float output.

    Ranges may be inverted (in_max < in_min or out_max < out_min). With
    `clamp` the result is limited to the output range (whichever end is
    lower); without it values outside the input range extrapolate. NaN in
    gives NaN out, clamped or not.
    """

    type_name = "SCALE"
    inputs = (Port("in", NUMERIC),)
    outputs = (Port("out", DataType.FLOAT),)
    params = (
        Param("in_min", {"type": "number"}, required=True, doc="input value mapped to out_min"),
        Param("in_max", {"type": "number"}, required=True, doc="input value mapped to out_max; != in_min"),
        Param("out_min", {"type": "number"}, required=True),
        Param("out_max", {"type": "number"}, required=True),
        Param("clamp", {"type": "boolean"}, default=False, doc="limit the output to the output range"),
    )

    @classmethod
    def validate_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        p = super().validate_params(params)
        if p["in_min"] == p["in_max"]:
            raise BlockParamError("in_max", "SCALE parameter 'in_max' must differ from 'in_min'")
        if not math.isfinite((float(p["out_max"]) - p["out_min"]) / (float(p["in_max"]) - p["in_min"])):
            raise BlockParamError("out_max", "SCALE ranges are too far apart to compute a finite gain")
        return p

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        p = self.p
        gain = (float(p["out_max"]) - p["out_min"]) / (float(p["in_max"]) - p["in_min"])
        out = f"({float(p['out_min'])!r} + ({wrap(args['in'])} - {float(p['in_min'])!r}) * {gain!r})"
        if p["clamp"]:
            low, high = sorted((float(p["out_min"]), float(p["out_max"])))
            out = f"min(max({out}, {low!r}), {high!r})"
        return {"out": out}
