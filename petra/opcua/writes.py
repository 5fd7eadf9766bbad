"""Client writes to signals: PETRA's one remote-write path, a status code per node, never an exception.

`SignalWrites` takes the place of asyncua's attribute service `write` for the server's sessions. A write
request's items that address a signal's Value go, in order and in a worker thread (the owner's answer may
take milliseconds; the server's loop never waits on the plant), through
`petra.control.remote_write.write_signal`: the caller's role and the signal's `writable_by`, PETRA's type
coercion, the signal's `min`/`max`, the owning actor, the audit trail (with the OPC-UA user and `via:
opcua`). Each refusal is that item's status code (`STATUS_OF`); the other items of the request are still
written. Items for any other node keep asyncua's own rules (a client may write none of PETRA's other nodes:
they are read-only). Nothing raised here reaches asyncua (whose PreWrite callbacks fail a whole request).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from asyncua import ua

from petra.opcua.uatypes import status
from petra.opcua.users import principal_of

if TYPE_CHECKING:
    from petra.control.handle import RuntimeHandle
    from petra.opcua.metrics import OpcuaMetrics
    from petra.security.roles import Principal

log = logging.getLogger(__name__)

STATUS_OF: dict[str, int] = {
    "unknown": ua.StatusCodes.BadNodeIdUnknown,
    "computed": ua.StatusCodes.BadNotWritable,
    "denied": ua.StatusCodes.BadUserAccessDenied,
    "type": ua.StatusCodes.BadTypeMismatch,
    "range": ua.StatusCodes.BadOutOfRange,
    "unavailable": ua.StatusCodes.BadResourceUnavailable,
    "rejected": ua.StatusCodes.BadNotWritable,
}
"""`WriteRefused.kind` -> the item's OPC-UA status code."""
MAX_WRITES_PER_REQUEST = 1000
"""Signal writes in one request; the items past it answer BadTooManyOperations."""

Item = tuple[int, str, Any]
"""(position in the request, signal name, the value the client sent)."""


class SignalWrites:
    """The write service of one server: signals through `write_signal`, the rest to asyncua's `fallback`."""

    def __init__(self, names: Mapping[ua.NodeId, str], fallback: Callable[..., Any], executor: Executor,
                 apply: Callable[[list[Item], Principal], list[int]], metrics: OpcuaMetrics | None = None) -> None:
        self.names = names
        self.fallback = fallback
        self.executor = executor
        self.apply = apply
        """In a worker thread: the items written as the principal, their status codes (PETRA's
        `apply_writes`, asked across the pipe when the server runs in its own process)."""
        self.metrics = metrics

    async def write(self, params: ua.WriteParameters, user: Any = None) -> list[ua.StatusCode]:
        """asyncua's `AttributeService.write(params, user)`, with signals PETRA's way."""
        try:
            return await self._write(params, user)
        except Exception:
            log.exception("OPC-UA: a write request failed")
            self._count("internal", len(params.NodesToWrite))
            return [status(ua.StatusCodes.BadInternalError) for _ in params.NodesToWrite]

    async def _write(self, params: ua.WriteParameters, user: Any) -> list[ua.StatusCode]:
        values = params.NodesToWrite
        results: list[ua.StatusCode | None] = [None] * len(values)
        items: list[Item] = []
        others: list[int] = []
        for i, item in enumerate(values):
            name = self.names.get(item.NodeId)
            if name is None:
                others.append(i)
            elif item.AttributeId != ua.AttributeIds.Value:
                results[i] = status(ua.StatusCodes.BadNotWritable)
            elif item.IndexRange:
                results[i] = status(ua.StatusCodes.BadIndexRangeInvalid)
            elif len(items) >= MAX_WRITES_PER_REQUEST:
                results[i] = status(ua.StatusCodes.BadTooManyOperations)
            else:
                variant = item.Value.Value if item.Value is not None else None
                raw = None if variant is None or variant.VariantType == ua.VariantType.Null else variant.Value
                items.append((i, name, raw))
        if others:
            sub = ua.WriteParameters(NodesToWrite=[values[i] for i in others])
            answered = await self.fallback(sub, user=user) if user is not None else await self.fallback(sub)
            for i, answer in zip(others, answered, strict=True):
                results[i] = answer
        if items:
            principal = principal_of(user)
            if principal is None:
                for i, _, _ in items:
                    results[i] = status(ua.StatusCodes.BadUserAccessDenied)
                self._count("denied", len(items))
            else:
                loop = asyncio.get_running_loop()
                answered_items = await loop.run_in_executor(self.executor, self._apply, items, principal)
                if len(answered_items) != len(items):
                    raise RuntimeError(f"{len(answered_items)} answers to {len(items)} writes")
                for (i, _, _), code in zip(items, answered_items, strict=True):
                    results[i] = status(code)
        return [r if r is not None else status(ua.StatusCodes.BadInternalError) for r in results]

    def _apply(self, items: list[Item], principal: Principal) -> list[int]:
        try:
            return self.apply(items, principal)
        except Exception:
            log.exception("OPC-UA: the writes of %s could not be applied", principal.name)
            self._count("internal", len(items))
            return [ua.StatusCodes.BadInternalError] * len(items)

    def _count(self, result: str, n: int = 1) -> None:
        if self.metrics is not None:
            self.metrics.writes.labels(result).inc(n)


def apply_writes(runtime: RuntimeHandle, items: list[Item], acting: Principal | None,
                 count: Callable[[str], None]) -> list[int]:
    """In PETRA (a worker thread): each item through `write_signal` as `acting` (None: refused); its code."""
    from petra.control.remote_write import WriteRefused, write_signal

    codes: list[int] = []
    for _, name, raw in items:
        if acting is None:
            codes.append(ua.StatusCodes.BadUserAccessDenied)
            count("denied")
            continue
        if raw is None:
            codes.append(ua.StatusCodes.BadTypeMismatch)
            count("type")
            continue
        try:
            write_signal(runtime, name, raw, acting, "opcua")
        except WriteRefused as exc:
            codes.append(STATUS_OF.get(exc.kind, ua.StatusCodes.BadInternalError))
            count(exc.kind)
        except Exception:
            log.exception("OPC-UA: writing %s failed", name)
            codes.append(ua.StatusCodes.BadInternalError)
            count("internal")
        else:
            codes.append(ua.StatusCodes.Good)
            count("accepted")
    return codes
