"""What a PLC says about itself (CPU state, identity, order code) as text an operator can read.

python-snap7 answers with its own ctypes-like objects, some without a useful
``repr`` (``<snap7.type.S7OrderCode object at 0x...>``): these functions turn
them into plain ``name: value`` text. Pure; `petra s7 info` prints the result.
"""

from __future__ import annotations

_CPU_STATES = {"S7CpuStatusRun": "RUN", "S7CpuStatusStop": "STOP", "S7CpuStatusUnknown": "unknown"}


def cpu_state_text(state: object) -> str:
    """``S7CpuStatusRun`` -> ``RUN``; anything else as it came."""
    return _CPU_STATES.get(str(state), str(state))


def fields_text(info: object) -> str:
    """The public data fields of a snap7 answer as ``Name: value, ...`` (bytes decoded, padding stripped)."""
    names = [n for n in dir(info) if not n.startswith("_") and not callable(getattr(info, n, None))]
    return ", ".join(f"{name}: {_plain(getattr(info, name))}" for name in names) or str(info)


def order_code_text(order: object) -> str:
    """``6ES7 315-2EH14-0AB0 v3.2.6`` from an S7OrderCode (its code and version bytes V1.V2.V3)."""
    code = _plain(getattr(order, "OrderCode", ""))
    version = [getattr(order, v, None) for v in ("V1", "V2", "V3")]
    if all(isinstance(v, int) for v in version):
        return f"{code} v{'.'.join(str(v) for v in version)}".strip()
    return code or fields_text(order)


def _plain(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).split(b"\0", 1)[0].decode("latin-1").strip()
    return str(value)
