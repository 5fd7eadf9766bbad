"""IEC 61131-3 timers TON, TOF and TP, driven by the tick time `now`.

Common rules:

* `preset_ms` (required, >= 0) is the preset time PT. The optional input
  `pt_ms` overrides it when connected; its default -1.0 (any negative or NaN
  value) means "use preset_ms". PT is read every scan, so changing it while a
  timer runs takes effect at once.
* `et_ms` is the elapsed time ET in milliseconds (float), never above PT.
* A timer expires when ET >= PT - 1e-6 ms: the nanosecond of slack absorbs
  float rounding in `(now - start) * 1000` so "exactly at preset" counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from petra.blocks.base import NUMERIC, Block, Param, Port, block_type
from petra.values import DataType

_EPS_MS = 1e-6
_INPUTS = (
    Port("in", DataType.BOOL),
    Port("pt_ms", NUMERIC, default=-1.0, doc="preset override in ms; negative means use preset_ms"),
)
_OUTPUTS = (Port("q", DataType.BOOL), Port("et_ms", DataType.FLOAT))
_PARAMS = (Param("preset_ms", {"type": "number", "minimum": 0}, required=True, doc="preset time PT in ms"),)


class _Timer(Block):
    __slots__ = ("_preset", "_since")
    inputs = _INPUTS
    outputs = _OUTPUTS
    params = _PARAMS

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._preset = float(self.p["preset_ms"])
        self._since: float | None = None


@block_type
class Ton(_Timer):
    """On delay: q turns true once `in` has been true for PT; false as soon as `in` drops.

    ET counts from the scan `in` became true (ET = 0 on that scan) up to PT and
    holds there; `in` false resets ET to 0. PT = 0 makes q follow `in`. `in`
    true on the first scan starts timing on that scan.
    """

    type_name = "TON"

    def step(self, now: float, in_: bool, pt_ms: float) -> tuple[bool, float]:
        if not in_:
            self._since = None
            return False, 0.0
        pt = float(pt_ms) if pt_ms >= 0.0 else self._preset
        since = self._since
        if since is None:
            self._since = since = now
        et = (now - since) * 1000.0
        if et >= pt - _EPS_MS:
            return True, pt
        return False, et


@block_type
class Tof(_Timer):
    """Off delay: q is true while `in` is true and for PT after it drops.

    ET is 0 while `in` is true, counts from the falling edge up to PT, then
    holds at PT while `in` stays false. A new true `in` during the delay
    cancels it (q stays true, ET back to 0). Before `in` was ever true, q is
    false and ET is 0.
    """

    __slots__ = ("_expired", "_on")
    type_name = "TOF"

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._on = False
        self._expired = False

    def step(self, now: float, in_: bool, pt_ms: float) -> tuple[bool, float]:
        if in_:
            self._on = True
            self._since = None
            self._expired = False
            return True, 0.0
        pt = float(pt_ms) if pt_ms >= 0.0 else self._preset
        if self._expired:
            return False, pt
        if not self._on:
            return False, 0.0
        since = self._since
        if since is None:
            self._since = since = now
        et = (now - since) * 1000.0
        if et >= pt - _EPS_MS:
            self._on = False
            self._since = None
            self._expired = True
            return False, pt
        return True, et


@block_type
class Tp(_Timer):
    """Pulse: a rising edge of `in` makes q true for exactly PT; not retriggerable.

    Edges while the pulse runs are ignored and dropping `in` does not cut the
    pulse short. ET counts up to PT during the pulse; afterwards it holds at PT
    while `in` stays true and is 0 once `in` is false. The edge memory starts
    false, so `in` true on the first scan starts a pulse. PT = 0 gives no pulse.
    """

    __slots__ = ("_prev",)
    type_name = "TP"

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._prev = False

    def step(self, now: float, in_: bool, pt_ms: float) -> tuple[bool, float]:
        pt = float(pt_ms) if pt_ms >= 0.0 else self._preset
        rising = in_ and not self._prev
        self._prev = in_
        since = self._since
        if since is None:
            if not rising:
                return False, (pt if in_ else 0.0)
            self._since = since = now
        et = (now - since) * 1000.0
        if et < pt - _EPS_MS:
            return True, et
        self._since = None
        return False, (pt if in_ else 0.0)
