"""IEC 61131-3 counters CTU, CTD and CTUD.

Counting happens on the rising edge of cu / cd. The edge memory starts false
(as in IEC R_TRIG), so an input that is already true on the first scan counts
once. The count saturates at `max_count` / `min_count` (defaults: the 32-bit
DINT range) and never wraps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from petra.blocks.base import Block, BlockParamError, Param, Port, block_type
from petra.values import DataType

BOOL = DataType.BOOL
_PARAMS = (
    Param("preset", {"type": "integer"}, required=True, doc="preset value PV"),
    Param("max_count", {"type": "integer"}, default=2**31 - 1, doc="cv never rises above this"),
    Param("min_count", {"type": "integer"}, default=-(2**31), doc="cv never falls below this"),
)


class _Counter(Block):
    __slots__ = ("_cv", "_max", "_min", "_preset")
    params = _PARAMS

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._preset: int = self.p["preset"]
        self._max: int = self.p["max_count"]
        self._min: int = self.p["min_count"]
        self._cv = 0

    @classmethod
    def validate_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        p = super().validate_params(params)
        if not p["min_count"] <= 0 <= p["max_count"]:
            raise BlockParamError(
                "min_count", f"{cls.type_name} needs min_count <= 0 <= max_count (reset sets cv to 0)"
            )
        if not p["min_count"] <= p["preset"] <= p["max_count"]:
            message = f"{cls.type_name} parameter 'preset' must lie in [min_count, max_count]"
            raise BlockParamError("preset", message)
        return p


@block_type
class Ctu(_Counter):
    """Up counter: cv + 1 on each rising edge of cu, reset sets cv = 0; q = cv >= preset.

    reset wins over a simultaneous edge. cv stops at max_count.
    """

    __slots__ = ("_prev",)
    type_name = "CTU"
    inputs = (Port("cu", BOOL), Port("reset", BOOL))
    outputs = (Port("q", BOOL), Port("cv", DataType.INT))

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._prev = False

    def step(self, now: float, cu: bool, reset: bool) -> tuple[bool, int]:
        rising = cu and not self._prev
        self._prev = cu
        if reset:
            self._cv = 0
        elif rising and self._cv < self._max:
            self._cv += 1
        cv = self._cv
        return cv >= self._preset, cv


@block_type
class Ctd(_Counter):
    """Down counter: cv - 1 on each rising edge of cd, load sets cv = preset; q = cv <= 0.

    load wins over a simultaneous edge. cv starts at 0 and stops at min_count.
    """

    __slots__ = ("_prev",)
    type_name = "CTD"
    inputs = (Port("cd", BOOL), Port("load", BOOL))
    outputs = (Port("q", BOOL), Port("cv", DataType.INT))

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._prev = False

    def step(self, now: float, cd: bool, load: bool) -> tuple[bool, int]:
        rising = cd and not self._prev
        self._prev = cd
        if load:
            self._cv = self._preset
        elif rising and self._cv > self._min:
            self._cv -= 1
        cv = self._cv
        return cv <= 0, cv


@block_type
class Ctud(_Counter):
    """Up/down counter: cu edge +1, cd edge -1; reset (cv = 0) beats load (cv = preset) beats counting.

    Rising edges on cu and cd in the same scan cancel (no change), as in IEC.
    qu = cv >= preset, qd = cv <= 0. cv saturates at max_count / min_count.
    """

    __slots__ = ("_prev_down", "_prev_up")
    type_name = "CTUD"
    inputs = (Port("cu", BOOL), Port("cd", BOOL), Port("reset", BOOL), Port("load", BOOL))
    outputs = (Port("qu", BOOL), Port("qd", BOOL), Port("cv", DataType.INT))

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._prev_up = False
        self._prev_down = False

    def step(self, now: float, cu: bool, cd: bool, reset: bool, load: bool) -> tuple[bool, bool, int]:
        up = cu and not self._prev_up
        down = cd and not self._prev_down
        self._prev_up = cu
        self._prev_down = cd
        if reset:
            self._cv = 0
        elif load:
            self._cv = self._preset
        elif up != down:
            if up:
                if self._cv < self._max:
                    self._cv += 1
            elif self._cv > self._min:
                self._cv -= 1
        cv = self._cv
        return cv >= self._preset, cv <= 0, cv
