"""The two Sparkplug counters: `seq` (0-255 per message, wrapping) and `bdSeq` (0-255 per MQTT session).

`bdSeq` is kept in the state directory so that a restarted node goes on from
the last session's number instead of reusing 0: the host pairs an NDEATH with
the NBIRTH of the same bdSeq, and a stale will from a previous run must not
match the new birth.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from petra.security.atomic import atomic_write

WRAP = 256


class Sequence:
    """``seq``: NBIRTH is 0, every later message of the session the next number, 255 wrapping to 0."""

    def __init__(self) -> None:
        self._next = 0

    def reset(self) -> int:
        """The NBIRTH's seq (0); the next message gets 1."""
        self._next = 1
        return 0

    def next(self) -> int:
        value = self._next
        self._next = (value + 1) % WRAP
        return value


class NodeState:
    """What survives a restart: the last bdSeq and a pending store-and-forward range.

    ``pending``: None, or the store-and-forward ranges (`forward.py`); the position in the WAL is the
    node's WAL cursor, not kept here.
    """

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / "node.json"
        self.bdseq: int | None = None
        self.pending: dict[str, Any] | None = None
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.path}: not a PETRA Sparkplug state file ({exc}); remove it to start afresh "
                             f"(the host then sees bdSeq 0)") from None
        bdseq = data.get("bdseq")
        self.bdseq = bdseq if isinstance(bdseq, int) and 0 <= bdseq < WRAP else None
        pending = data.get("pending")
        self.pending = pending if isinstance(pending, dict) else None

    def next_bdseq(self) -> int:
        """The bdSeq of a new session, saved before it is used."""
        self.bdseq = 0 if self.bdseq is None else (self.bdseq + 1) % WRAP
        self.save()
        return self.bdseq

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps({"bdseq": self.bdseq, "pending": self.pending}).encode())
