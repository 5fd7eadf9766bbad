"""Pure parts: back-off, intensity, specs, registry, snapshots. No actors."""

from __future__ import annotations

import random
import threading

import pytest
from sup_helpers import Journal, Worker

from supervision import (
    BackoffPolicy,
    ChildSpec,
    NodeSnapshot,
    Registry,
    RestartIntensity,
    Supervisor,
    SupervisorSpec,
    validate_specs,
)


def test_backoff_starts_at_initial_and_doubles_up_to_maximum() -> None:
    policy = BackoffPolicy(initial=0.1, maximum=1.0, multiplier=2.0, jitter=0.0)
    rng = random.Random(1)
    assert [policy.delay(n, rng) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_backoff_survives_very_long_crash_loops() -> None:
    assert BackoffPolicy(initial=0.1, maximum=3.0).base_delay(100_000) == 3.0


@pytest.mark.parametrize("attempt", [1, 2, 3, 8])
def test_backoff_jitter_stays_within_bounds(attempt: int) -> None:
    policy = BackoffPolicy(initial=0.05, maximum=5.0, jitter=0.2)
    base = policy.base_delay(attempt)
    delays = [policy.delay(attempt, random.Random(seed)) for seed in range(500)]
    assert all(base * 0.8 <= d <= base * 1.2 for d in delays)
    assert max(delays) - min(delays) > base * 0.3  # it really is jittered


def test_backoff_is_deterministic_for_a_seeded_rng() -> None:
    policy = BackoffPolicy()
    assert policy.delay(3, random.Random(7)) == policy.delay(3, random.Random(7))


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": -1}, {"initial": 2.0, "maximum": 1.0}, {"multiplier": 0.5}, {"jitter": 1.0}],
)
def test_backoff_rejects_invalid_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(**kwargs)


def test_backoff_attempts_are_one_based() -> None:
    with pytest.raises(ValueError):
        BackoffPolicy().delay(0, random.Random())


def test_intensity_allows_max_restarts_within_period_and_refuses_one_more() -> None:
    intensity = RestartIntensity(max_restarts=3, period=10.0)
    assert [intensity.record(t) for t in (0.0, 1.0, 2.0)] == [True, True, True]
    assert intensity.record(3.0) is False


def test_intensity_forgets_restarts_older_than_the_period() -> None:
    intensity = RestartIntensity(max_restarts=2, period=1.0)
    assert intensity.record(0.0) and intensity.record(0.5)
    assert intensity.record(1.2)  # 0.0 slid out of the window
    assert intensity.recent == 2
    assert intensity.record(1.4) is False


def test_intensity_of_zero_refuses_the_first_restart() -> None:
    assert RestartIntensity(max_restarts=0, period=1.0).record(0.0) is False


def test_validate_specs_rejects_duplicate_ids_without_starting_anything() -> None:
    journal = Journal()
    specs = [ChildSpec("a", Worker, (journal,)), ChildSpec("a", Worker, (journal,))]
    with pytest.raises(ValueError, match="duplicate"):
        validate_specs(specs)
    with pytest.raises(ValueError, match="duplicate"):
        SupervisorSpec(children=tuple(specs))
    assert journal.events() == []


@pytest.mark.parametrize("bad_id", ["", "a/b"])
def test_child_spec_rejects_ids_that_are_not_path_segments(bad_id: str) -> None:
    with pytest.raises(ValueError):
        ChildSpec(bad_id, Worker)


def test_child_spec_requires_a_supervised_actor_class() -> None:
    with pytest.raises(TypeError):
        ChildSpec("x", dict)  # type: ignore[arg-type]


def test_child_spec_knows_whether_it_is_a_supervisor() -> None:
    assert ChildSpec("core", Supervisor, kwargs={"spec": SupervisorSpec()}).is_supervisor
    assert not ChildSpec("clock", Worker).is_supervisor


def test_child_spec_kwargs_cannot_be_mutated_after_creation() -> None:
    kwargs = {"spec": SupervisorSpec()}
    spec = ChildSpec("core", Supervisor, kwargs=kwargs)
    kwargs["other"] = 1
    assert "other" not in spec.kwargs
    with pytest.raises(TypeError):
        spec.kwargs["x"] = 1  # type: ignore[index]


def test_registry_wait_for_returns_a_ref_registered_later() -> None:
    registry = Registry()
    ref = object()
    timer = threading.Timer(0.05, registry.register, args=("petra/core/clock", ref))
    timer.start()
    assert registry.wait_for("petra/core/clock", timeout=5.0) is ref
    assert registry.get("petra/core/clock") is ref


def test_registry_wait_for_raises_timeout_error_when_nothing_appears() -> None:
    with pytest.raises(TimeoutError):
        Registry().wait_for("petra/nothing", timeout=0.02)


def test_registry_unregister_ignores_an_instance_that_was_already_replaced() -> None:
    registry = Registry()
    old, new = object(), object()
    registry.register("p", old)
    registry.register("p", new)
    registry.unregister("p", old)
    assert registry.get("p") is new
    registry.unregister("p", new)
    assert registry.get("p") is None


def test_node_snapshot_walks_every_node_and_converts_to_plain_dicts() -> None:
    leaf = NodeSnapshot("r/s/w", "w", "worker", "running", 1, None, 2.0, 0, 0)
    sub = NodeSnapshot("r/s", "s", "supervisor", "running", 0, None, 3.0, 0, 0, (leaf,))
    root = NodeSnapshot("r", "r", "supervisor", "running", 0, None, 4.0, 0, 0, (sub,))
    assert [n.path for n in root.walk()] == ["r", "r/s", "r/s/w"]
    assert root.find("r/s/w") is leaf
    as_dict = root.to_dict()
    assert as_dict["children"][0]["children"][0]["restarts"] == 1
