"""The LMDB WAL on its own: sequences, group commits, cursors, trimming, growth and a full map."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from petra.storage.rows import decode_block, encode_block, row_values, to_rows
from petra.storage.settings import WalSettings
from petra.storage.wal import MB, Wal, WalFull, read_committed


def _samples(n: int, start: int = 0) -> list[tuple[float, str, object, int]]:
    now = time.time()
    return [(now + i * 1e-3, f"s{i % 7}", float(start + i), 0) for i in range(n)]


def _wal(tmp_path: Path, **kw: object) -> Wal:
    settings = WalSettings(wal_dir=tmp_path / "wal", **kw)  # type: ignore[arg-type]
    return Wal(settings, consumers=("a", "b"))


def test_blocks_get_consecutive_sequences_and_read_back_from_any_cursor(tmp_path: Path) -> None:
    wal = _wal(tmp_path)
    first = wal.head + 1
    for _ in range(5):
        wal.append(encode_block(_samples(100), "n"), 100)
    assert wal.head == first + 499
    blocks = wal.read(first + 149, max_samples=1000)
    assert blocks[0].first_seq == first + 100 and blocks[-1].last_seq == wal.head
    rows = to_rows(decode_block(blocks[0].payload), blocks[0].first_seq)
    assert rows.column("seq").to_pylist()[0] == first + 100
    assert wal.read(wal.head) == []
    wal.close()


def test_typed_values_survive_the_block_encoding() -> None:
    now = time.time()
    samples = [(now, "b", True, 0), (now, "i", 42, 1), (now, "f", 1.5, 2), (now, "s", "text", 0), (now, "i", 0, 0)]
    rows = to_rows(decode_block(encode_block(samples, "node")), 10)
    assert row_values(rows) == [True, 42, 1.5, "text", 0]
    assert [type(v) for v in row_values(rows)] == [bool, int, float, str, int]
    assert rows.column("value_type").to_pylist() == ["bool", "int", "float", "string", "int"]
    assert rows.column("quality").to_pylist() == ["good", "uncertain", "bad", "good", "good"]
    assert set(rows.column("node_id").to_pylist()) == {"node"}


def test_cursors_persist_and_trimming_waits_for_every_consumer(tmp_path: Path) -> None:
    wal = _wal(tmp_path, retention_hours=1)
    for _ in range(4):
        wal.append(encode_block(_samples(10), "n"), 10)
    head = wal.head
    wal.commit("a", head)
    assert wal.trim(pressure=True) == 0, "b has committed nothing"
    wal.commit("b", head - 15)
    assert wal.trim(now=time.time()) == 0, "retention keeps consumed blocks for an hour"
    assert wal.trim(now=time.time() + 7200) == 20, "only whole blocks both consumers committed"
    wal.close()
    again = _wal(tmp_path)
    assert again.cursors() == {"a": head, "b": head - 15}
    assert again.head == head and again.tail == head - 19
    again.close()


def test_a_dropped_consumer_no_longer_holds_back_trimming(tmp_path: Path) -> None:
    wal = _wal(tmp_path)
    wal.append(encode_block(_samples(10), "n"), 10)
    wal.commit("a", wal.head)
    wal.register(["a"])
    assert wal.trim(pressure=True) == 10
    wal.close()


def test_the_map_grows_up_to_its_maximum_then_refuses_new_blocks_without_corruption(tmp_path: Path) -> None:
    wal = _wal(tmp_path, map_size_mb=1, max_map_size_mb=4)
    payload = bytes(range(256)) * (256 * 1024 // 256)
    appended = 0
    with pytest.raises(WalFull):
        for _ in range(100):
            wal.append(payload, 1)
            appended += 1
    assert wal.env.info()["map_size"] == 4 * MB
    assert wal.full and appended >= 8
    head = wal.head
    wal.commit("a", head)
    wal.commit("b", head)
    wal.append(payload, 1)  # trimming under pressure makes room for it
    assert wal.head == head + 1 and not wal.full
    wal.close()
    _origin, committed, blocks = read_committed(tmp_path / "wal")
    assert committed == head + 1 and blocks[-1][0] == head + 1
