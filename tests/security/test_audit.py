from __future__ import annotations

import json
import logging
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from petra.audit import (
    GENESIS,
    RECOVERED_EVENT,
    AuditError,
    AuditLog,
    entry_hash,
    parse_entry,
    verify_audit,
)


def _fill(path: Path, n: int) -> None:
    with AuditLog(path) as audit:
        for i in range(n):
            audit.append("config.reload", "uid:1000", revision=i, file="/etc/petra/plant.yaml")


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def test_a_chain_of_entries_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _fill(path, 5)

    result = verify_audit(path)

    assert result.ok, result.reason
    assert result.entries == 5
    assert result.first_broken_seq is None and result.line is None


def test_an_entry_has_the_documented_fields_and_links(tmp_path: Path) -> None:
    clock = lambda: datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)  # noqa: E731
    with AuditLog(tmp_path / "a.jsonl", clock=clock) as audit:
        first = audit.append("config.reload", "token:ops", file="plant.yaml")
        second = audit.append("plant.stop", "system")

    raw = json.loads(_lines(tmp_path / "a.jsonl")[0])
    assert raw == {
        "seq": 1,
        "ts": "2024-05-01T12:00:00.123456Z",
        "event": "config.reload",
        "actor": "token:ops",
        "details": {"file": "plant.yaml"},
        "prev": GENESIS,
        "hash": first.hash,
    }
    assert first.hash == entry_hash({k: v for k, v in raw.items() if k != "hash"})
    assert (second.seq, second.prev) == (2, first.hash)


def test_a_new_audit_file_is_not_world_readable(tmp_path: Path) -> None:
    _fill(tmp_path / "a.jsonl", 1)

    assert stat.S_IMODE((tmp_path / "a.jsonl").stat().st_mode) & 0o007 == 0


@pytest.mark.parametrize("field", ["seq", "ts", "event", "actor", "details", "prev"])
def test_editing_any_field_of_a_middle_entry_is_detected_at_that_entry(tmp_path: Path, field: str) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 5)
    lines = _lines(path)
    entry = json.loads(lines[2])
    entry[field] = {
        "seq": 30,
        "ts": "2020-01-01T00:00:00.000000Z",
        "event": "config.sign",
        "actor": "uid:0",
        "details": {"revision": 99},
        "prev": "f" * 64,
    }[field]
    lines[2] = (json.dumps(entry) + "\n").encode()
    _rewrite(path, lines)

    result = verify_audit(path)

    assert not result.ok
    assert (result.line, result.entries) == (3, 2)
    assert result.first_broken_seq == entry["seq"]
    assert "altered" in result.reason


def test_an_edited_and_rehashed_entry_is_detected_at_the_next_entry(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 5)
    lines = _lines(path)
    entry = json.loads(lines[2])
    entry["actor"] = "uid:0"
    entry["hash"] = entry_hash({k: v for k, v in entry.items() if k != "hash"})
    lines[2] = (json.dumps(entry) + "\n").encode()
    _rewrite(path, lines)

    result = verify_audit(path)

    assert (result.ok, result.first_broken_seq, result.line) == (False, 4, 4)
    assert "prev" in result.reason


def test_deleting_a_line_is_detected_at_the_next_one(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 5)
    lines = _lines(path)
    del lines[2]
    _rewrite(path, lines)

    result = verify_audit(path)

    assert (result.ok, result.first_broken_seq, result.line, result.entries) == (False, 4, 3, 2)
    assert "deleted" in result.reason


def test_deleting_the_first_line_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    _rewrite(path, _lines(path)[1:])

    result = verify_audit(path)

    assert (result.ok, result.first_broken_seq, result.line) == (False, 2, 1)


def test_swapping_two_lines_is_detected_at_the_first_of_them(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 5)
    lines = _lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    _rewrite(path, lines)

    result = verify_audit(path)

    assert (result.ok, result.first_broken_seq, result.line) == (False, 3, 2)


def test_a_duplicated_line_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    lines = _lines(path)
    _rewrite(path, [*lines, lines[-1]])

    result = verify_audit(path)

    assert (result.ok, result.first_broken_seq, result.line) == (False, 3, 4)
    assert "out of order" in result.reason


def test_a_line_that_is_not_json_is_reported_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    lines = _lines(path)
    lines[1] = b"hello\n"
    _rewrite(path, lines)

    result = verify_audit(path)

    assert (result.ok, result.first_broken_seq, result.line) == (False, 2, 2)
    assert "malformed" in result.reason


def test_an_empty_file_is_an_intact_chain_of_zero_entries(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").touch()

    assert verify_audit(tmp_path / "a.jsonl").entries == 0


def test_verifying_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="cannot read"):
        verify_audit(tmp_path / "missing.jsonl")


def test_the_file_is_reopened_and_continued(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    last = parse_entry(_lines(path)[-1])

    with AuditLog(path) as audit:
        assert audit.next_seq == 4
        entry = audit.append("plant.start", "system")

    assert (entry.seq, entry.prev) == (4, last.hash)
    assert verify_audit(path).entries == 4


def test_a_torn_last_line_is_cut_off_and_recorded_on_reopen(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    lines = _lines(path)
    torn = lines[-1][:40]
    _rewrite(path, [*lines[:-1], torn])
    assert not verify_audit(path).ok

    with caplog.at_level(logging.WARNING, logger="petra.audit"), AuditLog(path) as audit:
        entry = audit.append("plant.start", "system")

    assert "torn" in caplog.text
    result = verify_audit(path)
    assert result.ok, result.reason
    entries = [parse_entry(line) for line in _lines(path)]
    assert [e.event for e in entries] == ["config.reload", "config.reload", RECOVERED_EVENT, "plant.start"]
    recovered = entries[2]
    assert recovered.seq == 3 and recovered.prev == entries[1].hash
    assert recovered.details["torn_bytes"] == len(torn)
    assert recovered.details["torn_text"] == torn.decode()
    assert entry.seq == 4


def test_a_torn_first_line_leaves_only_the_recovery_entry(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"seq": 1, "ts"')

    AuditLog(path).close()

    entries = [parse_entry(line) for line in _lines(path)]
    assert [(e.seq, e.event, e.prev) for e in entries] == [(1, RECOVERED_EVENT, GENESIS)]


def test_an_entry_that_lost_only_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    path.write_bytes(path.read_bytes()[:-1])

    with AuditLog(path) as audit:
        assert audit.next_seq == 4

    assert verify_audit(path).entries == 3


def test_an_altered_last_entry_refuses_to_open(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    _fill(path, 3)
    path.write_bytes(path.read_bytes().replace(b'"revision":2', b'"revision":7'))

    with pytest.raises(AuditError, match="does not verify"):
        AuditLog(path)


def test_concurrent_appends_from_threads_keep_a_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    threads_n, per_thread = 8, 25
    start = threading.Barrier(threads_n)
    with AuditLog(path) as audit:

        def worker(n: int) -> None:
            start.wait()
            for i in range(per_thread):
                audit.append("signal.write", f"token:worker{n}", i=i)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    result = verify_audit(path)
    assert result.ok, result.reason
    assert result.entries == threads_n * per_thread


def test_two_logs_on_one_file_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with AuditLog(path) as runtime, AuditLog(path) as cli:
        runtime.append("plant.start", "system")
        cli.append("config.sign", "uid:1000")
        runtime.append("config.reload", "system")

    result = verify_audit(path)
    assert result.ok, result.reason
    assert result.entries == 3


def test_unserialisable_details_raise_and_leave_the_chain_untouched(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with AuditLog(path) as audit:
        with pytest.raises(TypeError):
            audit.append("config.reload", "system", path=object())
        with pytest.raises(ValueError):
            audit.append("config.reload", "system", value=float("nan"))
        entry = audit.append("config.reload", "system", path="ok")

    assert entry.seq == 1
    assert verify_audit(path).entries == 1


@pytest.mark.parametrize("actor", ["", "root", "uid 0", "uid:1000\nforged"])
def test_an_actor_that_is_not_kind_colon_id_is_refused(tmp_path: Path, actor: str) -> None:
    with AuditLog(tmp_path / "a.jsonl") as audit, pytest.raises(ValueError, match="actor"):
        audit.append("config.reload", actor)


def test_appending_after_close_raises(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "a.jsonl")
    audit.close()

    with pytest.raises(AuditError, match="closed"):
        audit.append("plant.stop", "system")


def test_entries_larger_than_the_read_chunk_are_continued_and_recovered(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with AuditLog(path) as audit:
        for i in range(3):
            audit.append("config.reload", "system", diff="x" * 20_000, revision=i)
    last = parse_entry(_lines(path)[-1])
    with AuditLog(path) as audit:
        assert audit.next_seq == 4
        big = audit.append("config.reload", "system", diff="y" * 30_000)
    assert big.prev == last.hash
    _rewrite(path, [*_lines(path)[:-1], _lines(path)[-1][:25_000]])

    with AuditLog(path) as audit:
        audit.append("plant.start", "system")

    assert verify_audit(path).ok
    entries = [parse_entry(line) for line in _lines(path)]
    assert [e.event for e in entries[-2:]] == [RECOVERED_EVENT, "plant.start"]
    assert entries[-2].details["torn_bytes"] == 25_000
    assert len(entries[-2].details["torn_text"]) == 512
