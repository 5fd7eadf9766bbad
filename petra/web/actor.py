"""The web actor (`services/web`): binds the web HMI's listener and serves `WebApp` on the shared HTTP loop."""

from __future__ import annotations

import logging
from typing import Any

from petra.config.sections import SecuritySettings
from petra.control import listener, server
from petra.control.actor import bearer_tokens
from petra.control.api import ControlApi
from petra.control.auth import Identities, authenticator
from petra.control.handle import RuntimeHandle
from petra.control.http_host import SERVICES_POOL, BoundSocket, HttpHost, PlaintextRefused, http_rejections
from petra.control.routes import RouteTable
from petra.control.settings import ControlSettings, TcpSettings
from petra.plant import Plant
from petra.web.app import WebApp
from petra.web.ring import TrendRing
from petra.web.settings import WebSettings
from petra.web.stream import StreamHub
from supervision import PooledActor

log = logging.getLogger(__name__)

SERVER_NAME = "petra-web"
"""The `server` label of this listener's rejections (petra_http_rejected_total)."""


class WebStopped(RuntimeError):
    pass


def listener_settings(web: WebSettings) -> TcpSettings:
    """The web listener as `control.tcp` spells a listener, so `petra.control.listener` decides its TLS."""
    return TcpSettings(port=web.port, host=web.host, cert_file=web.cert_file, key_file=web.key_file,
                       self_signed=web.self_signed, self_signed_dir=web.self_signed_dir)


class WebActor(PooledActor):
    """Owns the web listener; a restart binds again. Keeps the trend ring fed while it runs (no storage)."""

    pool_name = SERVICES_POOL
    pool_workers = 1

    def __init__(self, plant: Plant, runtime: RuntimeHandle, routes: RouteTable, identities: Identities,
                 state: dict[str, Any]) -> None:
        super().__init__()
        self.plant = plant
        self.runtime = runtime
        self.routes = routes
        self.identities = identities
        self.state = state
        self._host: HttpHost | None = None
        self._ring: TrendRing | None = None
        self._web: WebApp | None = None
        self.port: int | None = None
        self.scheme = "http"

    def on_start(self) -> None:
        config = self.plant.config
        web = config.settings("web", WebSettings)
        tcp = listener_settings(web)  # the TLS decision does not depend on the port
        try:
            tls = listener.tcp_tls(config, tcp)  # before binding: a refusal (require_tls) binds nothing
        except PlaintextRefused:
            raise PlaintextRefused("security.require_tls is set but web.self_signed is false and there is no "
                                   "web.cert_file and key_file: refusing to serve the web HMI over plain "
                                   "HTTP") from None
        if tls.self_signed is not None:
            pair = tls.self_signed
            log.log(logging.WARNING if pair.created else logging.INFO, "web HMI: %s",
                    listener.describe(pair).replace("control API TLS: ", "").replace(
                        "control.tcp.cert_file and key_file", "web.cert_file and key_file"))
            if pair.created:
                self.runtime.audit("tls.self_signed", "system", cert_file=str(pair.cert_file), listener="web",
                                   fingerprint_sha256=pair.fingerprint, names=list(pair.names), reason=pair.reason)
        self._start_ring(web)
        limits = server.LIMITS
        port = self.runtime.options.web_port or web.port  # petra run --web-port moves it
        sock = server.bind_tcp(web.host, port, limits, what="web HMI")
        bound = [BoundSocket(sock, tls.context)]
        try:
            self.port = sock.getsockname()[1]
            rejected = http_rejections(self.plant.metrics.registry)
            identities = self.identities
            nobody = self._nobody_can_log_in()
            if nobody is None:  # read the users file and warm hashing up (Argon2id: 32 MiB) now, not at a login
                identities.current(config.security)
            api = ControlApi(self.runtime, served_by=self.path, routes=self.routes,
                             identity=lambda: identities.current(self._security()))
            control = server.ControlApp(api, authenticator(config, identities, self._security), limits, rejected)
            hub = self.state.setdefault("hub", StreamHub(self.plant))
            self._web = WebApp(control, hub, self._nobody_can_log_in, ring=self._ring)
            self._host = HttpHost(control.app, bound, limits, SERVER_NAME, rejected)
            self._host.start()  # the app samples the trend ring on the loop once a second (WebApp)
        except BaseException:
            sock.close()
            raise
        self.scheme = "https" if tls.context is not None else "http"
        if nobody is not None:
            log.warning("web HMI: %s", nobody)  # the page loads and says so; not a fault of the plant
        log.info("web HMI on %s://%s:%d/", self.scheme, web.host, self.port)

    def _nobody_can_log_in(self) -> str | None:
        """Why nobody can log in (no user in the users file, no control.tcp.tokens), else None."""
        config = self.plant.config
        tokens = len(bearer_tokens(config.settings("control", ControlSettings).tcp))
        if tokens or listener.users_file_entries(config):
            return None
        return (f"nobody can log in: the users file {config.security.users_file} has no users; add one as the "
                "user PETRA runs as with `petra user add NAME --role operator` (or --role admin), then log in")

    def _start_ring(self, web: WebSettings) -> None:
        """Without storage, keep the last points of each numeric and bool signal (kept across restarts)."""
        self._ring = None
        if "storage" in self.plant.config.sections or not web.trend_ring_points:
            self.state.pop("ring", None)
            return
        ring = self.state.get("ring")
        table = self.plant.table
        if not isinstance(ring, TrendRing) or ring.points != web.trend_ring_points or ring.table is not table:
            ring = self.state["ring"] = TrendRing(self.plant.table, web.trend_ring_points)
        self._ring = ring

    def _security(self) -> SecuritySettings:
        return self.plant.config.security

    def check_health(self) -> None:
        if self._host is not None and not self._host.is_alive():
            raise WebStopped("the web HMI's event loop stopped")

    def release(self) -> None:
        host, self._host = self._host, None
        if self._web is not None:
            self._web.answer_reloads()  # a reload asked here that replaces this listener: answered first
        if host is not None:
            host.stop()
            for item in host.sockets:
                item.sock.close()
        self._ring = None

    def endpoints(self) -> dict[str, Any]:
        return {"web_port": self.port, "scheme": self.scheme}
