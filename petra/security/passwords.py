"""Password hashing: Argon2id (libsodium through pynacl), at most two hashes at once.

Costs: ``OPSLIMIT = 8`` passes over ``MEMLIMIT = 32 MiB``, one lane (libsodium's
``crypto_pwhash_str``). Measured on the development machine (2 cores, pynacl
1.6.2, 9 verifies each, median): t=2/64 MiB 58 ms, t=3/64 MiB 76 ms,
t=3/48 MiB 53 ms, t=4/48 MiB 67 ms, t=6/32 MiB 57 ms, **t=8/32 MiB 71 ms**
(66-75 ms). We take t=8 at 32 MiB: inside the 50-100 ms a login should cost,
and two concurrent hashes need 64 MiB, which an edge box can spare where
128 MiB might not. A hash string carries its own costs, so raising them later
keeps every stored hash verifiable (`needs_rehash` says which are older).

`HASH_SLOTS` (two) hashes run at a time, process-wide: a flood of logins
queues for a slot instead of taking every core from the scan. A caller that
cannot get a slot within `SLOT_WAIT_S` gets `HashingBusy` (the control API
answers 503), so a queue of waiting logins cannot grow without bound.

`verify_password(None, password)` verifies against a dummy hash made with the
same costs, so an unknown user costs the same one Argon2id verify as a known
one with a wrong password.
"""

from __future__ import annotations

import threading
from functools import cache

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id

OPSLIMIT = 8
MEMLIMIT = 32 * 1024 * 1024
HASH_SLOTS = 2
SLOT_WAIT_S = 10.0
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024

_slots = threading.BoundedSemaphore(HASH_SLOTS)


class HashingBusy(Exception):
    """Every hashing slot stayed taken for `SLOT_WAIT_S`: try again later."""


class PasswordRefused(ValueError):
    """A new password that does not meet the rules (the message says which)."""


def check_new_password(password: str) -> None:
    """Refuse a password too short, too long or with control characters (PasswordRefused)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise PasswordRefused(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise PasswordRefused(f"a password has at most {MAX_PASSWORD_CHARS} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise PasswordRefused("a password cannot contain control characters (a newline, a tab, ...)")


def hash_password(password: str) -> str:
    """The Argon2id string (``$argon2id$v=19$m=32768,t=8,p=1$...``) of `password`."""
    with _slot():
        return argon2id.str(password.encode("utf-8"), opslimit=OPSLIMIT, memlimit=MEMLIMIT).decode("ascii")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`; with None (no such user), one verify
    against the dummy hash all the same, and False. Exactly one Argon2id verify either way."""
    candidate = password.encode("utf-8", "surrogatepass")[: MAX_PASSWORD_CHARS * 4]
    stored = _dummy_hash() if password_hash is None else password_hash
    with _slot():
        try:
            ok = bool(argon2id.verify(stored.encode("ascii"), candidate))
        except nacl.exceptions.InvalidkeyError:
            ok = False
        except (nacl.exceptions.CryptoError, ValueError, UnicodeEncodeError, TypeError):
            ok = False  # a malformed stored hash never lets anyone in
    return ok and password_hash is not None


def is_hash(text: object) -> bool:
    """Whether `text` looks like an Argon2id string this module writes or can verify."""
    return isinstance(text, str) and text.startswith("$argon2id$v=19$m=") and text.isascii()


def needs_rehash(password_hash: str) -> bool:
    """Whether `password_hash` was made with other costs than today's."""
    return f"$m={MEMLIMIT // 1024},t={OPSLIMIT},p=1$" not in password_hash


def warm_up() -> None:
    """Make the dummy hash now (once per process), so the first unknown user costs no extra hash."""
    _dummy_hash()


def _slot() -> _Slot:
    return _Slot()


class _Slot:
    def __enter__(self) -> None:
        if not _slots.acquire(timeout=SLOT_WAIT_S):
            raise HashingBusy(f"{HASH_SLOTS} password checks are running; try again in a moment")

    def __exit__(self, *exc: object) -> None:
        _slots.release()


@cache
def _dummy_hash() -> str:
    return argon2id.str(b"petra: no such user", opslimit=OPSLIMIT, memlimit=MEMLIMIT).decode("ascii")
