"""Who writes a signal: a block chain or a signal group, each slot exactly one.

`Owner` is what the signal table, the bus's `SignalsChanged` and reload plans
carry; its string form is what users see (the `owner` of `/v1/signals` and of
the event stream): ``logic/<chain>`` for a chain, the group's name for a group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cache

from petra.paths import chain_path, group_path


class OwnerKind(Enum):
    CHAIN = "chain"
    """A block chain computes the signal every scan."""
    GROUP = "group"
    """A signal-group actor holds it for drivers, the control API and the rest."""


@dataclass(frozen=True, slots=True)
class Owner:
    """The single writer of a signal.

    `chain` and `group` hand out one instance per owner and the hash is
    computed once: owners are dict keys on hot paths (a driver's writes are
    batched by owner, the MQTT bridge tests each change's owner), where a
    string key cost 13 ns and a plain frozen dataclass 130.
    """

    kind: OwnerKind
    name: str
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.kind.value, self.name)))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def chain(cls, name: str) -> Owner:
        return _owner(OwnerKind.CHAIN, name)

    @classmethod
    def group(cls, name: str) -> Owner:
        return _owner(OwnerKind.GROUP, name)

    @property
    def is_chain(self) -> bool:
        return self.kind is OwnerKind.CHAIN

    @property
    def path(self) -> str:
        """The owning actor's path in the supervision tree."""
        return chain_path(self.name) if self.is_chain else group_path(self.name)

    def __str__(self) -> str:
        return f"logic/{self.name}" if self.is_chain else self.name


@cache
def _owner(kind: OwnerKind, name: str) -> Owner:
    return Owner(kind, name)


REMOVED = Owner.group("")
"""The owner of a tombstone slot: a signal a reload removed (its slot stays so compiled chains keep theirs)."""
