"""A real ClickHouse server (Debian's 18.16) on free loopback ports, data in a temporary directory.

`ClickHouseServer.stop()` / `start()` keep the data directory, so outage tests can
take the server away and bring it back with everything it had.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

SERVER = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"

_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{root}/log/server.log</log><errorlog>{root}/log/error.log</errorlog>
    <size>10M</size><count>2</count></logger>
  <tcp_port>{tcp}</tcp_port>
  <http_port>{http}</http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{root}/data/</path>
  <tmp_path>{root}/tmp/</tmp_path>
  <user_files_path>{root}/user_files/</user_files_path>
  <format_schema_path>{root}/format_schemas/</format_schema_path>
  <users_config>{root}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>53687091</mark_cache_size>
  <uncompressed_cache_size>53687091</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
</yandex>
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class ClickHouseServer:
    """One clickhouse-server subprocess; `tcp_port` is the native protocol port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tcp_port = free_port()
        self.http_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        for sub in ("log", "data", "tmp", "user_files", "format_schemas"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy("/etc/clickhouse-server/users.xml", root / "users.xml")
        self.config = root / "config.xml"
        self.config.write_text(_CONFIG.format(root=root, tcp=self.tcp_port, http=self.http_port))

    def start(self, timeout: float = 30.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        self.proc = subprocess.Popen(
            [SERVER, f"--config-file={self.config}"], cwd=self.root,
            stdout=open(self.root / "log" / "stdout.log", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )
        deadline = time.monotonic() + timeout
        while not _port_open(self.tcp_port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"clickhouse-server exited with {self.proc.returncode}: {self.error_log()}")
            if time.monotonic() > deadline:
                raise RuntimeError("clickhouse-server did not open its port")
            time.sleep(0.05)

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        deadline = time.monotonic() + 10
        while _port_open(self.tcp_port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def error_log(self) -> str:
        path = self.root / "log" / "error.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def client(self, **kwargs: object):
        from clickhouse_driver import Client

        return Client("127.0.0.1", port=self.tcp_port, **kwargs)
