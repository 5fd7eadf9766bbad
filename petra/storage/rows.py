"""Sample rows: the compact block the WAL stores, and the typed table every tier writes.

A WAL block is one group commit: an Arrow IPC stream (lz4) of one record batch,
its node id in the schema metadata. Tiers turn it into the row schema below,
adding each sample's WAL sequence number (`seq`), the key that makes every tier
idempotent.

Row schema (Parquet, query results; ClickHouse has the same columns, see
`clickhouse_sink.py`)::

    seq           uint64                 WAL sequence, unique per node and WAL
    ts            timestamp[us, UTC]
    node_id       dictionary<string>
    signal        dictionary<string>
    value_type    dictionary<string>     bool | int | float | string
    value_bool    bool      (null unless value_type == bool)
    value_int     int64     (null unless value_type == int)
    value_float   double    (null unless value_type == float)
    value_string  string    (null unless value_type == string)
    quality       dictionary<string>     good | uncertain | bad

A value no column can hold (an int beyond 64 bits, text that is not valid
UTF-8) must never stop the WAL: `storable` records such a sample as *no
value, quality bad* for its signal and time, so the history shows that the
signal was bad then, and the WAL actor counts it
(``petra_wal_unstorable_samples_total``) and logs it, rate-limited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow.compute as pc

from petra.storage.arrow import pa
from petra.values import INT_MAX, INT_MIN, Quality

VALUE_TYPES = ("bool", "int", "float", "string")
QUALITIES = ("good", "uncertain", "bad")

Sample = tuple[float, str, object, int]
"""(timestamp in epoch seconds, signal name, value, quality code) as the recorder produces it."""

WAL_SCHEMA = pa.schema([
    ("ts_us", pa.int64()),
    ("signal", pa.string()),
    ("vtype", pa.int8()),
    ("value_bool", pa.bool_()),
    ("value_int", pa.int64()),
    ("value_float", pa.float64()),
    ("value_string", pa.string()),
    ("quality", pa.int8()),
])

_DICT = pa.dictionary(pa.int32(), pa.string())
ROW_SCHEMA = pa.schema([
    ("seq", pa.uint64()),
    ("ts", pa.timestamp("us", tz="UTC")),
    ("node_id", _DICT),
    ("signal", _DICT),
    ("value_type", _DICT),
    ("value_bool", pa.bool_()),
    ("value_int", pa.int64()),
    ("value_float", pa.float64()),
    ("value_string", pa.string()),
    ("quality", _DICT),
])

_IPC = pa.ipc.IpcWriteOptions(compression="lz4")
_TYPE_DICT = pa.array(VALUE_TYPES)
_QUALITY_DICT = pa.array(QUALITIES)


class _NoInt:
    """Stands for an int that no int64 column holds: stored as int type, no value."""


class _NoString:
    """Stands for text that cannot be stored (not valid UTF-8): string type, no value."""


NO_INT = _NoInt()
NO_STRING = _NoString()
_KIND = {bool: 0, int: 1, float: 2, _NoInt: 1, _NoString: 3}


def storable(samples: Sequence[Sample]) -> tuple[list[Sample], list[str]]:
    """`samples` with each value no column can hold replaced by no value and bad quality; the signals hit."""
    out: list[Sample] = []
    spoiled: list[str] = []
    for sample in samples:
        ts, name, value, _quality = sample
        if _fits(value):
            out.append(sample)
            continue
        out.append((ts, name, NO_INT if isinstance(value, int) else NO_STRING, int(Quality.BAD)))
        spoiled.append(name)
    return out, spoiled


def _fits(value: object) -> bool:
    if type(value) in (bool, float, _NoInt, _NoString):
        return True
    if type(value) is int:
        return INT_MIN <= value <= INT_MAX
    try:
        (value if isinstance(value, str) else str(value)).encode("utf-8")
    except (UnicodeError, ValueError):
        return False
    return True


def encode_block(samples: Sequence[Sample], node_id: str) -> bytes:
    """One WAL block from samples, in order.

    Column-wise comprehensions rather than one loop appending to five lists:
    this runs for every recorded sample, holding the GIL.
    """
    ts = [s[0] for s in samples]
    names = [s[1] for s in samples]
    values = [s[2] for s in samples]
    quality = [s[3] for s in samples]
    vtype = [_KIND.get(type(v), 3) for v in values]
    vb = [v if type(v) is bool else None for v in values]
    vi = [v if type(v) is int else None for v in values]
    vf = [v if type(v) is float else None for v in values]
    vs = [None if type(v) in _KIND else str(v) for v in values]
    ts_us = pc.cast(pc.round(pc.multiply(pa.array(ts, pa.float64()), 1e6)), pa.int64())
    batch = pa.RecordBatch.from_arrays(
        [ts_us, pa.array(names, pa.string()), pa.array(vtype, pa.int8()), pa.array(vb, pa.bool_()),
         pa.array(vi, pa.int64()), pa.array(vf, pa.float64()), pa.array(vs, pa.string()),
         pa.array(quality, pa.int8())],
        schema=WAL_SCHEMA.with_metadata({"node_id": node_id}),
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema, options=_IPC) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


_READ = pa.ipc.IpcReadOptions(use_threads=False)
"""A block is small (one group commit): decompressing its columns on Arrow's thread pool costs more than it saves
(measured on this 2-core machine under load: 1,015-1,650 µs a 1,000-sample block with threads, 120-280 without)."""


def decode_block(data: bytes | memoryview) -> pa.RecordBatch:
    """The record batch of one WAL block (node id in `schema.metadata[b"node_id"]`)."""
    with pa.ipc.open_stream(pa.py_buffer(data), options=_READ) as reader:
        return reader.read_next_batch()


def _seqs(first: int, n: int) -> pa.Array:
    if hasattr(pa, "arange"):  # pyarrow >= 21: no Python int per row
        return pa.arange(first, first + n).cast(pa.uint64())
    return pa.array(range(first, first + n), pa.uint64())


def to_rows(batch: pa.RecordBatch, first_seq: int) -> pa.Table:
    """A decoded WAL block as a table in ROW_SCHEMA; the block's samples get seqs first_seq, first_seq+1, ..."""
    n = batch.num_rows
    node_id = (batch.schema.metadata or {}).get(b"node_id", b"").decode()
    seq = _seqs(first_seq, n)
    ts = batch.column("ts_us").cast(pa.timestamp("us", tz="UTC"))
    node = pa.DictionaryArray.from_arrays(pa.repeat(pa.scalar(0, pa.int32()), n), pa.array([node_id]))
    signal = pc.dictionary_encode(batch.column("signal")).cast(_DICT)
    vtype = pa.DictionaryArray.from_arrays(batch.column("vtype").cast(pa.int32()), _TYPE_DICT)
    quality = pa.DictionaryArray.from_arrays(batch.column("quality").cast(pa.int32()), _QUALITY_DICT)
    return pa.Table.from_arrays(
        [seq, ts, node, signal, vtype, batch.column("value_bool"), batch.column("value_int"),
         batch.column("value_float"), batch.column("value_string"), quality],
        schema=ROW_SCHEMA,
    )


def concat_rows(tables: Iterable[pa.Table], *, contiguous: bool = True) -> pa.Table:
    """Tables in ROW_SCHEMA as one, dictionaries unified.

    `contiguous=False` leaves the columns chunked (no copy of the rows): enough for a Parquet writer,
    which encodes one row group at a time, and it halves the memory a flush of the buffer needs.
    """
    tables = list(tables)
    if not tables:
        return ROW_SCHEMA.empty_table()
    table = pa.concat_tables(tables).unify_dictionaries()
    return table.combine_chunks() if contiguous else table


def row_values(table: pa.Table) -> list[object]:
    """Each row's typed value as a Python object (bool, int, float or str)."""
    types = table.column("value_type").to_pylist()
    cols = {name: table.column(f"value_{name}").to_pylist() for name in VALUE_TYPES}
    return [cols[t][i] for i, t in enumerate(types)]
