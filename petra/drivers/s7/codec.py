"""Pure S7 data handling: sizes, big-endian encode/decode, scaling and read coalescing.

S7 stores every multi-byte value big-endian. A STRING[n] is two header bytes
(maximum length, actual length) followed by n characters (latin-1: a write of
any other character is refused). A bool is
one bit of a byte. Nothing here does I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from petra.drivers.coalescing import coalesce, grouped
from petra.drivers.s7.config import S7Mapping
from petra.drivers.scaling import ScaleError, raw_integer, unencodable
from petra.values import Value

PDU_OVERHEAD = 18
"""Bytes of a read response's PDU that are not payload (header, parameters, item header)."""

_STRUCTS = {
    "byte": struct.Struct(">B"),
    "word": struct.Struct(">H"),
    "int": struct.Struct(">h"),
    "dword": struct.Struct(">I"),
    "dint": struct.Struct(">i"),
    "real": struct.Struct(">f"),
    "lreal": struct.Struct(">d"),
}
_INTEGER = frozenset({"byte", "word", "int", "dword", "dint"})


class S7DecodeError(ValueError):
    """Bytes that do not hold a valid value of the mapping's type (e.g. a malformed STRING)."""


class S7EncodeError(ValueError):
    """A value that does not fit the mapping's type (out of range, not a number)."""


def size_of(data_type: str, length: int = 254) -> int:
    """Bytes a value of `data_type` occupies in the PLC."""
    if data_type == "bool":
        return 1
    if data_type == "string":
        return length + 2
    return _STRUCTS[data_type].size


def mapping_size(mapping: S7Mapping) -> int:
    return size_of(mapping.data_type, mapping.length)


def decode(data_type: str, data: bytes | bytearray, offset: int = 0, bit: int = 0, length: int = 254) -> Value:
    """The raw (unscaled) value at `offset` of `data`."""
    if data_type == "bool":
        return bool(data[offset] >> bit & 1)
    if data_type == "string":
        if len(data) < offset + 2:
            raise S7DecodeError("STRING header missing")
        declared, actual = data[offset], data[offset + 1]
        if actual > declared or actual > length or offset + 2 + actual > len(data):
            raise S7DecodeError(f"STRING length {actual} exceeds its maximum {min(declared, length)}")
        return bytes(data[offset + 2: offset + 2 + actual]).decode("latin-1")
    fmt = _STRUCTS[data_type]
    if len(data) < offset + fmt.size:
        raise S7DecodeError(f"{data_type} needs {fmt.size} bytes at {offset}, have {len(data) - offset}")
    return fmt.unpack_from(data, offset)[0]


def encode(data_type: str, value: Value, length: int = 254) -> bytes:
    """Bytes of `value` (raw, unscaled). A bool gives one byte 0/1: see `set_bit`.

    An integer type takes a float rounded half to even (`raw_integer`, as an int
    signal would); text outside latin-1 is refused, not replaced.
    """
    if data_type == "bool":
        return b"\x01" if value else b"\x00"
    if data_type == "string":
        text = str(value)
        if len(text) > length:
            raise S7EncodeError(f"string of {len(text)} characters exceeds STRING[{length}]")
        why = unencodable(text, "latin-1", "an S7 STRING")
        if why is not None:
            raise S7EncodeError(why)
        return bytes([length, len(text)]) + text.encode("latin-1") + bytes(length - len(text))
    fmt = _STRUCTS[data_type]
    if isinstance(value, str):
        raise S7EncodeError(f"{data_type} needs a number, got {value!r}")
    number: float | int = value
    if data_type in _INTEGER:
        try:
            return fmt.pack(raw_integer(number))
        except (struct.error, OverflowError) as exc:
            raise S7EncodeError(f"{value!r} does not fit {data_type}") from exc
        except ValueError as exc:
            raise S7EncodeError(str(exc)) from None
    try:
        return fmt.pack(float(number))
    except (struct.error, OverflowError) as exc:
        raise S7EncodeError(f"{value!r} does not fit {data_type}") from exc


def set_bit(byte: int, bit: int, on: bool) -> int:
    """`byte` with `bit` set or cleared."""
    return byte | (1 << bit) if on else byte & ~(1 << bit) & 0xFF


def to_signal(mapping: S7Mapping, raw: Value) -> Value:
    """Raw device value -> signal value: raw * factor + offset (numbers only; `petra.drivers.scaling`)."""
    return mapping.scale.to_signal(raw)


def to_raw(mapping: S7Mapping, value: Value) -> Value:
    """Signal value -> raw device value (the inverse of `to_signal`)."""
    try:
        return mapping.scale.to_raw(value)
    except ScaleError as exc:
        raise S7EncodeError(str(exc)) from None


@dataclass(frozen=True)
class ReadRequest:
    """One read of `size` bytes at `start` of one area/DB, serving the mappings in `members`."""

    area: str
    db_number: int
    start: int
    size: int
    members: tuple[int, ...]


def plan_reads(mappings: Sequence[S7Mapping], pdu_size: int = 480, max_gap: int | None = None) -> list[ReadRequest]:
    """The fewest byte-range reads that cover every mapping, each within one PDU's payload.

    Mappings are grouped by area and DB, sorted by address and merged greedily
    while the merged range still fits `pdu_size - 18` bytes and the hole between
    two neighbours is at most `max_gap` bytes (None: any hole that fits). Reading
    a hole costs payload bytes on the wire; another request costs a round trip.
    A single mapping larger than the payload gets a request of its own (the
    client splits it). `members` are indices into `mappings`.
    """
    payload = pdu_size - PDU_OVERHEAD
    if payload < 1:
        raise ValueError(f"PDU size {pdu_size} leaves no payload")

    def span(index: int) -> tuple[int, int]:
        return mappings[index].address, mappings[index].address + mapping_size(mappings[index])

    keys = ((m.area, m.db_number if m.area == "DB" else 0) for m in mappings)
    return [ReadRequest(area, db, run.start, run.size, run.members)
            for (area, db), members in grouped(keys)
            for run in coalesce(members, span, payload, max_gap)]
