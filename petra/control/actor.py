"""The control actor: owns the control API's servers (Unix socket, optional TCP+TLS)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from petra.control.api import ControlApi
from petra.control.paths import default_socket_path
from petra.control.server import TcpControlServer, UnixControlServer, serve_in_thread
from petra.plant import Plant
from supervision import SupervisedActor

log = logging.getLogger(__name__)


class ServerStopped(RuntimeError):
    pass


class ControlActor(SupervisedActor):
    """A restart rebinds the socket; a server thread that dies fails the liveness probe."""

    def __init__(self, plant: Plant) -> None:
        super().__init__()
        self.plant = plant
        self._servers: list[Any] = []
        self._threads: list[Any] = []
        self.socket_path: Path | None = None
        self.tcp_port: int | None = None

    def on_start(self) -> None:
        runtime = self.plant.runtime
        api = ControlApi(runtime)
        section = self.plant.config.sections.get("control") or {}
        path = runtime.options.control_socket or (Path(section["socket"]) if section.get("socket") else None)
        self.socket_path = path or default_socket_path()
        unix = UnixControlServer(self.socket_path, api)
        self._add(unix, "petra-control-unix")
        log.info("control API on unix:%s", self.socket_path)
        tcp = section.get("tcp")
        if tcp:
            tokens = {}
            for i, token in enumerate(tcp.get("tokens") or [], 1):
                if isinstance(token, str):
                    tokens[f"token{i}"] = token
                else:
                    tokens[token.get("name") or f"token{i}"] = token["token"]
            if not tokens:
                log.warning("control.tcp has no tokens: every TCP request will be refused")
            server = TcpControlServer(tcp.get("host", "127.0.0.1"), tcp["port"], api, tokens,
                                      tcp.get("cert_file"), tcp.get("key_file"))
            self.tcp_port = server.server_address[1]
            self._add(server, "petra-control-tcp")
            log.info("control API on %s://%s:%d", "https" if tcp.get("cert_file") else "http",
                     tcp.get("host", "127.0.0.1"), self.tcp_port)

    def _add(self, server: Any, name: str) -> None:
        self._servers.append(server)
        self._threads.append(serve_in_thread(server, name))

    def check_health(self) -> None:
        for thread in self._threads:
            if not thread.is_alive():
                raise ServerStopped(f"control server thread {thread.name} stopped")

    def on_stop(self) -> None:
        self._close()

    def on_failure(self, *_exc_info: object) -> None:
        self._close()

    def _close(self) -> None:
        for server in self._servers:
            server.closing.set()
            server.shutdown()
            server.server_close()
        self._servers.clear()
        self._threads.clear()

    def endpoints(self) -> dict[str, Any]:
        return {"socket": str(self.socket_path), "tcp_port": self.tcp_port}
