"""Fixtures: the real peers (a Twilio-shaped server, aiosmtpd with STARTTLS), started alarm plants, a small disk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alarms.support import AlarmPlant
from tests.peers.small_disk import small_disk_fixture
from tests.peers.smtp_server import SmtpServer
from tests.peers.twilio_server import FakeTwilio


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def plants() -> Iterator[list[AlarmPlant]]:
    started: list[AlarmPlant] = []
    yield started
    for plant in started:
        plant.stop()


small_disk = small_disk_fixture(2 << 20)  # a 2 MB tmpfs: fill() takes every free byte
