"""Signal filters: MOVING_AVERAGE, RATE_OF_CHANGE, LOWPASS and DEADBAND.

All output floats and keep their state between scans. A sample that is not
finite (NaN, +-inf) is skipped: the output holds and the sample does not
enter the filter state, which would otherwise stay NaN for good (inf - inf).
Before the first valid sample the output is NaN (RATE_OF_CHANGE: 0.0).
Finite samples near the float limits never raise: a result that overflows
is computed another way (MOVING_AVERAGE, LOWPASS) or is +-inf for that scan
only (RATE_OF_CHANGE).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from petra.blocks.base import NUMERIC, Block, Param, Port, block_type
from petra.values import DataType

_IN = (Port("in", NUMERIC),)
_OUT = (Port("out", DataType.FLOAT),)
_NAN = math.nan


@block_type
class MovingAverage(Block):
    """Mean of the last `window` valid samples (fewer while the window fills); O(1) per scan.

    Keeps a ring buffer and a running sum; the sum is recomputed exactly
    (math.fsum) each time the ring wraps, so float drift never accumulates
    beyond one window. Non-finite samples (NaN, +-inf) are ignored.
    """

    __slots__ = ("_buf", "_count", "_out", "_pos", "_size", "_sum")
    type_name = "MOVING_AVERAGE"
    inputs = _IN
    outputs = _OUT
    params = (Param("window", {"type": "integer", "minimum": 1}, required=True, doc="samples averaged"),)

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._size: int = self.p["window"]
        self._buf = [0.0] * self._size
        self._pos = 0
        self._count = 0
        self._sum = 0.0
        self._out = _NAN

    def step(self, now: float, x: float) -> float:
        if x - x != 0:
            return self._out
        x = float(x)
        pos = self._pos
        if self._count < self._size:
            self._count += 1
            self._sum += x
        else:
            self._sum += x - self._buf[pos]
        self._buf[pos] = x
        pos += 1
        if pos == self._size:
            pos = 0
            self._sum = _exact_sum(self._buf)
        self._pos = pos
        out = self._sum / self._count
        if out - out != 0:  # the sum of finite samples overflowed; their mean cannot
            count = self._count
            out = math.fsum([b / count for b in self._buf])
        self._out = out
        return out


def _exact_sum(values: list[float]) -> float:
    """math.fsum, but +-inf instead of OverflowError when the exact sum is beyond the float range."""
    try:
        return math.fsum(values)
    except OverflowError:
        return math.inf


@block_type
class RateOfChange(Block):
    """Slope of `in` in units per second times `per_s` (60: per minute); 0.0 on the first scan.

    The slope is taken between the last two valid samples. A scan with
    dt <= 0 holds the output.
    """

    __slots__ = ("_last_t", "_last_x", "_out", "_per_s")
    type_name = "RATE_OF_CHANGE"
    inputs = _IN
    outputs = _OUT
    params = (
        Param("per_s", {"type": "number", "exclusiveMinimum": 0}, default=1.0,
              doc="seconds per output time unit: 1 per second, 60 per minute, 3600 per hour"),
    )

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._per_s = float(self.p["per_s"])
        self._last_t: float | None = None
        self._last_x = 0.0
        self._out = 0.0

    def step(self, now: float, x: float) -> float:
        if x - x != 0:
            return self._out
        last = self._last_t
        if last is None:
            self._last_t = now
            self._last_x = x
            return self._out
        dt = now - last
        if dt <= 0.0:
            return self._out
        out = self._out = (x - self._last_x) / dt * self._per_s
        self._last_t = now
        self._last_x = x
        return out


@block_type
class Lowpass(Block):
    """First-order low-pass: y += (x - y) * (1 - exp(-dt / time_constant_s)); the first sample initialises y.

    The exact exponential makes the response independent of the scan time
    (a step reaches 63.2 % after one time constant). dt <= 0 holds.
    """

    __slots__ = ("_alpha", "_dt", "_last_t", "_out", "_tau")
    type_name = "LOWPASS"
    inputs = _IN
    outputs = _OUT
    params = (
        Param("time_constant_s", {"type": "number", "exclusiveMinimum": 0}, required=True,
              doc="time constant in seconds"),
    )

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._tau = float(self.p["time_constant_s"])
        self._last_t: float | None = None
        self._dt = 0.0
        self._alpha = 0.0
        self._out = _NAN

    def step(self, now: float, x: float) -> float:
        if x - x != 0:
            return self._out
        last = self._last_t
        if last is None:
            self._last_t = now
            out = self._out = float(x)
            return out
        dt = now - last
        if dt <= 0.0:
            return self._out
        self._last_t = now
        if dt != self._dt:
            self._dt = dt
            self._alpha = -math.expm1(-dt / self._tau)
        y = self._out
        out = y + (x - y) * self._alpha
        if out - out != 0:  # x - y overflowed: the same step as a weighted mean of two finite values
            out = y * (1.0 - self._alpha) + x * self._alpha
        self._out = out
        return out


@block_type
class Deadband(Block):
    """`out` follows `in` only when it moves more than `band` away from the last output.

    The first valid sample passes. "More than" is strict: band 0 passes every
    change, and a change of exactly `band` is held.
    """

    __slots__ = ("_band", "_out")
    type_name = "DEADBAND"
    inputs = _IN
    outputs = _OUT
    params = (Param("band", {"type": "number", "minimum": 0}, required=True, doc="hysteresis width"),)

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._band = float(self.p["band"])
        self._out = _NAN

    def step(self, now: float, x: float) -> float:
        if x - x != 0:
            return self._out
        y = self._out
        if y != y or abs(x - y) > self._band:
            y = self._out = float(x)
        return y
