"""A storage tier's retry back-off is supervision's `BackoffPolicy`, with the waits it always had."""

from __future__ import annotations

from types import SimpleNamespace

from petra.storage.tier_actor import TierActor


class _Halt:
    """Stands in for the worker's stop event: records each wait, is set once the script has run out."""

    def __init__(self, tier: _ScriptedTier) -> None:
        self.tier = tier
        self.waits: list[float] = []

    def is_set(self) -> bool:
        return not self.tier.script

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return False


class _ScriptedTier(TierActor):
    """A tier whose `step` fails or succeeds as scripted; built without an actor or a plant."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self._halt = _Halt(self)  # type: ignore[assignment]
        self._link = SimpleNamespace(path="petra/storage/scripted")  # type: ignore[assignment]
        counter = SimpleNamespace(inc=lambda: None)
        self.metrics = SimpleNamespace(failures=SimpleNamespace(labels=lambda _tier: counter))  # type: ignore[assignment]
        self.failing_since = None
        self.last_error = None

    def step(self) -> bool:
        if self.script.pop(0) == "fail":
            raise OSError("sink is away")
        return True


def test_a_failing_sink_is_retried_after_waits_doubling_from_0_2_s_to_5_s_reset_by_a_recovery() -> None:
    # Written down from the tier's own back-off before it became a BackoffPolicy.
    tier = _ScriptedTier(["fail"] * 7 + ["ok"] + ["fail"] * 2)
    tier._run()
    assert tier._halt.waits == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 0.2, 0.4]

