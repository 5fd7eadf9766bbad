"""What every notification back-end provides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class DeliveryError(Exception):
    """A failed send; `transient` failures are retried (network, 5xx, 429, 4xx SMTP), others are not."""

    def __init__(self, message: str, transient: bool, code: int | str | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.code = code


@dataclass(frozen=True)
class SendResult:
    """What the provider said: its id for the message or call, and its first status."""

    sid: str
    status: str


class Backend(Protocol):
    def send(self, record: dict[str, Any]) -> SendResult:
        """Send one delivery record (`to`, `body`, `twiml`, `subject`); raise DeliveryError on failure."""
        ...

    def close(self) -> None:
        """Free what the back-end holds between sends (its notifier is ending)."""
        ...
