"""pymodbus' real server as the Modbus device in tests: TCP on loopback, RTU over a socat pty pair.

`ModbusServer` (from petra.simulator.servers) runs on an event loop in a thread
of its own; `get`/`set` read and change its tables as the device's own logic
would. `socat_pair` gives two connected ptys (`DIR/ttyA` for the server,
`DIR/ttyB` for PETRA); socat is installed by tools/install-test-services.sh.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from petra.simulator.servers import ModbusServer

__all__ = ["ModbusServer", "modbus_server_fixture", "socat_pair_fixture"]


@pytest.fixture(name="modbus_server")
def modbus_server_fixture() -> Iterator[ModbusServer]:
    """A started TCP server with units 1 and 2, 1000 addresses in each table."""
    server = ModbusServer(units=(1, 2))
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="socat_pair")
def socat_pair_fixture(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two connected ptys, (server side, client side)."""
    socat = shutil.which("socat")
    if socat is None:
        pytest.skip("socat is not installed (tools/install-test-services.sh installs it)")
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    proc = subprocess.Popen([socat, "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import time

        deadline = time.monotonic() + 5
        while not (a.exists() and b.exists()):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("socat did not create the pty pair")
            time.sleep(0.01)
        yield str(a), str(b)
    finally:
        proc.terminate()
        proc.wait(timeout=5)
