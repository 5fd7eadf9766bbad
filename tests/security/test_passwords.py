"""Argon2id password hashing: costs, the dummy hash, the rules, the hashing slots."""

from __future__ import annotations

import threading

import pytest

from petra.security import passwords


def test_a_hash_is_argon2id_with_the_documented_costs_and_verifies_only_its_password() -> None:
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=32768,t=8,p=1$")
    assert passwords.is_hash(stored) and not passwords.needs_rehash(stored)
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse batterY")


def test_two_hashes_of_one_password_differ_by_their_salt(cheap_hashes) -> None:
    assert passwords.hash_password("same password") != passwords.hash_password("same password")


def test_an_unknown_user_costs_one_verify_against_the_dummy_hash_and_is_refused(cheap_hashes, verify_calls) -> None:
    stored = passwords.hash_password("the real one")
    assert passwords.verify_password(None, "the real one") is False
    assert passwords.verify_password(stored, "wrong one") is False
    assert len(verify_calls) == 2
    assert verify_calls[0] == passwords._dummy_hash().encode()
    assert verify_calls[1] == stored.encode()


def test_the_dummy_hash_has_todays_costs_so_it_takes_as_long_as_a_real_one() -> None:
    assert not passwords.needs_rehash(passwords._dummy_hash())


@pytest.mark.parametrize("stored", ["", "$argon2id$v=19$m=32768,t=8,p=1$garbage", "plaintext", "$2b$12$bcrypt"])
def test_a_malformed_stored_hash_never_lets_anyone_in(cheap_hashes, stored: str) -> None:
    assert passwords.verify_password(stored, "") is False
    assert passwords.verify_password(stored, stored) is False


@pytest.mark.parametrize(("password", "rule"), [
    ("short", "at least 8"),
    ("x" * 1025, "at most 1024"),
    ("good enough\n", "control characters"),
])
def test_a_new_password_must_meet_the_rules(password: str, rule: str) -> None:
    with pytest.raises(passwords.PasswordRefused, match=rule):
        passwords.check_new_password(password)


def test_no_more_than_two_hashes_run_at_once_and_a_third_caller_waits_then_gives_up(
    cheap_hashes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two verifies are held inside libsodium (blocked on an event); a third caller finds no slot
    and, with the wait shortened, gets HashingBusy instead of a third core."""
    stored = passwords.hash_password("a password")
    inside = threading.Semaphore(0)
    release = threading.Event()
    real = passwords.argon2id.verify

    def blocking(h: bytes, p: bytes) -> bool:
        inside.release()
        release.wait(10)
        return real(h, p)

    monkeypatch.setattr(passwords.argon2id, "verify", blocking)
    monkeypatch.setattr(passwords, "SLOT_WAIT_S", 0.05)
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(passwords.verify_password(stored, "a password")))
               for _ in range(2)]
    for t in threads:
        t.start()
    assert inside.acquire(timeout=5) and inside.acquire(timeout=5)
    with pytest.raises(passwords.HashingBusy):
        passwords.verify_password(stored, "a password")
    release.set()
    for t in threads:
        t.join(5)
    assert results == [True, True]
    assert passwords.verify_password(stored, "a password")  # the slots are free again
