"""The control actor: owns the control API's listeners (Unix socket, optional TCP+TLS) and their event loop."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

from petra.config.sections import SecuritySettings
from petra.control import listener, server
from petra.control.api import ControlApi
from petra.control.auth import Identities, authenticator
from petra.control.handle import RuntimeHandle
from petra.control.http_host import SERVICES_POOL, BoundSocket, HttpHost, http_rejections
from petra.control.paths import default_socket_path
from petra.control.routes import RouteTable
from petra.control.settings import ControlSettings, TcpSettings
from petra.plant import Plant
from supervision import PooledActor

log = logging.getLogger(__name__)


class ServerStopped(RuntimeError):
    pass


def bearer_tokens(tcp: TcpSettings | None) -> dict[str, str]:
    """Token name -> secret; an unnamed token is `tokenN` (its position, from 1)."""
    tokens = {}
    for i, token in enumerate(tcp.tokens if tcp is not None else (), 1):
        if isinstance(token, str):
            tokens[f"token{i}"] = token
        else:
            tokens[token.name or f"token{i}"] = token.token
    return tokens


class ControlActor(PooledActor):
    """Owns the control API's listeners; a restart binds again (every way it ends releases the sockets)."""

    pool_name = SERVICES_POOL
    pool_workers = 1

    def __init__(self, plant: Plant, runtime: RuntimeHandle, routes: RouteTable,
                 identities: Identities | None = None) -> None:
        super().__init__()
        self.plant = plant
        self.runtime = runtime
        self.routes = routes
        self.identities = identities
        self._host: HttpHost | None = None
        self.socket_path: Path | None = None
        self._socket_inode: int | None = None
        self.tcp_port: int | None = None

    def on_start(self) -> None:
        config = self.plant.config
        settings = config.settings("control", ControlSettings)
        tcp = settings.tcp
        if tcp and (refusal := listener.no_way_in(config, tcp, len(bearer_tokens(tcp)),
                                                  listener.users_file_entries(config))):
            log.error("%s", refusal)
            tcp = None
        tls = listener.tcp_tls(config, tcp) if tcp else None  # before binding: a refusal binds nothing
        if tls is not None and tls.self_signed is not None:
            pair = tls.self_signed
            log.log(logging.WARNING if pair.created else logging.INFO, "%s", listener.describe(pair))
            if pair.created:
                self.runtime.audit("tls.self_signed", "system", cert_file=str(pair.cert_file),
                                   fingerprint_sha256=pair.fingerprint, names=list(pair.names), reason=pair.reason)
        limits = server.LIMITS
        path = self.runtime.options.control_socket or (Path(settings.socket) if settings.socket else None)
        self.socket_path = path or default_socket_path()
        bound = [BoundSocket(server.bind_unix(self.socket_path, limits))]
        self._socket_inode = self.socket_path.stat().st_ino
        try:
            if tcp:
                assert tls is not None
                bound.append(BoundSocket(server.bind_tcp(tcp.host, tcp.port, limits), tls.context))
                self.tcp_port = bound[-1].sock.getsockname()[1]
            rejected = http_rejections(self.plant.metrics.registry)
            identities = self.identities
            if identities is not None and tcp:  # read the users file and warm hashing up now, not at the first login
                identities.current(config.security)
            api = ControlApi(self.runtime, served_by=self.path, routes=self.routes,
                             identity=None if identities is None else lambda: identities.current(self._security()))
            app = server.ControlApp(api, authenticator(config, identities, self._security), limits, rejected)
            self._host = HttpHost(app.app, bound, limits, server.SERVER_NAME, rejected)
            self._host.start()
        except BaseException:
            self._release(bound)
            raise
        log.info("control API on unix:%s", self.socket_path)
        if tcp:
            log.info("control API on %s://%s:%d", "https" if tls and tls.context else "http", tcp.host, self.tcp_port)

    def _security(self) -> SecuritySettings:
        """The running config's security settings (a reload replaces the plant's config)."""
        return self.plant.config.security

    def check_health(self) -> None:
        if self._host is not None and not self._host.is_alive():
            raise ServerStopped("the control API's event loop stopped")

    def release(self) -> None:
        host, self._host = self._host, None
        if host is not None:
            host.stop()
            self._release(host.sockets)

    def _release(self, bound: list[BoundSocket]) -> None:
        path = self.socket_path
        for item in bound:
            if item.sock.family == socket.AF_UNIX and path is not None and self._owns_socket_file():
                path.unlink(missing_ok=True)
            item.sock.close()

    def _owns_socket_file(self) -> bool:
        """Only the file this instance bound: never one a successor bound at the same path since."""
        try:
            return self.socket_path is not None and self.socket_path.stat().st_ino == self._socket_inode
        except OSError:
            return False

    def endpoints(self) -> dict[str, Any]:
        return {"socket": str(self.socket_path), "tcp_port": self.tcp_port}
