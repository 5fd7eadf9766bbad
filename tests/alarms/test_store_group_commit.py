"""The alarm store's group commit: who commits, what is grouped, when it is fsynced and announced.

Real LMDB environments in tmp_path; threads are coordinated with events (no sleeps).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from petra.alarms import store as store_module
from petra.alarms.store import AlarmStore, StoreWriteError
from tests.alarms.support import alarm, plant_data, start_plant
from tests.helpers import wait_until

WAIT_S = 5.0


class CountingEnv:
    """The store's LMDB environment, with a record of each fsync (thread, what was announced before it)."""

    def __init__(self, env: Any, announced: list[str]) -> None:
        self._env = env
        self._announced = announced
        self.syncs: list[tuple[str, int]] = []
        self.synced = threading.Event()

    def sync(self, force: bool = False) -> None:
        self._env.sync(force)
        self.syncs.append((threading.current_thread().name, len(self._announced)))
        self.synced.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)


@pytest.fixture
def stores() -> Iterator[list[tuple[AlarmStore, Any]]]:
    opened: list[tuple[AlarmStore, Any]] = []
    yield opened
    for store, env in opened:
        store.env = env  # closed as opened: that releases the store's lock file
        store.close()


def open_counting(tmp_path, stores: list[tuple[AlarmStore, Any]], fsync: bool
                  ) -> tuple[AlarmStore, CountingEnv, list[str]]:
    store = AlarmStore(tmp_path / ("fsync" if fsync else "batched"), fsync=fsync)
    stores.append((store, store.env))
    announced: list[str] = []
    env = CountingEnv(store.env, announced)
    store.env = env  # type: ignore[assignment]
    return store, env, announced


def test_a_lone_transition_is_committed_and_announced_in_the_submitters_own_thread(tmp_path, stores):
    store, env, announced = open_counting(tmp_path, stores, fsync=True)
    me = threading.current_thread().name
    store.submit(lambda: announced.append(threading.current_thread().name), states={"a": {"raw": True}})
    assert announced == [me]  # no hand-off: it was committed and announced before submit returned
    assert env.syncs == [(me, 0)]  # durability fsync: fsynced before it was announced
    assert store.get("states", "a") == {"raw": True}


def test_transitions_queued_while_a_group_is_committed_go_together_in_the_committing_thread(tmp_path, stores):
    store, _env, announced = open_counting(tmp_path, stores, fsync=True)
    in_callback, release = threading.Event(), threading.Event()
    flushes: list[tuple[str, list[str]]] = []

    def flush() -> None:
        flushes.append((threading.current_thread().name, list(announced)))

    def first() -> None:
        announced.append("a")
        in_callback.set()
        assert release.wait(WAIT_S)

    leader = threading.Thread(target=store.submit, args=(first,), kwargs={"flush": flush, "states": {"a": {}}},
                              name="leader")
    leader.start()
    assert in_callback.wait(WAIT_S)  # the leader holds the commit: the others only queue, and return at once
    for key in ("b", "c"):
        store.submit(lambda key=key: announced.append(key), flush=flush, states={key: {}})
    assert announced == ["a"]
    release.set()
    leader.join(WAIT_S)
    assert announced == ["a", "b", "c"]
    # one flush per group, after all of the group's callbacks, both in the leader's thread
    assert flushes == [("leader", ["a"]), ("leader", ["a", "b", "c"])]
    assert all(store.get("states", key) == {} for key in "abc")


def test_a_waiting_submitter_is_released_only_after_its_group_was_announced_and_flushed(tmp_path, stores):
    store, _env, announced = open_counting(tmp_path, stores, fsync=False)
    in_callback, release = threading.Event(), threading.Event()

    def first() -> None:
        in_callback.set()
        assert release.wait(WAIT_S)

    leader = threading.Thread(target=store.submit, args=(first,), kwargs={"states": {"a": {}}})
    leader.start()
    assert in_callback.wait(WAIT_S)
    waiter_done = threading.Event()

    def wait_for_commit() -> None:
        store.submit(lambda: announced.append("b"), wait=True, flush=lambda: announced.append("flushed"),
                     states={"b": {}})
        waiter_done.set()

    waiter = threading.Thread(target=wait_for_commit)
    waiter.start()
    wait_until(lambda: store._queue)  # queued behind the leader's group
    assert not waiter_done.is_set() and announced == []
    release.set()
    assert waiter_done.wait(WAIT_S)
    assert announced == ["b", "flushed"]
    leader.join(WAIT_S)
    waiter.join(WAIT_S)


def test_with_batched_durability_the_fsync_is_off_the_transitions_path_and_within_the_interval(tmp_path, stores):
    store, env, announced = open_counting(tmp_path, stores, fsync=False)
    store.submit(lambda: announced.append("a"), states={"a": {}})
    assert announced == ["a"] and env.syncs == []  # announced once committed to the OS, before any fsync
    assert env.synced.wait(store_module.SYNC_INTERVAL_S + WAIT_S)
    [(thread, announced_before)] = env.syncs
    assert thread == "alarm-store-writer" and announced_before == 1


def test_a_leader_leaves_what_keeps_arriving_to_the_writer_thread_after_its_rounds(tmp_path, stores, monkeypatch):
    monkeypatch.setattr(store_module, "LEAD_ROUNDS", 1)
    store, _env, _announced = open_counting(tmp_path, stores, fsync=True)
    in_callback, release = threading.Event(), threading.Event()
    threads: dict[str, str] = {}

    def first() -> None:
        threads["a"] = threading.current_thread().name
        in_callback.set()
        assert release.wait(WAIT_S)

    leader = threading.Thread(target=store.submit, args=(first,), kwargs={"states": {"a": {}}}, name="leader")
    leader.start()
    assert in_callback.wait(WAIT_S)
    later = threading.Thread(target=store.submit, kwargs={
        "then": lambda: threads.__setitem__("b", threading.current_thread().name), "wait": True,
        "states": {"b": {}}})
    later.start()
    wait_until(lambda: store._queue)  # queued while the leader's one round is still announcing
    release.set()
    later.join(WAIT_S)
    leader.join(WAIT_S)
    assert threads == {"a": "leader", "b": "alarm-store-writer"}


def test_a_submission_to_a_closed_store_is_refused(tmp_path):
    store = AlarmStore(tmp_path / "closed")
    store.close()
    with pytest.raises(StoreWriteError, match="closed"):
        store.submit(states={"a": {}})


def test_a_deferred_transition_nobody_commits_is_committed_by_the_writer_within_the_linger(tmp_path, stores):
    store, _env, announced = open_counting(tmp_path, stores, fsync=True)
    done = threading.Event()
    store.submit(lambda: (announced.append(threading.current_thread().name), done.set()), defer=True,
                 states={"a": {}})
    assert announced == []  # only queued: the change batch's last alarm would commit it
    assert done.wait(store_module.LINGER_S + WAIT_S)  # its Evaluate was lost: the writer's fallback
    assert announced == ["alarm-store-writer"] and store.get("states", "a") == {}


def test_the_transitions_of_one_change_batch_are_committed_in_one_transaction(tmp_path, plants, monkeypatch):
    monkeypatch.setattr(store_module, "LINGER_S", 30.0)  # no fallback: the batch's last alarm must commit them
    names = [f"t{i}" for i in range(5)]
    signals = [{"name": n, "type": "float", "initial": 0.0, "group": "process"} for n in names]
    plant = start_plant(plants, plant_data(tmp_path / "alarms", [alarm(f"a{i}", signal=n) for i, n in
                                                                 enumerate(names)], signals=signals))
    store = plant.service.store
    plant.settle()
    groups: list[list[str]] = []
    commit = store._commit_group

    def recording(batch: list[dict[str, Any]]) -> None:
        groups.append(sorted(key for records in batch for key in (records.get("states") or ())))
        commit(batch)

    monkeypatch.setattr(store, "_commit_group", recording)
    plant.write(**dict.fromkeys(names, 100.0))  # one UpdateSignals: one change batch of five
    for i in range(5):
        plant.wait_state(f"a{i}", "active_unacked")
    plant.settle()
    assert [f"a{i}" for i in range(5)] in groups, groups
    assert all(store.get("states", f"a{i}")["in_alarm"] for i in range(5))
