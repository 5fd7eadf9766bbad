"""DATA_GENERATOR: test signals (sine, square, ramp, random, counter) for commissioning and demos."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from petra.blocks.base import Block, Param, Port, block_type
from petra.values import DataType

_TAU = 2.0 * math.pi
FLOAT = DataType.FLOAT


@block_type
class DataGenerator(Block):
    """Waveforms around offset with the given amplitude and frequency, plus a tick counter.

    * Time t starts at 0 on the first enabled tick and advances by the
      difference of `now` between consecutive enabled ticks; while disabled
      the outputs hold and t pauses (it resumes where it stopped).
    * With phase = frequency * t mod 1: sine_out = offset + amplitude *
      sin(2 pi phase); square_out = offset + amplitude for phase < 0.5, else
      offset - amplitude; ramp_out rises from offset - amplitude to
      offset + amplitude over each period.
    * random_out is uniform in [offset - amplitude, offset + amplitude) from a
      `random.Random(seed)`; the same seed gives the same sequence. Without a
      seed it is seeded from the OS.
    * count_out counts enabled ticks (1 on the first).
    * Before the first enabled tick the float outputs are offset, count_out 0.
    """

    __slots__ = ("_amp", "_count", "_freq", "_last", "_off", "_out", "_rng", "_t")
    type_name = "DATA_GENERATOR"
    inputs = (Port("enable", DataType.BOOL, default=True, doc="false: outputs hold, time pauses"),)
    outputs = (
        Port("sine_out", FLOAT),
        Port("square_out", FLOAT),
        Port("ramp_out", FLOAT),
        Port("random_out", FLOAT),
        Port("count_out", DataType.INT),
    )
    params = (
        Param("frequency", {"type": "number", "exclusiveMinimum": 0}, default=1.0, doc="Hz"),
        Param("amplitude", {"type": "number", "minimum": 0}, default=1.0),
        Param("offset", {"type": "number"}, default=0.0),
        Param("seed", {"type": "integer"}, default=None, doc="seed of random_out; omit for OS entropy"),
    )

    def __init__(self, name: str, params: Mapping[str, Any], input_names: Sequence[str]) -> None:
        super().__init__(name, params, input_names)
        self._freq = float(self.p["frequency"])
        self._amp = float(self.p["amplitude"])
        self._off = float(self.p["offset"])
        self._rng = random.Random(self.p["seed"])
        self._t = 0.0
        self._last: float | None = None
        self._count = 0
        off = self._off
        self._out: tuple[float, float, float, float, int] = (off, off, off, off, 0)

    def step(self, now: float, enable: bool) -> tuple[float, float, float, float, int]:
        if not enable:
            self._last = None
            return self._out
        last = self._last
        if last is not None and now > last:
            self._t += now - last
        self._last = now
        self._count += 1
        phase = (self._t * self._freq) % 1.0
        amp, off = self._amp, self._off
        low = off - amp
        out = self._out = (
            off + amp * math.sin(_TAU * phase),
            off + amp if phase < 0.5 else low,
            low + 2.0 * amp * phase,
            low + 2.0 * amp * self._rng.random(),
            self._count,
        )
        return out
