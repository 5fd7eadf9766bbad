"""Selection (IEC 61131-3 selection functions): SELECT, MUX, MIN, MAX, LIMIT and MOVE.

All are inline expressions. The output takes the widest type of the data
inputs (bool < int < float < string); when the inputs are mixed the expression
converts the chosen value so it always matches that declared type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from petra.blocks._support import TypedBlock, family, wrap
from petra.blocks.base import ANY, NUMERIC, Port, Variadic, block_type
from petra.values import DataType


@block_type
class Move(TypedBlock):
    """Copies `in` to `out` unchanged (any scalar type)."""

    type_name = "MOVE"
    inputs = (Port("in", ANY),)
    outputs = (Port("out", ANY),)

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        return {"out": wrap(args["in"])}


@block_type
class Select(TypedBlock):
    """IEC SEL: `in1` when g is true, else `in0`."""

    type_name = "SELECT"
    inputs = (Port("g", DataType.BOOL), Port("in0", ANY), Port("in1", ANY))
    outputs = (Port("out", ANY),)

    def data_ports(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n != "g"]

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        out = f"({wrap(args['in1'])} if {wrap(args['g'])} else {wrap(args['in0'])})"
        return {"out": self.cast(out, ("in0", "in1"))}


@block_type
class Mux(TypedBlock):
    """IEC MUX: `out` is input number k of in0..inN (2..16); k out of range clamps and sets error.

    k below 0 selects in0, k above the last index selects the last input, and
    `error` is true in both cases. k counts the connected data inputs in
    order, so a config should number them from in0 without gaps.
    """

    type_name = "MUX"
    inputs = (Port("k", DataType.INT),)
    variadic = Variadic("in", ANY, start=0)
    outputs = (Port("out", ANY), Port("error", DataType.BOOL))

    def data_ports(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n != "k"]

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        k = wrap(args["k"])
        codes = family(args, self.variadic)
        last = len(codes) - 1
        branches = [f"{codes[0]} if {k} <= 0 else "]
        branches += [f"{code} if {k} == {i} else " for i, code in enumerate(codes[1:last], start=1)]
        out = "(" + "".join(branches) + codes[last] + ")"
        data = [n for n in args if n != "k"]
        return {"out": self.cast(out, data), "error": f"({k} < 0 or {k} > {last})"}


class _Extreme(TypedBlock):
    variadic = Variadic("in", NUMERIC)
    outputs = (Port("out", NUMERIC),)
    function = ""
    operator = ""

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        codes = family(args, self.variadic)
        if len(codes) == 2:
            a, b = codes
            out = f"({b} if {a} != {a} or {b} {self.operator} {a} else {a})"
        else:
            listed = ", ".join(codes)
            no_nan = " and ".join(f"{c} == {c}" for c in codes)
            skipping = f"{self.function}((x for x in ({listed}) if x == x), default={codes[0]})"
            out = f"({self.function}({listed}) if {no_nan} else {skipping})"
        return {"out": self.cast(out, [n for n in args if self.variadic.index_of(n) is not None])}


@block_type
class Min(_Extreme):
    """Smallest of in1..inN (2..16); NaN inputs are ignored unless all are NaN (then NaN)."""

    type_name = "MIN"
    function = "min"
    operator = "<"


@block_type
class Max(_Extreme):
    """Largest of in1..inN (2..16); NaN inputs are ignored unless all are NaN (then NaN)."""

    type_name = "MAX"
    function = "max"
    operator = ">"


@block_type
class Limit(TypedBlock):
    """IEC LIMIT: `in` limited to [mn, mx], computed as MIN(MAX(in, mn), mx).

    As in IEC, mn > mx yields mx. A NaN `in` passes through as NaN; a NaN
    limit is ignored (that side is unlimited).
    """

    type_name = "LIMIT"
    inputs = (Port("mn", NUMERIC), Port("in", NUMERIC), Port("mx", NUMERIC))
    outputs = (Port("out", NUMERIC),)

    def expressions(self, args: Mapping[str, str]) -> dict[str, str]:
        out = f"min(max({args['in']}, {args['mn']}), {args['mx']})"
        return {"out": self.cast(out, ("mn", "in", "mx"))}
