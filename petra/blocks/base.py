"""The contract every block type follows, and the registry that finds them.

A block type is one class: it declares its ports and parameters (from which the
config schema and the load-time checks are generated), and either

* `expressions()`: inline Python expressions for its outputs, for stateless
  blocks, which the chain compiler pastes into the chain's generated function
  (no call, no allocation per tick); or
* `step(now, *inputs)`: a method called once per tick with the input values in
  the order of `input_names`, returning one value per output port in the order
  of `outputs` (a tuple when there are several outputs, the bare value when
  there is one).

`now` is the tick's scheduled time in seconds (monotonic). Blocks keep their
own state; timers compare `now` with what they stored, so tests drive them
with any clock they like.

A block whose inputs admit no value raises ArithmeticError or ValueError
(OverflowError, ZeroDivisionError, a math domain error, `int(inf)`): its
outputs then hold their last value with bad quality and the rest of the
chain runs on (see `petra.logic.compiler`). An int output must fit signed
64 bits; one that does not is treated the same way. Any other exception is
a bug and crashes the chain for its supervisor to restart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from petra.values import INT_MAX, INT_MIN, DataType, Value

NUMERIC = "numeric"
"""Port type for "int or float": the value is used as a number."""

ANY = "any"
"""Port type for "any scalar": e.g. the data inputs of SELECT and MUX."""

PortType = DataType | str


class BlockParamError(ValueError):
    """A block parameter that is missing, of the wrong type, or out of range.

    `param` names the parameter so the config loader can point at its line.
    """

    def __init__(self, param: str | None, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Port:
    """An input or output of a block type.

    An input with a `default` is optional; a variadic input family is declared
    on the class with `variadic` instead of here.
    """

    name: str
    type: PortType
    default: Value | None = None
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Param:
    """A parameter given under `params:`; `schema` is its JSON Schema."""

    name: str
    schema: Mapping[str, Any]
    default: Any = None
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Variadic:
    """A numbered input family: `prefix`1 .. `prefix`N with `minimum` <= N <= `maximum`."""

    prefix: str
    type: PortType
    minimum: int = 2
    maximum: int = 16
    start: int = 1

    def names(self, count: int) -> list[str]:
        return [f"{self.prefix}{i}" for i in range(self.start, self.start + count)]

    def index_of(self, name: str) -> int | None:
        """The number in `name` when it belongs to this family, else None."""
        if not name.startswith(self.prefix):
            return None
        rest = name[len(self.prefix):]
        if not rest.isdigit():
            return None
        return int(rest)


class Block:
    """Base class of all block types. Subclasses set the class attributes."""

    type_name: ClassVar[str]
    doc: ClassVar[str] = ""
    inputs: ClassVar[tuple[Port, ...]] = ()
    variadic: ClassVar[Variadic | None] = None
    outputs: ClassVar[tuple[Port, ...]] = ()
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        """`params` are validated by `validate_params` first; `input_names` lists
        the connected inputs in the order `step()` receives them."""
        self.name = name
        self.input_names = tuple(input_names)
        self.p = self.validate_params(params)

    @classmethod
    def validate_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        """Fill defaults and check every parameter; raise BlockParamError if wrong.

        Given values are checked against their `schema` by `check_param_value`.

        Subclasses extend this for cross-parameter rules (e.g. out_min < out_max).
        """
        known = {p.name for p in cls.params}
        for key in params:
            if key not in known:
                raise BlockParamError(key, f"unknown parameter '{key}' for {cls.type_name}")
        result: dict[str, Any] = {}
        for param in cls.params:
            if param.name in params:
                result[param.name] = check_param_value(cls.type_name, param, params[param.name])
            elif param.required:
                raise BlockParamError(param.name, f"{cls.type_name} needs parameter '{param.name}'")
            else:
                result[param.name] = param.default
        return result

    @classmethod
    def input_ports(cls, connected: Sequence[str]) -> list[Port]:
        """The ports for a block whose config connects the input names `connected`.

        Fixed ports come first in declaration order, then the variadic family
        in numeric order. Optional ports that are not connected are included
        too (they receive their default), so `step()` always gets every input.
        """
        ports = list(cls.inputs)
        if cls.variadic is not None:
            family = sorted(
                n for n in (cls.variadic.index_of(c) for c in connected) if n is not None
            )
            ports.extend(Port(f"{cls.variadic.prefix}{n}", cls.variadic.type) for n in family)
        return ports

    def output_types(self, input_types: Mapping[str, DataType]) -> dict[str, DataType]:
        """The type of each output given the types of the inputs.

        Ports typed NUMERIC or ANY take the "widest" input type by default
        (bool < int < float); override for anything else.
        """
        widest = _widest(input_types.values())
        result = {}
        for port in self.outputs:
            if isinstance(port.type, DataType):
                result[port.name] = port.type
            else:
                result[port.name] = widest
        return result

    def expressions(self, args: Mapping[str, str]) -> dict[str, str] | None:
        """Inline Python expressions per output port, or None to use `step()`.

        `args` maps each input port name to a Python expression that yields
        its value. Expressions must be pure: no state, no side effects.
        """
        return None

    def step(self, now: float, *inputs: Any) -> Any:
        """Evaluate one tick. Only called when `expressions()` returns None."""
        raise NotImplementedError(f"{type(self).__name__} defines neither expressions() nor step()")


_JSON_TYPES = {
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "string": "a string",
}


def check_param_value(type_name: str, param: Param, value: Any) -> Any:
    """`value` checked against the common keywords of `param.schema`.

    Covers `type` (number, integer, boolean, string), `enum`, `minimum`,
    `maximum`, `exclusiveMinimum` and `exclusiveMaximum`; numbers must be
    finite, integers fit signed 64 bits (a counter's preset becomes its cv),
    and a float with an integral value is accepted as an integer.
    Returns the value (an int for an integer-valued float); None is accepted
    for an optional parameter.
    """
    schema = param.schema
    where = f"{type_name} parameter '{param.name}'"
    if value is None and not param.required:
        return None
    kind = schema.get("type")
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BlockParamError(param.name, f"{where} must be {_JSON_TYPES[kind]}, got {value!r}")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise BlockParamError(param.name, f"{where} must be finite, got {value!r}")
            if kind == "integer":
                if not value.is_integer():
                    raise BlockParamError(param.name, f"{where} must be an integer, got {value!r}")
                value = int(value)
        if kind == "integer" and not INT_MIN <= value <= INT_MAX:  # the value may reach an int signal
            raise BlockParamError(param.name, f"{where} must fit a signed 64-bit int, got {value!r}")
        bounds = (
            ("minimum", lambda v, b: v >= b, ">="),
            ("maximum", lambda v, b: v <= b, "<="),
            ("exclusiveMinimum", lambda v, b: v > b, ">"),
            ("exclusiveMaximum", lambda v, b: v < b, "<"),
        )
        for keyword, ok, symbol in bounds:
            if keyword in schema and not ok(value, schema[keyword]):
                message = f"{where} must be {symbol} {schema[keyword]}, got {value!r}"
                raise BlockParamError(param.name, message)
    elif kind == "boolean" and not isinstance(value, bool):
        raise BlockParamError(param.name, f"{where} must be true or false, got {value!r}")
    elif kind == "string" and not isinstance(value, str):
        raise BlockParamError(param.name, f"{where} must be a string, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(repr(c) for c in schema["enum"])
        raise BlockParamError(param.name, f"{where} must be one of {choices}, got {value!r}")
    return value


def _widest(types: Any) -> DataType:
    order = {DataType.BOOL: 0, DataType.INT: 1, DataType.FLOAT: 2}
    best = DataType.BOOL
    found = False
    for t in types:
        if t not in order:
            continue
        found = True
        if order[t] > order[best]:
            best = t
    return best if found else DataType.FLOAT


@dataclass
class BlockRegistry:
    """Block types by their YAML name (upper case, e.g. "TON")."""

    types: dict[str, type[Block]] = field(default_factory=dict)

    def register(self, cls: type[Block]) -> type[Block]:
        name = cls.type_name
        if name in self.types and self.types[name] is not cls:
            raise ValueError(f"block type {name} registered twice")
        self.types[name] = cls
        return cls

    def get(self, name: str) -> type[Block] | None:
        return self.types.get(name)

    def names(self) -> list[str]:
        return sorted(self.types)


REGISTRY = BlockRegistry()


def block_type(cls: type[Block]) -> type[Block]:
    """Class decorator: register a block type under its `type_name`.

    A class that leaves `doc` empty gets the first line of its docstring.
    """
    if not cls.__dict__.get("doc") and cls.__doc__:
        cls.doc = cls.__doc__.strip().splitlines()[0]
    return REGISTRY.register(cls)
