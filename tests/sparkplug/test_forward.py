"""Store and forward against a real WAL: ranges, order, the WAL cursor kept when a send is cut short."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from petra.drivers.sparkplug import forward
from petra.drivers.sparkplug.sequence import NodeState
from petra.drivers.sparkplug.settings import build_config
from petra.storage.rows import encode_block
from petra.storage.settings import WalSettings
from petra.storage.wal import Wal
from tests.helpers import plant_config


class SessionEnded(Exception):
    pass


def _config(limit: int) -> Any:
    config = build_config(plant_config({
        "node_id": "n1",
        "signals": [{"name": "a", "type": "int"}, {"name": "b", "type": "float", "group": "dev"},
                    {"name": "c", "type": "int"}],
        "sparkplug": {"broker_host": "127.0.0.1", "group_id": "g", "max_metrics_per_message": limit,
                      "signals": ["a", "b"], "devices": [{"name": "dev", "groups": ["dev"]}]}}))
    assert config is not None
    return config


@pytest.mark.parametrize("killed", [False, True])
@pytest.mark.parametrize("fail_after", [0, 1, 2, 3, 5, 8])
def test_a_send_cut_short_resumes_where_it_stopped_nothing_twice_nothing_lost(tmp_path: Path, fail_after: int,
                                                                              killed: bool) -> None:
    """`killed`: the process dies at that send (the state file and the WAL cursor as they were then, no
    clean-up runs); otherwise the session ends (the send raises and the step commits its position)."""
    settings = WalSettings(wal_dir=tmp_path / "wal", sync_on_write=False)
    wal = Wal(settings, ("parquet", forward.CONSUMER), ("parquet",))
    state = NodeState(tmp_path / "sp")
    t0 = 1_000.0
    wal.append(encode_block([(t0 + i, "a", i, 0) for i in range(5)], "n1"), 5)  # before the range: live
    wal.commit(forward.CONSUMER, wal.head)  # the actor follows the head while live
    forward.open_range(state, int((t0 + 5) * 1e6))
    samples = []
    for i in range(5, 45):  # a, b (a device), c (not published) interleaved, in blocks of 7
        samples.append((t0 + i, ("a", "b", "c")[i % 3], i if i % 3 != 1 else float(i), 0))
    for start in range(0, len(samples), 7):
        chunk = samples[start:start + 7]
        wal.append(encode_block(chunk, "n1"), len(chunk))
    wal.append(encode_block([(t0 + 50, "a", 50, 0)], "n1"), 1)  # after the birth: live again
    forward.close_range(state, int((t0 + 46) * 1e6))
    forward.set_until(state, wal.head)

    got: list[tuple[str, str, Any]] = []
    calls = [0]

    state_file = tmp_path / "sp" / "node.json"
    on_disk: list[tuple[bytes, int]] = []

    def send(device: str, changes: list[tuple[str, Any, int, float]]) -> None:
        calls[0] += 1
        if calls[0] == fail_after + 1:
            on_disk.append((state_file.read_bytes(), wal.cursor(forward.CONSUMER)))
            raise SessionEnded
        assert len(changes) <= 4
        got.extend((device, name, value) for name, value, _, _ in changes)

    forwarder = forward.Forwarder(_config(4), state, wal, send, lambda n: None)
    with pytest.raises(SessionEnded):
        while forwarder.step():
            pass
        raise SessionEnded  # fail_after past the end: no failure, still fine
    if killed and on_disk:
        state_file.write_bytes(on_disk[0][0])
        wal.commit(forward.CONSUMER, on_disk[0][1])
    wal.close()
    wal = Wal(settings, ("parquet", forward.CONSUMER), ("parquet",))  # a new process: the cursor from disk
    resumed = forward.Forwarder(_config(4), NodeState(tmp_path / "sp"), wal, send, lambda n: None)
    while resumed.step():
        pass
    expected = [("dev" if name == "b" else "", name, value) for _, name, value, _ in samples if name != "c"]
    assert got == expected
    assert NodeState(tmp_path / "sp").pending is None
    wal.close()


def test_the_wal_keeps_a_cursor_for_the_node_that_does_not_hold_back_trimming_and_trimmed_samples_count_lost(
        tmp_path: Path) -> None:
    """A host away longer than the WAL keeps consumed blocks costs the oldest samples, counted; never the
    plant's own history (the storage tiers' cursors alone gate trimming)."""
    from petra.plant import build_plant
    from petra.storage.children import child_specs
    from petra.wiring import Wiring

    plant = build_plant(plant_config({
        "node_id": "n1", "signals": [{"name": "a", "type": "int"}],
        "sparkplug": {"broker_host": "127.0.0.1", "group_id": "g"},
        "storage": {"wal": {"wal_dir": str(tmp_path / "w")}, "local": {"data_dir": str(tmp_path / "p")}}}))
    wal_spec = child_specs(plant, Wiring())[0]
    assert wal_spec.kwargs["consumers"] == ("parquet", forward.CONSUMER)
    assert wal_spec.kwargs["gating"] == ("parquet",)

    wal = Wal(WalSettings(wal_dir=tmp_path / "wal", sync_on_write=False, retention_hours=1),
              ("parquet", forward.CONSUMER), ("parquet",))
    state = NodeState(tmp_path / "sp")
    t0 = 1_000.0
    forward.open_range(state, int(t0 * 1e6))
    for i in range(3):
        wal.append(encode_block([(t0 + i, "a", i, 0)], "n1"), 1)
    wal.commit("parquet", wal.head)
    assert wal.trim(now=time.time() + 2 * 3600) == 3, "the node's cursor, behind, does not hold the blocks"
    wal.append(encode_block([(t0 + 3, "a", 3, 0)], "n1"), 1)
    forward.close_range(state, int((t0 + 4) * 1e6))
    forward.set_until(state, wal.head)
    got: list[Any] = []
    lost: list[int] = []
    forwarder = forward.Forwarder(_config(4), state, wal, lambda d, c: got.extend(v for _, v, _, _ in c),
                                  lost.append)
    while forwarder.step():
        pass
    assert got == [3] and lost == [3]
    assert wal.cursor(forward.CONSUMER) == wal.head and state.pending is None
    wal.close()
