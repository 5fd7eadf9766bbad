import gc
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SERIAL: dict[str, str] = {
    "tests/fleet/":
        "three petra processes, two clickhouse-servers and a broker for a minute, with SIGKILLs",
    "tests/chaos/":
        "faults across a whole plant for 40 s, bounded by how long the scan may stall",
    "tests/alarms/test_durability.py":
        "kill -9 in the middle of delays and escalations, then deadlines held to a few tenths of a second",
    "tests/service/test_petra_as_a_service.py::test_watchdog_pings_stop_while_the_scan_is_wedged_and_resume_after":
        "watches a fixed window of wall time for watchdog pings that must not come",
    "tests/supervision/test_supervision_failures.py::test_hung_child_is_detected_counted_abandoned_and_replaced":
        "a hang must be seen within 0.8 s (a 0.2 s probe timeout and scheduling slack)",
    "tests/drivers/test_simulator.py":
        "the simulator's fixed ports 10102 and 10502",
    "tests/control/test_reload.py::test_a_reload_restarts_only_what_changed_and_keeps_signal_values":
        "every tick during the reload must be less than one 20 ms scan late",
}
"""Test node id prefix -> why it must not share the machine: `serial` tests, which `make test` runs after
the parallel pass (`-m "not serial"` under pytest-xdist) on their own. A plain `pytest` runs everything."""


def _stale_serial_entries(root: Path) -> list[str]:
    """SERIAL entries that name no file, folder or test function any more (renamed or moved)."""
    stale = []
    for prefix in SERIAL:
        path, _, name = prefix.partition("::")
        where = root / path
        if not where.exists() or (name and f"def {name.split('[')[0]}(" not in where.read_text()):
            stale.append(prefix)
    return stale


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    stale = _stale_serial_entries(Path(config.rootpath))
    if stale:
        raise pytest.UsageError(f"tests/conftest.py SERIAL names what is not there any more: {stale}")
    for item in items:
        reason = next((why for prefix, why in SERIAL.items() if item.nodeid.startswith(prefix)), None)
        if reason is not None:
            item.add_marker(pytest.mark.serial(reason))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection built (about 180,000 objects: every test item, module and parametrization),
    which lives as long as the session: a full garbage collection over it took about 0.1 s, a pause that
    stops every thread of an in-process plant (a reload test saw a tick 108 ms late). PETRA freezes its
    start-up objects the same way (`gc_freeze`); the test plants, started with gc_freeze=False, still
    collect their own garbage."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True, scope="session")
def _control_socket_of_the_suite(tmp_path_factory: pytest.TempPathFactory):
    """Runtimes that name no control socket use one of the suite's, never the machine's default
    (a PETRA running on this machine, or a second test run, must not meet the tests there)."""
    path = tmp_path_factory.mktemp("petra-socket") / "control.sock"
    previous = os.environ.get("PETRA_SOCKET")
    os.environ["PETRA_SOCKET"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("PETRA_SOCKET", None)
    else:
        os.environ["PETRA_SOCKET"] = previous


@pytest.fixture(autouse=True, scope="session")
def _shared_actor_pools():
    """Actor pools are process-wide and live as long as the process (a fixed few threads).

    Create them before any test so the tests that check for leaked threads count
    only what the test itself started, whatever order the tests run in.
    """
    from petra.actors.block_chain import BlockChainActor
    from supervision import ActorPool

    ActorPool.named(BlockChainActor.pool_name, BlockChainActor.pool_workers)
    from petra.alarms.alarm_actor import AlarmActor

    ActorPool.named(AlarmActor.pool_name, AlarmActor.pool_workers)
    yield


ALARM_STORE_IDLE_EXIT_S = 0.2
"""The alarm store's writer thread ends after this long without work in the tests (2 s in PETRA)."""


@pytest.fixture(autouse=True, scope="session")
def _alarm_store_writers_end_soon(_shared_actor_pools: None) -> Iterator[None]:
    """A stopped plant's alarm store writer ends once it has been idle for `IDLE_EXIT_S`: it is
    stopping, not leaked, but the leak check below waits for it after every alarm test (2 s each
    with PETRA's value). Any idle time is correct (a submit starts a new writer); the suite uses a
    short one so that wait is short. Nothing in the suite measures the idle exit itself."""
    from petra.alarms import store

    previous = store.IDLE_EXIT_S
    store.IDLE_EXIT_S = ALARM_STORE_IDLE_EXIT_S
    yield
    store.IDLE_EXIT_S = previous


LEAK_GRACE_S = 5.0
"""How long a test's threads and actors may take to end after it: they are stopping, not leaked."""

LEAKS_REPORTED_NOT_FAILED: dict[str, str] = {
    "tests/supervision/test_supervision_pool.py::test_a_hung_pooled_actor_is_replaced_and_its_stuck_worker_too":
        "the test hangs a pooled actor for 30 s on purpose: the supervisor abandons it, it ends when its hang does",
}
"""Test node id prefix -> why its leaks are reported (as a warning) instead of failing the test."""


def _process_wide_pool_thread(thread: threading.Thread) -> bool:
    """A worker or monitor of a process-wide `ActorPool` (they live as long as the process, and a pool
    replaces a stuck worker with a new thread)."""
    from supervision import ActorPool

    return any(thread.name.startswith(f"pool-{name}-") for name in list(ActorPool._pools))


def _leaks(threads_before: set[threading.Thread], actors_before: set[str]) -> tuple[list[str], list[str]]:
    import pykka

    threads = [t for t in threading.enumerate()
               if t not in threads_before and t.is_alive() and not _process_wide_pool_thread(t)]
    actors = [ref for ref in pykka.ActorRegistry.get_all() if ref.actor_urn not in actors_before]
    return ([f"{t.name} (daemon={t.daemon})" for t in threads],
            [f"{ref.actor_class.__name__} {ref.actor_urn}" for ref in actors])


@pytest.fixture(autouse=True)
def _no_leaked_threads_or_actors(request: pytest.FixtureRequest, _shared_actor_pools: None) -> Iterator[None]:
    """Fail a test that leaves threads or pykka actors behind (a runtime it did not stop, a client it did
    not close). Threads that existed before the test (session fixtures such as brokers, the process-wide
    actor pools) do not count; what is still stopping gets LEAK_GRACE_S to end."""
    import pykka

    threads_before = set(threading.enumerate())
    actors_before = {ref.actor_urn for ref in pykka.ActorRegistry.get_all()}
    yield
    reason = next((why for prefix, why in LEAKS_REPORTED_NOT_FAILED.items()
                   if request.node.nodeid.startswith(prefix)), None)
    grace = 0.0 if reason is not None else LEAK_GRACE_S  # a reported leak outlives any grace: report it now
    deadline = time.monotonic() + grace
    threads, actors = _leaks(threads_before, actors_before)
    while (threads or actors) and time.monotonic() < deadline:
        time.sleep(0.02)
        threads, actors = _leaks(threads_before, actors_before)
    if not (threads or actors):
        return
    for ref in pykka.ActorRegistry.get_all():  # a leaked plant would run on for the rest of the session
        if ref.actor_urn not in actors_before:
            ref.stop(block=False)
    message = (f"{request.node.nodeid} left {len(threads)} thread(s) and {len(actors)} actor(s) running "
               f"{grace:g} s after it ended: threads {threads}, actors {actors}")
    if reason is not None:
        warnings.warn(f"{message} (reported, not failed: {reason})", stacklevel=1)
    else:
        pytest.fail(message, pytrace=False)
