"""The bounded structures drivers keep for what devices and brokers send: the log limiter."""

from __future__ import annotations

import logging

import pytest

from petra.rate_limited_log import RateLimitedLog, RateLimitFilter


def test_the_rate_limited_log_writes_one_line_per_key_and_interval_and_forgets_the_oldest_keys(
        caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    rlog = RateLimitedLog(logging.getLogger("test.rlog"), interval_s=10.0, max_keys=100, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.rlog"):
        for _ in range(5):
            rlog.warning("a", "bad %s", "thing")
        now[0] = 10.0
        rlog.warning("a", "bad %s", "thing")
        for index in range(5_000):
            rlog.warning(f"topic/{index}", "unknown topic")
    assert [r.getMessage() for r in caplog.records][:2] == ["bad thing", "bad thing (4 similar suppressed)"]
    assert len(rlog) == 100


def test_the_rate_limit_filter_lets_one_record_per_logger_and_message_through() -> None:
    limit = RateLimitFilter(interval_s=60.0)
    logger = logging.getLogger("test.library")
    records = [logger.makeRecord(logger.name, logging.WARNING, __file__, 1, f"area {n} missing", (), None)
               for n in (1, 1, 1, 2)]
    assert [limit.filter(r) for r in records] == [True, False, False, True]
