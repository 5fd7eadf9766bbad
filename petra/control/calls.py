"""What a control API call is: `Request`, `Response`, `ApiError`, and the parsers of bodies and queries.

Pure of routing and sockets, so that every module with route handlers (the
built-in ones in `petra.control.api`, the logins in `petra.control.login`,
the sections' such as `petra.alarms.api`) uses the same types without
importing the API itself.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

from petra import jsontext
from petra.security.roles import Principal, Role


@dataclass(frozen=True)
class Request:
    """One call. `principal` is who it acts as (the HTTP server always sets it, with `caller` its audit name);
    None is an in-process caller (tests, tools), which acts as admin under `caller`'s name."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    caller: str = "unknown"
    principal: Principal | None = None
    secure: bool = False
    """Whether it came over TLS (a session cookie set in answer is then `Secure`)."""
    session_token: str | None = None
    """The session cookie's token when `principal` is that session (what a logout ends)."""
    content_type: str = ""
    """The body's media type as the client declared it (`application/json`), without parameters."""

    @property
    def acting(self) -> Principal:
        """Who the request acts as."""
        return self.principal or Principal(self.caller, Role.ADMIN, "in-process", "local")


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()
    """Extra response headers (Retry-After, Set-Cookie)."""

    def encode(self) -> bytes:
        return (jsontext.dumps(self.body, default=str) + "\n").encode()


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


MAX_INT_DIGITS = 20
"""No PETRA value is wider than 64 bits; longer integers are refused before Python converts them."""


def _bounded_int(text: str) -> int:
    value = int(text) if len(text.lstrip("-")) <= MAX_INT_DIGITS else None
    if value is None or not -(2**63) <= value < 2**64:
        raise ValueError(f"integer {text[:24]}{'...' if len(text) > 24 else ''} is out of the 64-bit range")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:24]} is not finite (beyond the float range)")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body ({} when empty); 400 for anything else.

    The one parser of every API route: numbers PETRA cannot hold (NaN, Infinity,
    1e400, integers past 64 bits) and nesting deeper than Python can recurse are
    the client's mistake, answered with a 400, never a 500.
    """
    if not request.body:
        return {}
    try:
        data = json.loads(request.body, parse_int=_bounded_int, parse_float=_finite_float,
                          parse_constant=_no_constant)
    except RecursionError:
        raise ApiError(400, "body is nested too deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "body must be a JSON object")
    return data


@overload
def query_number(request: Request, name: str, default: float, *, minimum: float = 0.0,
                 maximum: float = 1e12, integer: bool = False) -> float: ...


@overload
def query_number(request: Request, name: str, default: None = None, *, minimum: float = 0.0,
                 maximum: float = 1e12, integer: bool = False) -> float | None: ...


def query_number(request: Request, name: str, default: float | None = None, *, minimum: float = 0.0,
                 maximum: float = 1e12, integer: bool = False) -> float | None:
    """`?name=` as a finite number within [minimum, maximum] (`default` when absent); 400 otherwise.

    The query-string twin of `json_body`: inf, nan and 1e400 are the client's mistake, not a 500 later.
    """
    text = request.query.get(name)
    if text in (None, ""):
        return default
    try:
        value = float(text) if len(text) <= 64 else math.nan
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and minimum <= value <= maximum) or (integer and not value.is_integer()):
        kind = "an integer" if integer else "a number"
        raise ApiError(400, f"{name} must be {kind} from {minimum:g} to {maximum:g}")
    return int(value) if integer else value


Handler = Callable[[Request, dict[str, str]], Any]
"""A route handler: returns a JSON-able body (200) or a Response; raises ApiError for 4xx."""
