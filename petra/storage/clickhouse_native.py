"""Columnar inserts straight from Arrow: ClickHouse's native block encoding built with pyarrow compute, no row objects.

clickhouse-driver turns every inserted value into a Python object and packs it
again (~1 µs a row for the ten columns of a sample: ~90k rows/s). The native
protocol's column layout is what Arrow already holds:

* fixed-width numbers (Int64, UInt64, Float64, UInt8, Int8, Enum8's Int8): the
  little-endian values, one after the other (an Arrow values buffer);
* ``Nullable(T)``: one byte per row (1 = NULL), then T's column with any value
  in the NULL rows;
* ``String``: per row a LEB128 varint length and the UTF-8 bytes.

Strings are dictionary-encoded (signal and node names repeat): each distinct
value is framed once in Python, and ``pc.take`` lays the framed values out in
row order, so the column is one contiguous Arrow buffer.

`insert_arrow` speaks the insert through the driver's own connection (query,
sample block, data packet, end of data) and writes only the data block itself.
The sample block the server sends names each column's type; a type this module
does not encode (an administrator's ``LowCardinality(String)``, say) makes that
insert go through the driver's ordinary columnar path instead, so it still works.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import pyarrow.compute as pc
from clickhouse_driver.block import BlockInfo, ColumnOrientedBlock
from clickhouse_driver.protocol import ClientPacketTypes
from clickhouse_driver.varint import write_varint
from clickhouse_driver.writer import write_binary_str, write_binary_uint8

from petra.storage.arrow import pa

_REV_TEMPORARY_TABLES = 50264
_REV_BLOCK_INFO = 51903
_REV_CUSTOM_SERIALIZATION = 54454
_MAX_BLOCK_ROWS = 1_048_576  # the driver's insert_block_size: the server expects blocks no bigger

_FIXED: dict[str, pa.DataType] = {
    "Int8": pa.int8(), "UInt8": pa.uint8(), "Int16": pa.int16(), "UInt16": pa.uint16(),
    "Int32": pa.int32(), "UInt32": pa.uint32(), "Int64": pa.int64(), "UInt64": pa.uint64(),
    "Float32": pa.float32(), "Float64": pa.float64(),
}
_ENUM_ITEM = re.compile(r"'((?:[^'\\]|\\.)*)'\s*=\s*(-?\d+)")

Encoder = Callable[[pa.Array], list[bytes]]
_SMALL = [bytes((n,)) for n in range(0x80)]
_FRAMED_CACHE: dict[str, bytes] = {}
_FRAMED_CACHE_MAX = 200_000
"""Framed names seen before (signal and node names recur in every batch); cleared when it grows past the max."""


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _SMALL[n]
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _buffer_bytes(arr: pa.Array, width: int) -> memoryview:
    """The values of a fixed-width array without nulls, as the bytes of its data buffer."""
    data = arr.buffers()[1]
    assert data is not None
    return memoryview(data)[arr.offset * width:(arr.offset + len(arr)) * width]


def _fixed_encoder(arrow_type: pa.DataType) -> Encoder:
    width = arrow_type.bit_width // 8

    def encode(arr: pa.Array) -> list[bytes]:
        if pa.types.is_timestamp(arr.type):
            arr = arr.cast(pa.int64())
        if arr.type != arrow_type:
            arr = pc.cast(arr, arrow_type)
        if arr.null_count:
            arr = pc.fill_null(arr, pa.scalar(0, arrow_type))
        return [bytes(_buffer_bytes(arr, width))]

    return encode


def _framed(values: pa.Array) -> pa.Array:
    """Each distinct string as varint length + UTF-8 bytes (a NULL entry as the empty string)."""
    cache = _FRAMED_CACHE
    if len(cache) > _FRAMED_CACHE_MAX:
        cache.clear()
    framed = []
    for value in values.to_pylist():
        hit = cache.get(value) if isinstance(value, str) else None
        if hit is None:
            raw = b"" if value is None else value.encode() if isinstance(value, str) else bytes(value)
            hit = _varint(len(raw)) + raw
            if isinstance(value, str) and len(raw) <= 256:
                cache[value] = hit
        framed.append(hit)
    return pa.array(framed, pa.large_binary())


def _string_column(arr: pa.Array) -> bytes:
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    framed = _framed(arr.dictionary)
    indices = arr.indices
    if indices.null_count:  # a NULL row is framed as the empty string, one entry past the dictionary
        framed = pa.concat_arrays([framed, pa.array([b"\x00"], pa.large_binary())])
        indices = pc.fill_null(indices, pa.scalar(len(framed) - 1, indices.type))
    laid_out = pc.take(framed, indices)
    offsets = laid_out.buffers()[1]
    data = laid_out.buffers()[2]
    assert offsets is not None
    bounds = memoryview(offsets).cast("q")
    start, end = bounds[laid_out.offset], bounds[laid_out.offset + len(laid_out)]
    return b"" if data is None else bytes(memoryview(data)[start:end])


def _string_encoder(arr: pa.Array) -> list[bytes]:
    return [_string_column(arr)]


def _enum_encoder(spec: str) -> Encoder:
    names = {match.group(1).replace("\\'", "'"): int(match.group(2)) for match in _ENUM_ITEM.finditer(spec)}

    def encode(arr: pa.Array) -> list[bytes]:
        if not pa.types.is_dictionary(arr.type):
            arr = pc.dictionary_encode(arr)
        try:
            mapping = pa.array([names[v] if v is not None else 0 for v in arr.dictionary.to_pylist()], pa.int8())
        except KeyError as exc:
            raise ValueError(f"{exc.args[0]!r} is not a value of {spec}") from None
        indices = arr.indices if not arr.indices.null_count else pc.fill_null(arr.indices, 0)
        return [bytes(_buffer_bytes(pc.take(mapping, indices), 1))]

    return encode


def _nullable(inner: Encoder) -> Encoder:
    def encode(arr: pa.Array) -> list[bytes]:
        nulls = pc.is_null(arr).cast(pa.uint8())
        return [bytes(_buffer_bytes(nulls, 1)), *inner(arr)]

    return encode


def encoder_for(ch_type: str) -> Encoder | None:
    """How to encode a column of ClickHouse type `ch_type` from Arrow; None when this module cannot."""
    nullable = ch_type.startswith("Nullable(") and ch_type.endswith(")")
    base = ch_type[9:-1] if nullable else ch_type
    inner: Encoder | None
    if base in _FIXED:
        inner = _fixed_encoder(_FIXED[base])
    elif base == "String":
        inner = _string_encoder
    elif base.startswith("Enum8("):
        inner = _enum_encoder(base)
    else:
        return None
    return _nullable(inner) if nullable else inner


def encode_columns(columns: dict[str, pa.ChunkedArray | pa.Array],
                   types: list[tuple[str, str]]) -> list[tuple[str, str, bytes]] | None:
    """(name, type, native bytes) for each of `types` from the Arrow columns; None if a type is not supported.

    A Nullable column's null map comes first for all its rows, then its values: chunks are
    encoded one by one and their parts joined in that order.
    """
    if sys.byteorder != "little":
        return None
    out = []
    for name, ch_type in types:
        encoder = encoder_for(ch_type)
        if encoder is None:
            return None
        column = columns[name]
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        parts = [encoder(chunk) for chunk in chunks if len(chunk)]
        if not parts:
            out.append((name, ch_type, b""))
            continue
        out.append((name, ch_type, b"".join(b"".join(p[i] for p in parts) for i in range(len(parts[0])))))
    return out


def _send_block(connection: Any, columns: list[tuple[str, str, bytes]], n_rows: int) -> None:
    """One Data packet with pre-encoded columns: what the driver's BlockOutputStream writes, minus the encoding."""
    revision = connection.server_info.used_revision
    write_varint(ClientPacketTypes.DATA, connection.fout)
    if revision >= _REV_TEMPORARY_TABLES:
        write_binary_str("", connection.fout)
    stream = connection.block_out
    buf = stream.fout
    if revision >= _REV_BLOCK_INFO:
        BlockInfo().write(buf)
    write_varint(len(columns), buf)
    write_varint(n_rows, buf)
    for name, ch_type, data in columns:
        write_binary_str(name, buf)
        write_binary_str(ch_type, buf)
        if revision >= _REV_CUSTOM_SERIALIZATION:
            write_binary_uint8(0, buf)
        buf.write(data)
    stream.finalize()


def insert_arrow(client: Any, query: str, table: pa.Table, columns: dict[str, pa.ChunkedArray | pa.Array],
                 python_columns: Callable[[], list[list[Any]]], settings: dict[str, Any] | None = None) -> bool:
    """Run `query` (``INSERT INTO t (cols) VALUES``) with `columns` (Arrow, by the query's column names).

    Returns True when the columns went as native blocks, False when a column type made it fall back to
    the driver's columnar path with `python_columns()` (lists in the query's column order).
    """
    with client.disconnect_on_error(query, settings):
        connection = client.connection
        connection.send_query(query)
        connection.send_external_tables(None)
        sample = client.receive_sample_block()
        types = list(sample.columns_with_types)
        encoded = None
        if table.num_rows <= _MAX_BLOCK_ROWS:
            encoded = encode_columns(columns, types)
        if encoded is None:
            client.send_data(sample, python_columns(), columnar=True)
        else:
            _send_block(connection, encoded, table.num_rows)
            client.receive_profile_events()
            connection.send_data(ColumnOrientedBlock())
            client.receive_profile_events()
        client.receive_end_of_insert_query()
    return encoded is not None
