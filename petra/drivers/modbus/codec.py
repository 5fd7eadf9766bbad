"""Pure Modbus data handling: registers <-> values with byte and word order, scaling, coalescing.

A register is 16 bits. `byte_order` is the order of the two bytes inside each
register, `word_order` the order of the registers of a 32/64-bit value
("big"/"big" is the Modbus convention: most significant first). Strings hold
two characters per register and honour `byte_order`, ASCII only; a string read
ends at its first NUL (devices pad with NULs; what follows one is not text), so a
write with a NUL, or with a character outside ASCII, is refused.
Nothing here does I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from petra.drivers.coalescing import coalesce, grouped
from petra.drivers.modbus.config import ModbusMapping
from petra.drivers.scaling import ScaleError, raw_integer, unencodable
from petra.values import Value

MAX_REGISTERS = 125
"""Registers one read may return (Modbus application protocol, 6.3/6.4)."""
MAX_BITS = 2000
"""Coils or discrete inputs one read may return (6.1/6.2)."""

_FORMATS = {
    "int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "int64": ">q",
    "float32": ">f", "float64": ">d",
}
_INTEGER = frozenset({"int16", "uint16", "int32", "uint32", "int64"})


class ModbusDecodeError(ValueError):
    """Registers that do not hold a value of the mapping's type (too few, bad text)."""


class ModbusEncodeError(ValueError):
    """A value that does not fit the mapping's type."""


def register_count(data_type: str, length: int = 1) -> int:
    """Registers a value occupies (bool in a register table takes one)."""
    if data_type == "string":
        return length
    if data_type == "bool":
        return 1
    return struct.calcsize(_FORMATS[data_type]) // 2


def mapping_width(mapping: ModbusMapping) -> int:
    """Addresses a mapping occupies in its table: 1 for a bit, else its registers."""
    return 1 if mapping.is_bit else register_count(mapping.data_type, mapping.length)


def _to_bytes(registers: Sequence[int], byte_order: str, word_order: str) -> bytes:
    words = list(registers)
    if word_order == "little":
        words.reverse()
    data = bytearray()
    for word in words:
        pair = (word & 0xFFFF).to_bytes(2, "big")
        data += pair[::-1] if byte_order == "little" else pair
    return bytes(data)


def _to_registers(data: bytes, byte_order: str, word_order: str) -> list[int]:
    words = []
    for index in range(0, len(data), 2):
        pair = data[index:index + 2]
        words.append(int.from_bytes(pair[::-1] if byte_order == "little" else pair, "big"))
    if word_order == "little":
        words.reverse()
    return words


def decode(data_type: str, registers: Sequence[int], byte_order: str = "big", word_order: str = "big",
           length: int = 1) -> Value:
    """The raw (unscaled) value held by `registers`."""
    needed = register_count(data_type, length)
    if len(registers) < needed:
        raise ModbusDecodeError(f"{data_type} needs {needed} registers, got {len(registers)}")
    registers = registers[:needed]
    if data_type == "bool":
        return registers[0] != 0
    if data_type == "string":
        raw = _to_bytes(registers, byte_order, "big").split(b"\x00", 1)[0]
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ModbusDecodeError(f"string registers hold non-ASCII bytes: {raw!r}") from exc
    return struct.unpack(_FORMATS[data_type], _to_bytes(registers, byte_order, word_order))[0]


def encode(data_type: str, value: Value, byte_order: str = "big", word_order: str = "big",
           length: int = 1) -> list[int]:
    """Registers that hold `value` (raw, unscaled).

    An integer type takes a float rounded half to even (`raw_integer`, as an int
    signal would); text outside ASCII, or with a NUL, is refused, not replaced.
    """
    if data_type == "bool":
        return [1 if value else 0]
    if data_type == "string":
        text = str(value)
        if len(text) > 2 * length:
            raise ModbusEncodeError(f"string of {len(text)} characters exceeds {length} registers")
        why = unencodable(text, "ascii", "a Modbus string")
        nul = text.find("\x00")
        if why is None and nul >= 0:
            why = f"character {nul} of the string is NUL, which ends a Modbus string: it would read {text[:nul]!r}"
        if why is not None:
            raise ModbusEncodeError(why)
        return _to_registers(text.encode("ascii").ljust(2 * length, b"\x00"), byte_order, "big")
    if isinstance(value, str):
        raise ModbusEncodeError(f"{data_type} needs a number, got {value!r}")
    number: int | float = value
    try:
        number = raw_integer(number) if data_type in _INTEGER else float(number)
        data = struct.pack(_FORMATS[data_type], number)
    except (struct.error, OverflowError) as exc:
        raise ModbusEncodeError(f"{value!r} does not fit {data_type}") from exc
    except ValueError as exc:
        raise ModbusEncodeError(str(exc)) from None
    return _to_registers(data, byte_order, word_order)


def to_signal(mapping: ModbusMapping, raw: Value) -> Value:
    """Raw device value -> signal value: raw * factor + offset (numbers only; `petra.drivers.scaling`)."""
    return mapping.scale.to_signal(raw)


def to_raw(mapping: ModbusMapping, value: Value) -> Value:
    """Signal value -> raw device value (the inverse of `to_signal`)."""
    try:
        return mapping.scale.to_raw(value)
    except ScaleError as exc:
        raise ModbusEncodeError(str(exc)) from None


@dataclass(frozen=True)
class ReadRequest:
    """One read of `count` addresses from `address` of one unit's table, serving `members`."""

    unit_id: int
    table: str
    address: int
    count: int
    members: tuple[int, ...]


def _limit(mapping: ModbusMapping) -> int:
    return MAX_BITS if mapping.is_bit else MAX_REGISTERS


def plan_reads(mappings: Sequence[ModbusMapping], max_gap: int = 16) -> list[ReadRequest]:
    """The fewest reads covering every mapping within the protocol limits.

    Mappings are grouped by unit and table, sorted by address and merged while
    the merged range stays within 125 registers (2000 bits) and the hole between
    neighbours is at most `max_gap` addresses: unlike an S7 DB, a device's
    register map may have holes that answer "illegal data address", so only
    small holes are read across. `members` are indices into `mappings`.
    """
    def span(index: int) -> tuple[int, int]:
        return mappings[index].address, mappings[index].address + mapping_width(mappings[index])

    return [ReadRequest(unit, table, run.start, run.size, run.members)
            for (unit, table), members in grouped((m.unit_id, m.table) for m in mappings)
            for run in coalesce(members, span, _limit(mappings[members[0]]), max_gap)]
