"""Argon2id at libsodium's minimum costs, for tests that hash many passwords.

The costs are read when a hash is made, and the dummy hash (for unknown users)
is made once per process: the fixture swaps both and puts them back. Hashes
made under it still verify afterwards (a hash string carries its costs).
"""

from __future__ import annotations

from collections.abc import Iterator

import nacl.pwhash.argon2id as argon2id
import pytest

from petra.security import passwords


@pytest.fixture
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(passwords, "OPSLIMIT", argon2id.OPSLIMIT_MIN)
    monkeypatch.setattr(passwords, "MEMLIMIT", argon2id.MEMLIMIT_MIN)
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The stored hashes every Argon2id verify was asked to check, in order."""
    calls: list[bytes] = []
    real = argon2id.verify

    def counting(stored: bytes, password: bytes) -> bool:
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(argon2id, "verify", counting)
    return calls
