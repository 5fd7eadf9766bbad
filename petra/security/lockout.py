"""Lock-out after failed logins: per user name and per client address, with an injected clock.

Failures are counted per key, a user name (``user:<name>``) and a client
address (``addr:<address>``), within a window (`security.lockout_window_minutes`,
default 10). When a key has `max_failures` (`security.max_failed_auth_attempts`)
within the window, it is locked until the window has passed since its last
failure; `check` answers the seconds left (the control API's 429 Retry-After).

* A failed password login counts against its user name and its address; a
  failed bearer token only against its address (a token names no user).
* One address that fails `max_failures` times is locked itself, so from one
  address an attacker gets at most `max_failures` tries per window in all, and
  cannot go on to lock one user after another.
* A success clears the user name's failures, not the address's: a caller with
  one good account cannot log in between guesses to reset its address.
* A locked key refuses before any password is hashed, so a locked-out flood
  costs no Argon2id time.
* `unlock(user)` (an admin: ``petra user unlock NAME`` or the admin API) ends a
  user name's lock-out at once; otherwise time does. `unlock_address` the same
  for an address.
* Memory is bounded: at most `max_keys` keys are tracked (default 10,000);
  past it the key whose last failure is oldest is forgotten first.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_MAX_KEYS = 10_000


def user_key(user: str) -> str:
    return f"user:{user}"


def address_key(address: str) -> str:
    return f"addr:{address}"


@dataclass(frozen=True)
class Refusal:
    """A key is locked: which, and for how many more seconds (rounded up, at least 1)."""

    key: str
    retry_after: int


@dataclass
class _Key:
    times: deque[float]
    locked_until: float | None = None


class Lockout:
    """Failure counts and locks; not thread-safe (the caller holds its lock)."""

    def __init__(self, max_failures: int, window_s: float, now: Callable[[], float],
                 max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_failures < 1 or window_s <= 0 or max_keys < 2:
            raise ValueError("max_failures >= 1, window_s > 0 and max_keys >= 2 are required")
        self.max_failures = max_failures
        self.window_s = window_s
        self.now = now
        self.max_keys = max_keys
        self._keys: OrderedDict[str, _Key] = OrderedDict()

    def check(self, user: str | None, address: str | None) -> int | None:
        """Seconds until `user` and `address` may try again, or None when neither is locked."""
        refusal = self.refusal(user, address)
        return refusal.retry_after if refusal is not None else None

    def refusal(self, user: str | None, address: str | None) -> Refusal | None:
        """The lock that refuses `user` from `address` (the longer one), or None."""
        now = self.now()
        worst: Refusal | None = None
        for key in _keys(user, address):
            left = self._locked_for(key, now)
            if left is not None and (worst is None or left > worst.retry_after):
                worst = Refusal(key, left)
        return worst

    def failed(self, user: str | None, address: str | None) -> Refusal | None:
        """Record a failure; the lock it starts or extends (None when no key is locked now)."""
        now = self.now()
        for key in _keys(user, address):
            self._locked_for(key, now)  # ends an expired lock first
            entry = self._keys.pop(key, None) or _Key(deque())
            entry.times.append(now)
            while entry.times and entry.times[0] <= now - self.window_s:
                entry.times.popleft()
            while len(entry.times) > self.max_failures:
                entry.times.popleft()
            if len(entry.times) >= self.max_failures:
                entry.locked_until = now + self.window_s
            self._keys[key] = entry  # most recent failure last
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return self.refusal(user, address)

    def succeeded(self, user: str | None, address: str | None) -> None:
        """A good login: the user name's failures are forgotten (the address's are kept)."""
        if user is not None:
            self._keys.pop(user_key(user), None)

    def unlock(self, user: str) -> bool:
        """End `user`'s lock-out and forget its failures; whether it was locked."""
        return self._forget(user_key(user))

    def unlock_address(self, address: str) -> bool:
        """End `address`'s lock-out and forget its failures; whether it was locked."""
        return self._forget(address_key(address))

    def locked_keys(self) -> list[Refusal]:
        """Every key locked now (for the admin API's list)."""
        now = self.now()
        out = []
        for key in list(self._keys):
            left = self._locked_for(key, now)
            if left is not None:
                out.append(Refusal(key, left))
        return out

    def __len__(self) -> int:
        return len(self._keys)

    def _forget(self, key: str) -> bool:
        was = self._locked_for(key, self.now()) is not None
        self._keys.pop(key, None)
        return was

    def _locked_for(self, key: str, now: float) -> int | None:
        entry = self._keys.get(key)
        if entry is None or entry.locked_until is None:
            return None
        left = entry.locked_until - now
        if left <= 0:  # the lock has run out: start counting afresh
            del self._keys[key]
            return None
        return max(1, math.ceil(left))


def _keys(user: str | None, address: str | None) -> list[str]:
    keys = []
    if user is not None:
        keys.append(user_key(user))
    if address is not None:
        keys.append(address_key(address))
    return keys
