"""python-snap7's real S7 server on a free loopback port, as the PLC in tests.

`S7Server` (from petra.simulator.servers) keeps its areas as live bytearrays:
change them to simulate the PLC's logic; `stop()`/`start()` keep the port, so
a test can "reboot" the PLC under a connected driver. `reads` counts the read
requests the server answered (its own read events).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from petra.simulator.servers import S7Server

__all__ = ["S7Server", "s7_server_fixture"]


@pytest.fixture(name="s7_server")
def s7_server_fixture() -> Iterator[S7Server]:
    """A started server with DB1 (256 bytes), DB10 (1024 bytes) and 64 bytes each of PE, PA and MK."""
    server = S7Server()
    server.add_area("DB", 1, 256)
    server.add_area("DB", 10, 1024)
    for area in ("PE", "PA", "MK"):
        server.add_area(area, 0, 64)
    server.start()
    yield server
    server.stop()
