"""Path -> current ActorRef map shared by every actor of one supervision tree."""

from __future__ import annotations

import threading
import time
from typing import Any

from pykka import ActorRef

__all__ = ["Registry"]


class Registry:
    """Thread-safe map from a child's path (``"petra/core/clock"``) to its current ref.

    Refs change on every restart, so actors must not keep a sibling's ref for long:
    they look it up here when they need it. The supervisor registers a child once it
    has answered its start ping and unregisters it when it exits, hangs or is removed.
    """

    def __init__(self) -> None:
        self._refs: dict[str, ActorRef[Any]] = {}
        self._changed = threading.Condition()

    def register(self, path: str, ref: ActorRef[Any]) -> None:
        """Point ``path`` at ``ref`` (replacing any previous instance)."""
        with self._changed:
            self._refs[path] = ref
            self._changed.notify_all()

    def unregister(self, path: str, ref: ActorRef[Any] | None = None) -> None:
        """Forget ``path``; if ``ref`` is given, only while it is still the current one."""
        with self._changed:
            current = self._refs.get(path)
            if current is not None and (ref is None or current is ref):
                del self._refs[path]
                self._changed.notify_all()

    def get(self, path: str) -> ActorRef[Any] | None:
        """The current ref at ``path``, or None when nothing is running there."""
        with self._changed:
            return self._refs.get(path)

    def wait_for(self, path: str, timeout: float) -> ActorRef[Any]:
        """Block until something is registered at ``path``.

        Raises:
            TimeoutError: nothing appeared within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while path not in self._refs:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"nothing registered at {path!r} within {timeout} s")
                self._changed.wait(remaining)
            return self._refs[path]

    def paths(self) -> list[str]:
        """All registered paths, sorted."""
        with self._changed:
            return sorted(self._refs)

    def __contains__(self, path: object) -> bool:
        with self._changed:
            return path in self._refs

    def __len__(self) -> int:
        with self._changed:
            return len(self._refs)
