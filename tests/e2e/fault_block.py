"""A plugin block type for the end-to-end tests: raises once on a given input.

It is a real plugin, loaded by `petra run --plugin`, so the test exercises the
same path a user's own block types take.
"""

from __future__ import annotations

from petra.blocks.base import NUMERIC, Block, Param, Port, block_type

_raised = False


@block_type
class RaiseOnce(Block):
    """Passes its input through; the first time the input equals `on`, raises."""

    type_name = "TEST_RAISE_ONCE"
    inputs = (Port("in", NUMERIC),)
    outputs = (Port("out", NUMERIC),)
    params = (Param("on", {"type": "number"}, required=True),)

    def step(self, now: float, value: float) -> float:
        global _raised
        if value == self.p["on"] and not _raised:
            _raised = True
            raise RuntimeError(f"test fault: input reached {value}")
        return value
