"""A notifier's retry back-off (`alarms.retry`) is supervision's `BackoffPolicy`, with the delays it always had."""

from __future__ import annotations

from typing import Any

import pytest

from petra.alarms.config import RetryPolicy, build_config
from tests.alarms.support import plant_data
from tests.helpers import plant_config

# Written down from `RetryPolicy.delay` before it became a BackoffPolicy:
# min(max_backoff_s, initial_backoff_s * 2 ** (attempt - 1)) for attempts 1, 2, ...
CASES = [
    ({}, 5, [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]),
    ({"max_attempts": 4, "initial_backoff_seconds": 0.05, "max_backoff_seconds": 0.2}, 4, [0.05, 0.1, 0.2, 0.2, 0.2]),
    ({"initial_backoff_seconds": 3.0, "max_backoff_seconds": 1.0}, 5, [1.0, 1.0, 1.0]),
    ({"initial_backoff_seconds": 0.0, "max_backoff_seconds": 5.0}, 5, [0.0, 0.0, 0.0]),
    ({"initial_backoff_seconds": 0.0, "max_backoff_seconds": 0.0}, 5, [0.0, 0.0, 0.0]),
]


@pytest.mark.parametrize(("retry", "max_attempts", "delays"), CASES)
def test_the_retry_section_gives_the_delays_it_always_gave(tmp_path, retry: dict[str, Any], max_attempts: int,
                                                           delays: list[float]) -> None:
    data = plant_data(tmp_path, [])
    data["alarms"]["retry"] = retry
    config = build_config(plant_config(data))
    assert config is not None
    policy = config.retry
    assert policy.max_attempts == max_attempts
    assert [policy.delay(attempt) for attempt in range(1, len(delays) + 1)] == delays


def test_the_default_policy_is_the_retry_sections_default() -> None:
    assert RetryPolicy() == RetryPolicy.from_seconds(5, 1.0, 60.0)
