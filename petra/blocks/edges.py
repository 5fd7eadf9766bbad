"""Edge detection R_TRIG and F_TRIG (IEC 61131-3).

Both remember the previous value of clk, starting false: R_TRIG with clk true
on the first scan gives q true once; F_TRIG gives nothing on the first scan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from petra.blocks.base import Block, Port, block_type
from petra.values import DataType

_IN = (Port("clk", DataType.BOOL),)
_OUT = (Port("q", DataType.BOOL),)


@block_type
class RTrig(Block):
    """q is true for the one scan in which clk goes from false to true."""

    __slots__ = ("_prev",)
    type_name = "R_TRIG"
    inputs = _IN
    outputs = _OUT

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._prev = False

    def step(self, now: float, clk: bool) -> bool:
        q = clk and not self._prev
        self._prev = clk
        return q


@block_type
class FTrig(Block):
    """q is true for the one scan in which clk goes from true to false."""

    __slots__ = ("_prev",)
    type_name = "F_TRIG"
    inputs = _IN
    outputs = _OUT

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._prev = False

    def step(self, now: float, clk: bool) -> bool:
        q = self._prev and not clk
        self._prev = clk
        return q
