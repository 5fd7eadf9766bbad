"""One path for every write to a signal from outside the plant: the control API, the web HMI, OPC-UA, Sparkplug.

`write_signal` decides and applies a remote write the same way whoever sends
it: the signal must exist and not be computed by a block, the caller's role
must reach the signal's `writable_by` (`petra.control.access.write_refusal`),
the value is coerced with PETRA's rules (`petra.values.coerce`), a number must
lie within the signal's `min`/`max`, and the owning signal-group actor must
accept it. Every refusal for rights and every accepted write is audited with
the caller's principal and `source` (``"api"``, ``"opcua"``, ``"sparkplug"``).

It blocks on the owner's answer (at most `ASK_TIMEOUT_S`): an asyncio server
calls it in a worker thread (``await loop.run_in_executor(None, ...)``).
A refusal raises `WriteRefused` whose `kind` each protocol maps to its own
answer (HTTP status, OPC-UA status code, a Sparkplug counter).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from pykka import ActorDeadError
from pykka import Timeout as PykkaTimeout

from petra.control import access
from petra.messages import SignalUpdate, UpdateSignals
from petra.values import CoercionError, DataType, Value, coerce

if TYPE_CHECKING:
    from petra.config.model import SignalConfig
    from petra.control.handle import RuntimeHandle
    from petra.security.roles import Principal

ASK_TIMEOUT_S = 5.0

RefusalKind = Literal["unknown", "computed", "denied", "type", "range", "unavailable", "rejected"]

HTTP_STATUS: dict[str, int] = {"unknown": 404, "computed": 409, "denied": 403, "type": 422, "range": 422,
                               "unavailable": 503, "rejected": 422}
"""The control API's answer to each refusal kind."""


class WriteRefused(Exception):
    """A remote write that was not applied: `kind` says why for the protocol, the message says it for people."""

    def __init__(self, kind: RefusalKind, message: str) -> None:
        super().__init__(message)
        self.kind: RefusalKind = kind


def range_refusal(spec: SignalConfig, value: Value) -> str | None:
    """Why `value` lies outside `spec`'s `min`/`max` (None when inside, or when the signal has no limits)."""
    if spec.type not in (DataType.INT, DataType.FLOAT) or isinstance(value, bool | str):
        return None
    low, high = getattr(spec, "minimum", None), getattr(spec, "maximum", None)
    if isinstance(value, float) and math.isnan(value) and (low is not None or high is not None):
        return f"'{spec.name}' takes values from {_limits(spec)}; NaN is outside them"
    if (low is not None and value < low) or (high is not None and value > high):
        unit = f" {spec.unit}" if spec.unit else ""
        return f"{value}{unit} is outside the range of '{spec.name}' ({_limits(spec)}{unit})"
    return None


def _limits(spec: SignalConfig) -> str:
    low, high = getattr(spec, "minimum", None), getattr(spec, "maximum", None)
    return f"{'-inf' if low is None else f'{low:g}'} to {'inf' if high is None else f'{high:g}'}"


def write_signal(runtime: RuntimeHandle, name: str, raw: Any, principal: Principal, source: str,
                 **details: Any) -> dict[str, Any]:
    """Apply `principal`'s write of `raw` to signal `name`; the signal's sample after it, or `WriteRefused`.

    `details` go into both audit entries (the control API adds the request's method and path)."""
    table = runtime.plant.table
    slot = table.index.get(name)
    if slot is None:
        raise WriteRefused("unknown", f"unknown signal '{name}'")
    spec = table.specs[slot]
    owner = table.owners[slot]
    if owner.is_chain:
        raise WriteRefused("computed", f"'{name}' is computed by {owner} every scan; use force to hold it")
    refusal = access.write_refusal(spec, principal.role)
    if refusal is not None:
        runtime.audit("access.denied", principal.audit_actor, via=source, **details, signal=name,
                      role=principal.role.label, address=principal.address, user=principal.user, reason=refusal)
        raise WriteRefused("denied", refusal)
    try:
        value = coerce(raw, table.types[slot])
    except CoercionError as exc:
        raise WriteRefused("type", f"{name}: {exc}") from None
    out_of_range = range_refusal(spec, value)
    if out_of_range is not None:
        raise WriteRefused("range", out_of_range)
    tree = runtime.tree
    ref = None if tree is None else tree.lookup(owner.path)
    if ref is None:
        raise WriteRefused("unavailable", f"the owner of '{name}' ({owner.path}) is not running right now; try again")
    try:
        errors = ref.ask(UpdateSignals((SignalUpdate(name, value),), f"{source}:{principal.audit_actor}"),
                         block=True, timeout=ASK_TIMEOUT_S)
    except (ActorDeadError, PykkaTimeout):
        raise WriteRefused("unavailable", f"the owner of '{name}' ({owner.path}) did not answer; try again") from None
    if errors:
        raise WriteRefused("rejected", "; ".join(errors))
    runtime.audit("signal.set", principal.audit_actor, via=source, **details, signal=name, value=value)
    return table.read(name).to_dict()
