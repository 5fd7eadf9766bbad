"""asyncua's constructors with the plain Python types its annotations (NewTypes: Int32, UInt32, ...) refuse."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from asyncua import ua


def node_id(identifier: str | int = 0, namespace: int = 0) -> ua.NodeId:
    """`ua.NodeId(identifier, namespace)` (i=0 by default: the null NodeId)."""
    return ua.NodeId(cast(Any, identifier), cast(Any, namespace))


def status(code: int) -> ua.StatusCode:
    """`ua.StatusCode(code)`."""
    return ua.StatusCode(cast(Any, code))


def when(moment: dt.datetime) -> Any:
    """A datetime as DataValue's timestamps take it."""
    return moment
