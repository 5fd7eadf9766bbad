"""Lock-out per user name and per address, with an injected clock."""

from __future__ import annotations

import pytest

from petra.security.lockout import Lockout


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def lockout(clock: Clock, max_failures: int = 3, window_s: float = 600.0, max_keys: int = 100) -> Lockout:
    return Lockout(max_failures, window_s, clock, max_keys=max_keys)


def test_a_user_name_is_locked_after_max_failures_until_the_window_has_passed_since_the_last() -> None:
    clock = Clock()
    lock = lockout(clock)
    for address in ("10.0.0.1", "10.0.0.2"):  # two addresses, so only the user name reaches 3
        assert lock.check("alice", address) is None
        assert lock.failed("alice", address) is None
        clock.t += 10
    refusal = lock.failed("alice", "10.0.0.3")
    assert refusal is not None and refusal.key == "user:alice" and refusal.retry_after == 600
    clock.t += 599.5
    assert lock.check("alice", "10.0.0.9") == 1
    clock.t += 0.5
    assert lock.check("alice", "10.0.0.9") is None
    assert lock.failed("alice", "10.0.0.9") is None  # counting starts afresh after a lock ran out


def test_failures_older_than_the_window_do_not_count() -> None:
    clock = Clock()
    lock = lockout(clock)
    lock.failed("alice", None)
    lock.failed("alice", None)
    clock.t += 600
    assert lock.failed("alice", None) is None
    assert lock.check("alice", None) is None


def test_a_locked_user_does_not_lock_others() -> None:
    clock = Clock()
    lock = lockout(clock)
    for i in range(3):
        lock.failed("alice", f"10.0.0.{i}")
    assert lock.check("alice", "10.0.1.1") is not None
    assert lock.check("bob", "10.0.1.1") is None
    assert lock.check("bob", "10.0.0.1") is None


def test_one_address_that_fails_is_locked_itself_so_it_cannot_lock_every_user() -> None:
    clock = Clock()
    lock = lockout(clock)
    users = ["alice", "bob", "carol", "dave"]
    tries = 0
    for user in users:
        for _ in range(3):
            if lock.check(user, "203.0.113.7") is not None:
                break
            lock.failed(user, "203.0.113.7")
            tries += 1
    assert tries == 3  # three guesses in all from that address
    assert lock.check(None, "203.0.113.7") == 600
    # it spent them all on alice, so alice is locked; nobody else can be from there this window
    assert [lock.check(u, "198.51.100.1") is not None for u in users] == [True, False, False, False]


def test_an_address_spreading_its_guesses_over_users_locks_none_of_them() -> None:
    clock = Clock()
    lock = lockout(clock)
    for user in ("alice", "bob", "carol", "dave", "erin"):
        if lock.check(user, "203.0.113.7") is None:
            lock.failed(user, "203.0.113.7")
    assert lock.check(None, "203.0.113.7") is not None
    assert all(lock.check(u, "198.51.100.1") is None for u in ("alice", "bob", "carol", "dave", "erin"))


def test_a_bearer_token_failure_counts_against_the_address_only() -> None:
    clock = Clock()
    lock = lockout(clock)
    for _ in range(3):
        lock.failed(None, "10.0.0.5")
    assert lock.check(None, "10.0.0.5") == 600
    assert lock.check("alice", "10.0.0.6") is None


def test_an_admin_unlock_ends_a_user_lockout_at_once() -> None:
    clock = Clock()
    lock = lockout(clock)
    for i in range(3):
        lock.failed("alice", f"10.0.0.{i}")
    assert lock.unlock("alice") is True
    assert lock.check("alice", "10.0.9.9") is None
    assert lock.unlock("alice") is False


def test_success_forgets_the_user_names_failures_but_not_the_addresses() -> None:
    clock = Clock()
    lock = lockout(clock)
    lock.failed("alice", "10.0.0.1")
    lock.failed("alice", "10.0.0.1")
    lock.succeeded("alice", "10.0.0.1")
    assert lock.failed("alice", "10.0.0.2") is None  # alice starts again from one
    refusal = lock.failed("bob", "10.0.0.1")  # the address's third failure
    assert refusal is not None and refusal.key == "addr:10.0.0.1"


def test_memory_is_bounded_and_the_oldest_keys_go_first() -> None:
    clock = Clock()
    lock = lockout(clock, max_keys=10)
    for i in range(50):
        lock.failed(f"user{i}", None)
        clock.t += 1
    assert len(lock) == 10
    lock.failed("user49", None)
    lock.failed("user49", None)
    assert lock.check("user49", None) is not None


def test_locked_keys_lists_what_is_locked_now() -> None:
    clock = Clock()
    lock = lockout(clock)
    for _ in range(3):
        lock.failed("alice", "10.0.0.1")
    assert sorted(r.key for r in lock.locked_keys()) == ["addr:10.0.0.1", "user:alice"]


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        Lockout(0, 600, Clock())
