"""Linear scaling of a driver mapping, shared by S7 and Modbus: signal = raw * factor + offset.

With it, what both drivers do to a value on its way to the device: the
integer an integer field gets (`raw_integer`) and the text a string field
refuses (`unencodable`).

The documented spelling is a mapping, ``scale: {factor: 0.1, offset: -5}``.
The flat spelling Modbus configs have used, ``scale: 0.1`` with ``offset: -5``
beside it, is accepted by both drivers too; giving a mapping `scale` and a
flat `offset` at once is an error at the `offset` line (the schema says so).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from petra.config.schema_builders import Schema, number
from petra.config.settings import schema_of, setting
from petra.values import CoercionError, DataType, Value, coerce


class ScaleError(ValueError):
    """A signal value that cannot be turned back into a raw value (factor 0)."""


@dataclass(frozen=True)
class Scale:
    """signal = raw * factor + offset; the identity unless a mapping says otherwise."""

    factor: float = setting(1.0)
    offset: float = setting(0.0)

    @property
    def identity(self) -> bool:
        return self.factor == 1.0 and self.offset == 0.0

    def to_signal(self, raw: Value) -> Value:
        """Raw device value -> signal value (numbers only; bools and strings pass through)."""
        if not self.identity and isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return raw * self.factor + self.offset
        return raw

    def to_raw(self, value: Value) -> Value:
        """Signal value -> raw device value (the inverse of `to_signal`)."""
        if not self.identity and isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.factor == 0:
                raise ScaleError("scale factor 0 cannot be inverted")
            return (value - self.offset) / self.factor
        return value


def raw_integer(value: int | float) -> int:
    """The integer an integer device field gets for a (scaled back) number: what an int signal would hold.

    The rule is `petra.values.coerce`'s, so a driver write and a signal agree: a
    float rounds to the nearest integer, half to even (2.5 -> 2, 3.5 -> 4,
    -2.5 -> -2; IEEE 754's default). Rounding, not refusing, because a scaled
    write is rarely integral in binary: (0.3 - 0) / 0.1 is 2.9999999999999996.
    ValueError for NaN and infinity; OverflowError past the signed 64-bit range.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not an integer")
    try:
        return int(coerce(value, DataType.INT))
    except CoercionError as exc:
        raise OverflowError(str(exc)) from None


def unencodable(text: str, encoding: str, what: str) -> str | None:
    """Why `text` cannot be written as `what` (a device string of `encoding`), or None when it can.

    Text the device cannot hold is refused, like any other value that does not
    fit, rather than written with '?' in place of what it cannot hold.
    """
    try:
        text.encode(encoding)
    except UnicodeEncodeError as exc:
        char = text[exc.start]
        return (f"character {exc.start} of the string, {char!r} (U+{ord(char):04X}), is not {encoding}: "
                f"{what} holds {encoding} characters only")
    return None


SCALE_DOC = "signal = raw * factor + offset"


SCALE_SCHEMA: Schema = {"oneOf": [schema_of(Scale, SCALE_DOC),
                                   number("The factor alone (flat spelling; offset: beside it).")]}
"""The `scale` of a mapping (declare it ``setting(default_factory=Scale, doc=SCALE_DOC, schema=SCALE_SCHEMA)``)."""


def with_flat_offset(mapping_schema: Schema) -> Schema:
    """`mapping_schema` (a driver mapping's object) also accepting the flat `offset` key.

    A flat `offset` is refused when `scale` is a mapping: the offset goes inside it.
    """
    properties = {**mapping_schema["properties"],
                  "offset": number("Flat spelling of scale.offset, beside a number scale.")}
    both = {"if": {"properties": {"scale": {"type": "object"}}, "required": ["scale"]},
            "then": {"properties": {"offset": {
                "not": {},
                "description": "offset is given twice: put it inside scale: {factor, offset}, "
                               "or write scale as a number with offset beside it",
            }}}}
    return {**mapping_schema, "properties": properties, "allOf": [*mapping_schema.get("allOf", []), both]}


def terms_of(item: Mapping[str, Any]) -> tuple[Any, Any]:
    """(factor, offset) as written in a mapping's dict, in either spelling; None where absent."""
    scale = item.get("scale")
    if isinstance(scale, Mapping):
        return scale.get("factor"), scale.get("offset")
    return scale, item.get("offset")


def uninvertible(item: Mapping[str, Any]) -> tuple[tuple[str, ...], str] | None:
    """Where (below the mapping) and why a mapping that writes to its device has a scale no write can pass.

    A write sends raw = (value - offset) / factor: with factor 0 every write
    would be refused at runtime, so the config is refused instead (None: fine).
    """
    if item.get("direction", "read") not in ("write", "read_write"):
        return None
    factor, _ = terms_of(item)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor != 0:
        return None
    where = ("scale", "factor") if isinstance(item.get("scale"), Mapping) else ("scale",)
    return where, (f"the {item.get('direction')} mapping of signal '{item.get('signal')}' has scale factor 0, "
                   "which cannot be inverted to write to the device (raw = (value - offset) / factor): "
                   "give a factor other than 0, or direction: read")


def nested(item: Mapping[str, Any]) -> dict[str, Any]:
    """A validated mapping dict with the flat spelling rewritten as ``scale: {factor, offset}``."""
    out = dict(item)
    if "offset" in out or not isinstance(out.get("scale", {}), Mapping):
        factor, offset = terms_of(out)
        out.pop("offset", None)
        out["scale"] = {"factor": 1.0 if factor is None else factor, "offset": 0.0 if offset is None else offset}
    return out
