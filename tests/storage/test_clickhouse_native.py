"""Columnar inserts from Arrow on a real 18.16 server: the server holds exactly what the driver's own path gives."""

from __future__ import annotations

import pyarrow as pa
import pytest

from petra.storage.clickhouse_native import encode_columns, encoder_for
from petra.storage.clickhouse_sink import COLUMNS, ClickHouseSink, python_columns
from petra.storage.rows import ROW_SCHEMA, concat_rows, decode_block, encode_block, to_rows
from petra.storage.settings import RemoteSettings

T0 = 1_700_000_000.0


def _table(samples, node: str = "node-1", first: int = 1) -> pa.Table:
    return to_rows(decode_block(encode_block(samples, node)), first)


def _awkward() -> pa.Table:
    """Every value type, every quality, NULLs, multi-byte UTF-8, strings past one varint byte, an empty string."""
    long_text = "ä" * 200  # 400 bytes: a two-byte length
    samples = [
        (T0, "flow", 1.5, 0), (T0 + 1, "run", True, 1), (T0 + 2, "run", False, 2), (T0 + 3, "n", -(2**63), 0),
        (T0 + 4, "n", 2**63 - 1, 0), (T0 + 5, "txt", "", 0), (T0 + 6, "txt", long_text, 0),
        (T0 + 7, "Zürich/°C", float("inf"), 0), (T0 + 8, "txt", "x" * 127, 1), (T0 + 9, "txt", "y" * 128, 2),
    ]
    return _table(samples)


def _select(client, database: str, table: str) -> list[tuple]:
    return client.execute(f"SELECT {', '.join(COLUMNS)} FROM {database}.{table} ORDER BY seq")


def _same_as_the_drivers_path(ch, database: str, rows: pa.Table) -> None:
    sink = ClickHouseSink(RemoteSettings(host="127.0.0.1", port=ch.tcp_port, database=database))
    assert sink.insert(rows) == rows.num_rows
    assert sink.native, "went as a native block"
    client = ch.client()
    client.execute(f"CREATE TABLE {database}.reference AS {database}.samples")
    client.execute(f"INSERT INTO {database}.reference ({', '.join(COLUMNS)}) VALUES", python_columns(rows),
                   columnar=True)
    native, reference = _select(client, database, "samples"), _select(client, database, "reference")
    assert len(native) == rows.num_rows
    assert native == reference


def test_every_type_null_and_string_length_arrives_as_the_driver_would_send_it(ch, database: str) -> None:
    _same_as_the_drivers_path(ch, database, _awkward())


def test_chunks_with_their_own_dictionaries_and_sliced_arrays(ch, database: str) -> None:
    a = _table([(T0 + i, f"a{i % 4}", float(i), 0) for i in range(50)], "node-a", 1)
    b = _table([(T0 + i, f"b{i % 7}", i, 2) for i in range(50)], "node-b", 51)
    rows = pa.concat_tables([a, b.slice(10, 30), _awkward().slice(3, 5).cast(ROW_SCHEMA)])
    assert rows.column("signal").num_chunks == 3  # not combined: the encoder walks chunks
    seq = pa.array(range(1, rows.num_rows + 1), pa.uint64())
    _same_as_the_drivers_path(ch, database, rows.set_column(0, "seq", seq))


def test_many_distinct_strings_and_the_tiers_concatenated_batches(ch, database: str) -> None:
    blocks = [_table([(T0 + i, "label", f"text {k}-{i}", 0) for i in range(300)], first=1 + k * 300)
              for k in range(4)]
    _same_as_the_drivers_path(ch, database, concat_rows(blocks))


def test_types_the_encoder_does_not_know_are_left_to_the_driver() -> None:
    assert encoder_for("LowCardinality(String)") is None
    assert encoder_for("DateTime64(6)") is None
    assert encoder_for("Nullable(Float64)") is not None
    assert encode_columns({"x": pa.array([1])}, [("x", "Array(Int64)")]) is None


def test_a_value_outside_an_enum_is_refused_before_anything_is_sent() -> None:
    encode = encoder_for("Enum8('good' = 0, 'bad' = 2)")
    assert encode is not None
    with pytest.raises(ValueError, match="'uncertain' is not a value of Enum8"):
        encode(pa.array(["good", "uncertain"]).dictionary_encode())


def test_a_driver_whose_internals_moved_still_inserts_through_its_own_path(ch, database: str, monkeypatch,
                                                                           caplog) -> None:
    import logging

    import petra.storage.clickhouse_sink as sink_module

    def moved(*args: object, **kwargs: object) -> bool:
        raise AttributeError("'Connection' object has no attribute 'block_out'")

    monkeypatch.setattr(sink_module, "insert_arrow", moved)
    sink = ClickHouseSink(RemoteSettings(host="127.0.0.1", port=ch.tcp_port, database=database))
    with caplog.at_level(logging.WARNING, "petra.storage.clickhouse_sink"):
        sink.insert(_awkward())
        sink.insert(_table([(T0, "a", 1.0, 0)], first=100))
    assert not sink.native
    assert sum("internals differ" in r.message for r in caplog.records) == 1
    assert [r[3] for r in _select(ch.client(), database, "samples")] == [*range(1, 11), 100]
