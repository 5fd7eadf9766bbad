"""A server-sent-event client of PETRA's web stream over http.client, for the stream tests."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON (a browser's JSON.parse refuses it)")


def strict_json(text: str | bytes) -> Any:
    """`json.loads` as strict as a browser's JSON.parse: no bare NaN or Infinity."""
    return json.loads(text, parse_constant=_not_json)


@dataclass
class Event:
    kind: str
    data: Any
    received: float


class EventStream:
    """`GET /v1/stream` with the given headers; `next()` reads one event (comments are counted, not returned)."""

    def __init__(self, port: int, headers: dict[str, str], timeout: float = 10.0) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.connection.request("GET", "/v1/stream", headers={**headers, "Accept": "text/event-stream"})
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.comments = 0

    def next(self, kind: str | None = None, timeout: float = 10.0) -> Event:
        """The next event (of `kind`, skipping others) within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind or 'event'} within {timeout} s")
            sock = self.response.fp.raw._sock  # type: ignore[union-attr]
            sock.settimeout(remaining)
            event = self._read()
            if kind is None or event.kind == kind:
                return event

    def _read(self) -> Event:
        kind, data = "message", []
        while True:
            try:
                line = self.response.fp.readline()
            except TimeoutError:
                raise AssertionError("the stream sent nothing in time") from None
            if not line:
                raise ConnectionError("the stream ended")
            text = line.decode().rstrip("\r\n")
            if text.startswith(":"):
                self.comments += 1
                continue
            if not text:
                if data:
                    return Event(kind, strict_json("\n".join(data)), time.monotonic())
                continue
            field, _, value = text.partition(":")
            if field == "event":
                kind = value.strip()
            elif field == "data":
                data.append(value.lstrip())

    def close(self) -> None:
        """Hang up (the response holds the socket: close both, as a tab that goes away does)."""
        self.response.close()
        self.connection.close()
