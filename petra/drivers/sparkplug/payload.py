"""Sparkplug B payloads: PETRA values as metrics and back, over the generated `sparkplug_b_pb2`.

Data types (Sparkplug B's numbering): a PETRA bool is Boolean (11), an int
Int64 (4, carried in ``long_value`` as its 64-bit two's complement, as the
specification says), a float Double (10), a string String (12). Quality has
no field of its own in Sparkplug: it is the metric property ``Quality``
(Int32), with the OPC DA codes SCADA hosts read (192 good, 64 uncertain,
0 bad), in every birth and in data whenever a signal is not good or has just
become good again. Engineering units are the property ``engUnit`` (String) in
births.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

from petra.drivers.sparkplug import sparkplug_b_pb2 as pb
from petra.values import DataType, Quality

INT32, INT64, UINT64, DOUBLE, BOOLEAN, STRING = 3, 4, 8, 10, 11, 12
DATATYPES: dict[DataType, int] = {DataType.BOOL: BOOLEAN, DataType.INT: INT64, DataType.FLOAT: DOUBLE,
                                  DataType.STRING: STRING}
QUALITY_CODES: dict[int, int] = {Quality.GOOD: 192, Quality.UNCERTAIN: 64, Quality.BAD: 0}
_U64 = 1 << 64

Payload: Any = pb.Payload  # type: ignore[attr-defined]  # generated: no static attributes
MetricMessage = Any
"""A `Payload.Metric` (protobuf's generated classes have no static types)."""


class PayloadError(ValueError):
    """A payload or metric PETRA cannot accept: malformed protobuf, unknown metric, wrong data type."""


def now_ms(seconds: float) -> int:
    return round(seconds * 1000)


def set_value(metric: MetricMessage, datatype: int, value: Any) -> None:
    """Put `value` into the field `datatype` uses (bool before int: a bool is an int in Python)."""
    if value is None:
        metric.is_null = True
    elif datatype == BOOLEAN:
        metric.boolean_value = bool(value)
    elif datatype in (INT64, UINT64):
        metric.long_value = int(value) % _U64
    elif datatype == INT32:
        metric.int_value = int(value) % (1 << 32)
    elif datatype == DOUBLE:
        metric.double_value = float(value)
    elif datatype == STRING:
        metric.string_value = str(value)
    else:
        raise PayloadError(f"data type {datatype} is not one PETRA publishes")


_FIELD_OF = {BOOLEAN: "boolean_value", INT64: "long_value", UINT64: "long_value", DOUBLE: "double_value",
             STRING: "string_value", INT32: "int_value"}


def value_of(metric: MetricMessage, datatype: int) -> Any:
    """The value a metric of `datatype` carries; PayloadError when it carries another field or none."""
    if metric.HasField("is_null") and metric.is_null:
        return None
    field = metric.WhichOneof("value")
    expected = _FIELD_OF.get(datatype)
    if expected is None:
        raise PayloadError(f"data type {datatype} is not one PETRA accepts")
    if field != expected:
        raise PayloadError(f"a {datatype_name(datatype)} metric carries {field or 'no value'}")
    raw = getattr(metric, field)
    if datatype == INT64 and raw >= 1 << 63:
        return raw - _U64
    if datatype == INT32 and raw >= 1 << 31:
        return raw - (1 << 32)
    return raw


def datatype_name(datatype: int) -> str:
    return {INT32: "Int32", INT64: "Int64", UINT64: "UInt64", DOUBLE: "Double", BOOLEAN: "Boolean",
            STRING: "String"}.get(datatype, f"type {datatype}")


def add_properties(metric: MetricMessage, items: Iterable[tuple[str, int, Any]]) -> None:
    """Properties as (key, datatype, value)."""
    props = metric.properties
    for key, datatype, value in items:
        props.keys.append(key)
        prop = props.values.add()
        prop.type = datatype
        if datatype == STRING:
            prop.string_value = str(value)
        elif datatype == INT32:
            prop.int_value = int(value) % (1 << 32)
        elif datatype == BOOLEAN:
            prop.boolean_value = bool(value)
        else:
            raise PayloadError(f"property type {datatype} not used by PETRA")


def properties_of(metric: MetricMessage) -> dict[str, Any]:
    """A metric's properties as a dict (for hosts and tests)."""
    out: dict[str, Any] = {}
    if not metric.HasField("properties"):
        return out
    for key, prop in zip(metric.properties.keys, metric.properties.values, strict=False):
        field = prop.WhichOneof("value")
        out[key] = None if field is None else getattr(prop, field)
    return out


def quality_of(metric: MetricMessage) -> Quality:
    """The quality a metric's ``Quality`` property says (good when it has none)."""
    code = properties_of(metric).get("Quality")
    if code is None or code >= 192:
        return Quality.GOOD
    return Quality.UNCERTAIN if code >= 64 else Quality.BAD


def decode(data: bytes) -> Any:
    """A received payload; PayloadError when it is not a Sparkplug B protobuf."""
    payload = Payload()
    try:
        payload.ParseFromString(data)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise PayloadError(f"malformed Sparkplug B payload ({len(data)} bytes): {exc}") from None
    return payload
