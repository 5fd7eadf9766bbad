"""A damaged LMDB file is refused with a message that names it and says what to do."""

import os
import random

import pytest

from petra.lmdb_files import StoreFileError, close_environment, open_environment


def _filled(path, entries=5000):
    env = open_environment(path, what="test store", map_size=64 << 20)
    with env.begin(write=True) as txn:
        for i in range(entries):
            txn.put(b"%08d" % i, os.urandom(200))
    close_environment(env, what="test store")
    return path / "data.mdb"


def test_a_truncated_data_file_is_refused_before_it_is_mapped(tmp_path):
    data = _filled(tmp_path / "wal")
    os.truncate(data, data.stat().st_size // 2)
    with pytest.raises(StoreFileError) as caught:
        open_environment(tmp_path / "wal", what="WAL", map_size=64 << 20)
    message = str(caught.value)
    assert str(data) in message and "truncated" in message
    assert f"mv {tmp_path / 'wal'} " in message


def test_a_file_that_is_not_lmdb_is_refused_by_name(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "data.mdb").write_bytes(b"not a database" * 1000)
    with pytest.raises(StoreFileError, match="not an LMDB data file"):
        open_environment(tmp_path / "store", what="alarm state", map_size=1 << 20)


def test_a_healthy_file_is_never_refused_after_writes_and_deletes(tmp_path):
    """Growth, page splits, deletes and page reuse: the size check must hold for a sound file."""
    path = tmp_path / "churn"
    rng = random.Random(7)
    env = open_environment(path, what="test store", map_size=64 << 20)
    next_key = 0
    for _round in range(150):
        with env.begin(write=True) as txn:
            for _ in range(rng.randint(1, 300)):
                txn.put(b"%010d" % next_key, os.urandom(rng.choice((50, 500, 5000))))
                next_key += 1
            cursor = txn.cursor()
            for _ in range(rng.randint(0, 250)):
                if not cursor.first():
                    break
                cursor.delete()
        close_environment(env, what="test store")
        env = open_environment(path, what="test store", map_size=64 << 20)
    close_environment(env, what="test store")


def test_a_closed_environment_can_be_opened_again_and_closing_twice_is_harmless(tmp_path):
    env = open_environment(tmp_path / "e", what="test store", map_size=1 << 20)
    close_environment(env, what="test store")
    close_environment(env, what="test store")
    close_environment(None, what="test store")
    again = open_environment(tmp_path / "e", what="test store", map_size=1 << 20)
    close_environment(again, what="test store")
