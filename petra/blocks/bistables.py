"""Bistables (latches) SR and RS (IEC 61131-3). Both start with q1 false."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from petra.blocks.base import Block, Port, block_type
from petra.values import DataType

BOOL = DataType.BOOL
_OUT = (Port("q1", BOOL),)


@block_type
class Sr(Block):
    """Set-dominant latch: q1 = s1 OR (NOT r AND q1); with both true q1 is true."""

    __slots__ = ("_q",)
    type_name = "SR"
    inputs = (Port("s1", BOOL), Port("r", BOOL))
    outputs = _OUT

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._q = False

    def step(self, now: float, s1: bool, r: bool) -> bool:
        q = self._q = bool(s1 or (self._q and not r))
        return q


@block_type
class Rs(Block):
    """Reset-dominant latch: q1 = NOT r1 AND (s OR q1); with both true q1 is false."""

    __slots__ = ("_q",)
    type_name = "RS"
    inputs = (Port("s", BOOL), Port("r1", BOOL))
    outputs = _OUT

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._q = False

    def step(self, now: float, s: bool, r1: bool) -> bool:
        q = self._q = bool(not r1 and (s or self._q))
        return q
