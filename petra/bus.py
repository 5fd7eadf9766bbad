"""Change notification: who wants to hear that signals changed.

Publishers (signal groups, block chains) check `has_subscribers` first so a
plant with nobody listening pays nothing. Subscribers must be cheap and never
block: typically an actor ref's `tell`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from petra.messages import SignalsChanged

log = logging.getLogger(__name__)

Subscriber = Callable[[SignalsChanged], None]


class ChangeBus:
    """A copy-on-write list of subscribers, safe to publish from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: tuple[Subscriber, ...] = ()

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subscribers)

    def subscribe(self, subscriber: Subscriber) -> Subscriber:
        with self._lock:
            self._subscribers = (*self._subscribers, subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            # == rather than `is`: `obj.method` is a new bound-method object each time it is read
            self._subscribers = tuple(s for s in self._subscribers if s != subscriber)

    def publish(self, event: SignalsChanged) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:  # a broken listener must not stop the publisher
                log.exception("change subscriber %r failed", subscriber)
