"""Helpers shared by the block modules: building inline expressions and typing outputs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from petra.blocks.base import Block, Variadic
from petra.values import DataType

_ATOM = re.compile(r"^[A-Za-z_][\w.]*(\[\w+\])*$|^\d[\w.]*$")
_RANK = {DataType.BOOL: 0, DataType.INT: 1, DataType.FLOAT: 2, DataType.STRING: 3}


def wrap(code: str) -> str:
    """`code` in parentheses unless it is already an atom (a name, `v[3]`, `75.0`)."""
    return code if _ATOM.match(code) else f"({code})"


def family(args: Mapping[str, str], variadic: Variadic) -> list[str]:
    """The wrapped argument codes of a variadic family in numeric order."""
    numbered = sorted(
        (index, code) for name, code in args.items() if (index := variadic.index_of(name)) is not None
    )
    return [wrap(code) for _, code in numbered]


def widest(types: Iterable[DataType | None], minimum: DataType = DataType.BOOL) -> DataType:
    """The widest of `types` (bool < int < float < string), at least `minimum`; FLOAT if none."""
    found = [t for t in types if t in _RANK]
    if not found:
        return DataType.FLOAT
    best = max(found, key=_RANK.__getitem__)
    return best if _RANK[best] >= _RANK[minimum] else minimum


class TypedBlock(Block):
    """A stateless block whose expressions depend on the types of its inputs.

    The chain compiler calls `output_types()` before `expressions()` on the same
    instance; `output_types()` stores the input types in `arg_types` so
    `expressions()` can convert a result that would otherwise not match the
    declared output type (e.g. MAX of an int and a float picking the int).
    Without that call the expressions are still correct, just not converted.
    """

    arg_types: dict[str, DataType]

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self.arg_types = {}

    def data_ports(self, names: Iterable[str]) -> list[str]:
        """The subset of `names` that carries the data whose type the result takes."""
        return list(names)

    def result_type(self, input_types: Mapping[str, DataType]) -> DataType:
        """Type of the data output: the widest data input, bool counted as int for arithmetic."""
        return widest(input_types[n] for n in self.data_ports(input_types))

    def output_types(self, input_types: Mapping[str, DataType]) -> dict[str, DataType]:
        self.arg_types = dict(input_types)
        result = {}
        for port in self.outputs:
            if isinstance(port.type, DataType):
                result[port.name] = port.type
            else:
                result[port.name] = self.result_type(input_types)
        return result

    def cast(self, code: str, ports: Iterable[str]) -> str:
        """`code` converted to the result type when some of `ports` carry another type."""
        if not self.arg_types:
            return code
        target = self.result_type(self.arg_types)
        if all(self.arg_types.get(p) == target for p in ports):
            return code
        converter = {DataType.FLOAT: "float", DataType.INT: "int", DataType.STRING: "str"}.get(target)
        return f"{converter}({code})" if converter else code


class NumericBlock(TypedBlock):
    """A TypedBlock whose result is numeric: bool inputs count as int."""

    def result_type(self, input_types: Mapping[str, DataType]) -> DataType:
        return widest((input_types[n] for n in self.data_ports(input_types)), minimum=DataType.INT)
