"""The primary host's ``spBv1.0/STATE/<host_id>``: online or offline, newest timestamp wins.

Sparkplug 3.0 hosts publish a retained JSON ``{"online": true|false, "timestamp": <ms>}``
(QoS 1); Sparkplug 2.x hosts published ``ONLINE``/``OFFLINE`` on ``STATE/<host_id>``.
Both are read. A message older than the newest one seen is ignored (a host's
will arriving after its new birth must not take it offline again).
"""

from __future__ import annotations

import json
from dataclasses import dataclass


class StateError(ValueError):
    """A STATE payload that is neither 3.0 JSON nor a 2.x ONLINE/OFFLINE string."""


@dataclass(frozen=True)
class HostState:
    online: bool
    timestamp: int  # ms; 0 for a 2.x string


def state_topics(host_id: str) -> tuple[str, str]:
    """The 3.0 topic and the 2.x one."""
    return f"spBv1.0/STATE/{host_id}", f"STATE/{host_id}"


def parse_state(payload: bytes) -> HostState | None:
    """The state a STATE payload says; None for an empty one (a retained STATE being cleared)."""
    text = payload.strip()
    if not text:
        return None
    if text in (b"ONLINE", b"OFFLINE"):
        return HostState(text == b"ONLINE", 0)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateError(f"STATE payload is not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("online"), bool):
        raise StateError("STATE payload has no boolean 'online'")
    stamp = data.get("timestamp", 0)
    if isinstance(stamp, bool) or not isinstance(stamp, int):
        raise StateError("STATE payload's 'timestamp' is not an integer")
    return HostState(data["online"], stamp)


class HostWatch:
    """The host's latest state; `update` says whether it changed."""

    def __init__(self) -> None:
        self.online = False
        self.timestamp = -1

    def update(self, state: HostState) -> bool:
        if state.timestamp and state.timestamp < self.timestamp:
            return False
        self.timestamp = max(self.timestamp, state.timestamp)
        changed = state.online != self.online
        self.online = state.online
        return changed
