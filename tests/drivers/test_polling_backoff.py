"""The polling drivers' reconnect back-off is supervision's `BackoffPolicy`, with the sequence it always had."""

from __future__ import annotations

import random

import pytest

from petra.drivers.polling import PollingDriverActor

# Written down from the driver's own back-off before it became a BackoffPolicy:
# min(0.1 * 2 ** (attempt - 1), 5.0) * uniform(0.8, 1.2), one Random(7) across attempts 1..9.
BEFORE = [0.09295331059332651, 0.17206793391396016, 0.4241495156863766, 0.6631796117336137, 1.6229644827562812,
          3.0280818136481096, 4.115997849549414, 5.014871466378841, 4.07499131688397]


def test_reconnect_delays_for_a_seeded_rng_are_what_the_drivers_own_back_off_gave() -> None:
    rng = random.Random(7)
    policy = PollingDriverActor.reconnect_backoff
    assert [policy.delay(attempt, rng) for attempt in range(1, 10)] == pytest.approx(BEFORE, rel=1e-12)


def test_reconnect_back_off_doubles_from_a_tenth_of_a_second_to_five_seconds() -> None:
    policy = PollingDriverActor.reconnect_backoff
    assert [policy.base_delay(a) for a in range(1, 9)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0])
    assert policy.jitter == 0.2
