"""PID controller with derivative on measurement, anti-windup and bumpless transfer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from petra.blocks.base import NUMERIC, Block, BlockParamError, Param, Port, block_type
from petra.values import DataType

_GAIN = {"type": "number", "minimum": 0}


@block_type
class Pid(Block):
    """PID controller: out = kp*e + ki*integral(e) + kd*d(-pv)/dt, limited to [out_min, out_max].

    Decisions:

    * Parallel (independent gains) form: kp is dimensionless, ki is per second
      (output per error-second), kd in seconds. All gains are >= 0; the sign
      comes from `action`: "reverse" (default, e.g. heating) uses
      e = sp - pv, "direct" (e.g. cooling) uses e = pv - sp.
    * Derivative on measurement: the D term uses the change of pv, not of e,
      so a set-point step gives no kick. With derivative_filter_s = Tf > 0 the
      D term is filtered by a first-order lag:
      D = (Tf*D_prev - kd*dpv) / (Tf + dt) (sign per action).
    * dt is the difference of successive `now` values; the first call has
      dt = 0, and dt <= 0 neither integrates nor updates D.
    * Anti-windup by conditional integration: an integration step that would
      push an already saturated output further out is skipped, so the
      integrator stops where saturation began and the output leaves the
      limit on the first scan the error changes sign.
    * Manual (bumpless): with `manual` true the output is manual_value
      (clamped to the limits) and the integrator tracks it
      (I = out - P - D), so switching to auto continues from the same output.
    * NaN or infinite pv or sp, or a step whose error, P or D term
      overflows the float range: the output holds its last value, no
      integration happens over the gap and D restarts at the next valid
      sample, so no infinity ever enters the integrator or the D filter
      (it would pin the output at a limit, or NaN, for good). In manual a
      finite manual_value still drives the output; any other holds it.
    * Before the first valid output the held value is 0 clamped to the limits.
    """

    __slots__ = (
        "_d",
        "_hi",
        "_i",
        "_kd_pv",
        "_ki",
        "_kp",
        "_last_now",
        "_lo",
        "_out",
        "_prev_pv",
        "_reverse",
        "_tf",
    )
    type_name = "PID"
    inputs = (
        Port("pv", NUMERIC, doc="process value"),
        Port("sp", NUMERIC, doc="set point"),
        Port("manual", DataType.BOOL, default=False, doc="true: out follows manual_value"),
        Port("manual_value", NUMERIC, default=0.0, doc="output in manual"),
    )
    outputs = (Port("out", DataType.FLOAT),)
    params = (
        Param("kp", _GAIN, required=True, doc="proportional gain"),
        Param("ki", _GAIN, default=0.0, doc="integral gain per second"),
        Param("kd", _GAIN, default=0.0, doc="derivative gain in seconds"),
        Param("out_min", {"type": "number"}, default=0.0, doc="lower output limit"),
        Param("out_max", {"type": "number"}, default=100.0, doc="upper output limit, > out_min"),
        Param("action", {"type": "string", "enum": ["reverse", "direct"]}, default="reverse",
              doc="reverse: e = sp - pv; direct: e = pv - sp"),
        Param("derivative_filter_s", {"type": "number", "minimum": 0}, default=0.0,
              doc="time constant of the D-term filter in seconds (0: none)"),
    )

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        p = self.p
        self._kp = float(p["kp"])
        self._ki = float(p["ki"])
        self._reverse = p["action"] == "reverse"
        self._kd_pv = -float(p["kd"]) if self._reverse else float(p["kd"])
        self._tf = float(p["derivative_filter_s"])
        self._lo = float(p["out_min"])
        self._hi = float(p["out_max"])
        self._last_now: float | None = None
        self._prev_pv: float | None = None
        self._i = 0.0
        self._d = 0.0
        self._out = min(max(0.0, self._lo), self._hi)

    @classmethod
    def validate_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        p = super().validate_params(params)
        if not p["out_min"] < p["out_max"]:
            raise BlockParamError("out_max", "PID parameter 'out_max' must be greater than 'out_min'")
        return p

    def step(self, now: float, pv: float, sp: float, manual: bool, manual_value: float) -> float:
        last = self._last_now
        self._last_now = now
        dt = 0.0 if last is None else now - last
        lo, hi = self._lo, self._hi

        e = sp - pv if self._reverse else pv - sp
        p_term = self._kp * e
        prev = self._prev_pv
        if prev is None:
            d = 0.0
        elif dt > 0.0:
            d = (self._tf * self._d + self._kd_pv * (pv - prev)) / (self._tf + dt)
        else:
            d = self._d
        if p_term - p_term != 0 or d - d != 0:  # NaN or inf pv/sp, or an overflow: a gap
            self._prev_pv = None
            if manual and manual_value - manual_value == 0:
                out = self._out = min(max(float(manual_value), lo), hi)
                self._i = out
                self._d = 0.0
            return self._out
        self._d = d
        if prev is None or dt > 0.0:
            self._prev_pv = pv

        if manual:
            if manual_value - manual_value != 0:
                out = self._out
            else:
                out = self._out = min(max(float(manual_value), lo), hi)
            self._i = out - p_term - d
            return out

        i = self._i
        if dt > 0.0 and self._ki:
            step = self._ki * e * dt
            u = p_term + i + step + d
            if not ((u > hi and step > 0.0) or (u < lo and step < 0.0)):
                i = self._i = i + step
        u = p_term + i + d
        out = self._out = hi if u > hi else lo if u < lo else u
        return out
