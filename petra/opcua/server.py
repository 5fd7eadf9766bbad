"""The asyncua server as PETRA runs it: secure by default, PETRA's users, its limits, its write path.

`PetraServer.start()` (on the loop of the server's own process, `petra.opcua.child`; what only PETRA decides,
logins, writes, status values and alarm commands, it asks of its `backend`):

1. `Server(user_manager=PetraUserManager)` with `allow_remote_admin(False)`, only the listed security policies,
   identity tokens UserName (+ Anonymous only with `allow_anonymous`), the application certificate
   (`petra.opcua.pki`) and a certificate validator over `pki/trusted` (a refused one lands in `pki/rejected`);
2. the limits (sessions, subscriptions, monitored items, operations per request, message size, session
   timeout) enforced with their status codes (BadTooManySessions, BadTooManySubscriptions,
   BadTooManyMonitoredItems, BadTooManyOperations);
3. the signals' address space (`petra.opcua.address_space`) and the PETRA object (`petra.opcua.status`);
4. the write service replaced by `petra.opcua.writes.SignalWrites`;
5. B2's Alarms & Conditions: `petra.opcua.conditions.attach(server, ConditionContext(...))` when that module
   exists;
6. `server.start()`, then values follow the signal table (`petra.opcua.values`).

asyncua's hooks used beyond its public API, each with a test: `iserver.attribute_service.write` (our
write service), `iserver.create_session` (to wrap each session's activation: the client address for the
lock-out, the session limit, the session table), `subscription_service.create_monitored_items`,
`view_service.browse`, `attribute_service.read` (operation limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib.util
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncua import Server, ua
from asyncua.common.utils import ServiceError

from petra.opcua import address_space, pki
from petra.opcua.metrics import OpcuaMetrics
from petra.opcua.settings import OpcuaSettings
from petra.opcua.status import REFRESH_S, StatusObject, alarm_folders
from petra.opcua.uatypes import status
from petra.opcua.users import PetraUserManager, principal_of
from petra.opcua.values import ValueFollower
from petra.opcua.writes import SignalWrites

if TYPE_CHECKING:
    from cryptography import x509

    from petra.opcua.child import Backend
    from petra.wiring import Audit

log = logging.getLogger(__name__)

POLICY_TYPES: dict[str, str] = {"None": "NoSecurity"}
"""Settings' policy names that differ from `ua.SecurityPolicyType`'s member names."""
MAX_OPERATIONS = 10_000
"""Nodes in one Read or Browse request; past it the request answers BadTooManyOperations."""


@dataclass
class SessionInfo:
    """One activated session, as `petra-ctl status` shows it."""

    user: str
    role: str
    address: str
    policy: str
    since: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {"user": self.user, "role": self.role, "address": self.address, "policy": self.policy,
                "since": dt.datetime.fromtimestamp(self.since, dt.UTC).isoformat(timespec="seconds")}


def policy_type(name: str) -> ua.SecurityPolicyType:
    return ua.SecurityPolicyType[POLICY_TYPES.get(name, name)]


class PetraServer:
    """One run of the OPC-UA server (on one loop): built by `start`, ended by `stop`."""

    def __init__(self, plant: Any, settings: OpcuaSettings, backend: Backend, metrics: OpcuaMetrics, audit: Audit,
                 base_dir: Path | None = None, executor: ThreadPoolExecutor | None = None) -> None:
        self.plant = plant
        """The signals served: `table` (a copy PETRA keeps current) and `bus` (its changes)."""
        self.settings = settings
        self.backend = backend
        self.metrics = metrics
        self.audit = audit
        self.base_dir = base_dir or Path.cwd()
        self.server: Server | None = None
        self.namespace = 0
        self.node_ids: dict[int, ua.NodeId] = {}
        self.endpoint = ""
        self.port = 0
        self.sessions: dict[Any, SessionInfo] = {}
        self.build_s = 0.0
        self.pki_dir = self._path(settings.pki_dir)
        self.trust = pki.TrustList(self.pki_dir)
        self.users = PetraUserManager(backend.authority, settings.allow_anonymous, audit, on_refused=self._refused)
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(2, thread_name_prefix="petra-opcua-worker")
        self._follower: ValueFollower | None = None
        self._status: StatusObject | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._conditions: Any = None
        self._stopped = False

    def _path(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.base_dir / path

    def _refused(self, reason: str) -> None:
        self.metrics.refused.labels(reason).inc()

    # --- start --------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        host, port, path = s.bind()
        server = self.server = Server(user_manager=self.users)  # type: ignore[arg-type]
        if self._conditions_module() is not None:
            server.iserver.bind_condition_methods = True  # ConditionRefresh replays retained events
        await server.init()
        server.allow_remote_admin(False)
        server.set_server_name("PETRA")
        server.product_uri = "urn:petra:opcua"
        server.manufacturer_name = "PETRA"
        server.application_type = ua.ApplicationType.Server
        uri = s.application_uri or pki.default_application_uri()
        await server.set_application_uri(uri)
        server.set_endpoint(f"opc.tcp://{host}:{port}{path}")
        server.set_security_policy([policy_type(name) for name in s.security_policies])
        tokens: list[type] = [ua.UserNameIdentityToken]
        if s.allow_anonymous:
            tokens.append(ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        await self._certificate(server, uri, host)
        server.set_certificate_validator(self._validate)
        self._limits(server)
        self.namespace = await server.register_namespace(s.namespace_uri)
        started = time.perf_counter()
        self._address_space(server)
        self.build_s = time.perf_counter() - started
        self._status = StatusObject(server, self.namespace)
        table = self.plant.table
        group_of = {name: table.specs[slot].group for name, slot in table.index.items()}
        await self._status.build(alarm_folders(list(table.index), lambda n: group_of.get(n, "default")))
        self._hooks(server)
        await self._attach_conditions(server)
        await server.start()
        self._bound(server, host, path)
        vtypes = {slot: address_space.variant_type(table.types[slot], s.int_type) for slot in self.node_ids}
        self._follower = ValueFollower(server, table, self.node_ids, vtypes, self.metrics,
                                       self.plant.bus.subscribe, self.plant.bus.unsubscribe)
        await self._follower.start()
        self._tasks.append(asyncio.create_task(self._refresh_loop(), name="petra-opcua-status"))
        self.metrics.gauges.up = 1
        log.info("OPC-UA server on %s (%d signals, %d folders, built in %.2f s; policies %s)", self.endpoint,
                 len(self.node_ids), self._folders, self.build_s, ", ".join(s.security_policies))

    async def _certificate(self, server: Server, uri: str, host: str) -> None:
        s = self.settings
        if s.cert_file and s.key_file:
            await server.load_certificate(str(self._path(s.cert_file)))
            await server.load_private_key(str(self._path(s.key_file)))
            pki.folders(self.pki_dir)
            return
        pair = await asyncio.get_running_loop().run_in_executor(
            self._executor, pki.ensure_server_pair, self.pki_dir, uri, pki.host_names(host))
        if pair.created:
            log.warning("OPC-UA: made a self-signed application certificate %s (%s), SHA-256 %s; clients must "
                        "trust it", pair.cert_file, pair.reason, pair.fingerprint)
            self.audit("tls.self_signed", "system", cert_file=str(pair.cert_file), listener="opcua",
                       fingerprint_sha256=pair.fingerprint, reason=pair.reason)
        await server.load_certificate(str(pair.cert_file))
        await server.load_private_key(str(pair.key_file))

    def _limits(self, server: Server) -> None:
        s = self.settings
        iserver = server.iserver
        iserver.max_subscriptions = s.max_subscriptions
        iserver.max_connections = s.max_sessions * 2 + 10  # TCP connections, activated or not
        iserver.max_session_timeout_ms = s.session_timeout_s * 1000.0
        iserver.max_pending_activation_seconds = 10.0
        limits = server.limits
        limits.max_message_size = s.max_message_bytes
        limits.max_chunk_count = math.ceil(s.max_message_bytes / limits.max_recv_buffer) + 1

    def _address_space(self, server: Server) -> None:
        table = self.plant.table
        specs = table.specs
        root = address_space.plan(address_space.served(table, self.settings.signals))
        writable = [spec.writable_by is not None and not table.owners[slot].is_chain
                    for slot, spec in enumerate(specs)]
        built = address_space.build(server, self.namespace, root, specs, self.settings.int_type, writable)
        self.node_ids = built.node_ids
        self._folders = built.folders

    def _hooks(self, server: Server) -> None:
        iserver = server.iserver
        names = {nid: self.plant.table.names[slot] for slot, nid in self.node_ids.items()}
        attributes = iserver.attribute_service
        self._writes = SignalWrites(names, attributes.write, self._executor, self.backend.apply_writes, self.metrics)
        attributes.write = self._writes.write  # type: ignore[method-assign]
        read = attributes.read

        def limited_read(params: ua.ReadParameters) -> list[ua.DataValue]:
            if len(params.NodesToRead) > MAX_OPERATIONS:
                self._refused("operations")
                raise ServiceError(ua.StatusCodes.BadTooManyOperations)
            return read(params)

        attributes.read = limited_read  # type: ignore[method-assign]
        view = iserver.view_service
        browse = view.browse

        def limited_browse(params: ua.BrowseParameters) -> list[ua.BrowseResult]:
            if len(params.NodesToBrowse) > MAX_OPERATIONS:
                self._refused("operations")
                raise ServiceError(ua.StatusCodes.BadTooManyOperations)
            return browse(params)

        view.browse = limited_browse  # type: ignore[method-assign]
        subs = iserver.subscription_service
        create_items = subs.create_monitored_items

        async def limited_items(params: ua.CreateMonitoredItemsParameters) -> list[ua.MonitoredItemCreateResult]:
            room = self.settings.max_monitored_items - self._monitored_items()
            asked = list(params.ItemsToCreate)
            if len(asked) <= room:
                return await create_items(params)
            allowed = max(room, 0)
            params.ItemsToCreate = asked[:allowed]
            results = await create_items(params) if allowed else []
            refused = len(asked) - allowed
            self._refused_n("monitored_items", refused)
            return [*results, *(ua.MonitoredItemCreateResult(
                StatusCode=status(ua.StatusCodes.BadTooManyMonitoredItems)) for _ in range(refused))]

        subs.create_monitored_items = limited_items  # type: ignore[method-assign]
        create_session = iserver.create_session

        def make_session(name: Any, user: Any = None, external: bool = False) -> Any:
            session = create_session(name, user, external) if user is not None else create_session(
                name, external=external)
            if external:
                self._wrap_session(session, name)
            return session

        iserver.create_session = make_session  # type: ignore[method-assign]

    def _refused_n(self, reason: str, n: int) -> None:
        self.metrics.refused.labels(reason).inc(n)

    def _wrap_session(self, session: Any, peer: Any) -> None:
        """The session's activation knows its client address (lock-out) and counts against max_sessions."""
        activate = session.activate_session
        close = session.close_session
        address = peer[0] if isinstance(peer, tuple) and peer else str(peer or "unknown")

        def activating(params: Any, peer_certificate: Any) -> Any:
            first = session not in self.sessions
            if first and len(self.sessions) >= self.settings.max_sessions:
                self._refused("sessions")
                raise ServiceError(ua.StatusCodes.BadTooManySessions)
            self.users.peer = address
            try:
                result = activate(params, peer_certificate)
            finally:
                self.users.peer = "unknown"
            principal = principal_of(session.user)
            policy = "None" if peer_certificate is None else "signed, client certificate " + (
                pki.fingerprint_der(peer_certificate)[:16])
            info = SessionInfo(principal.user or principal.name if principal else "?",
                               principal.role.label if principal else "?", address, policy)
            if first:
                self.audit("opcua.session", principal.audit_actor if principal else f"unknown:{address}",
                           address=address, role=info.role, policy=policy)
            self.sessions[session] = info
            return result

        async def closing(delete_subs: bool = True) -> None:
            self.sessions.pop(session, None)
            await close(delete_subs)

        session.activate_session = activating
        session.close_session = closing

    async def _validate(self, cert: x509.Certificate, app: ua.ApplicationDescription) -> None:
        """asyncua's certificate validator: only certificates in `pki/trusted`, within their dates."""
        now = dt.datetime.now(dt.UTC)
        if not self.trust.is_trusted(cert):
            path = await asyncio.get_running_loop().run_in_executor(self._executor, self.trust.reject, cert)
            self._refused("certificate")
            log.warning("OPC-UA: refused the untrusted client certificate of %s (%s); kept as %s: move it to "
                        "%s to trust it", app.ApplicationUri, pki.common_name(cert), path, self.trust.trusted_dir)
            self.audit("opcua.certificate_rejected", "system", application_uri=str(app.ApplicationUri)[:256],
                       fingerprint_sha256=pki.fingerprint(cert), file=str(path))
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)
        if cert.not_valid_after_utc < now or cert.not_valid_before_utc > now:
            self._refused("certificate")
            raise ServiceError(ua.StatusCodes.BadCertificateTimeInvalid)

    def _bound(self, server: Server, host: str, path: str) -> None:
        """The port really bound (port 0: the one the system gave) in every endpoint's URL."""
        bserver = server.bserver
        port = bserver.port if bserver is not None else self.settings.port or 0
        self.port = int(port)
        url = f"opc.tcp://{host}:{self.port}{path}"
        if url != server.endpoint.geturl():
            from urllib.parse import urlparse

            old = server.endpoint.geturl()
            server.endpoint = urlparse(url)
            for edp in server.iserver.endpoints:
                if edp.EndpointUrl == old:
                    edp.EndpointUrl = url
                edp.Server.DiscoveryUrls = [url if u == old else u for u in edp.Server.DiscoveryUrls]
        self.endpoint = url

    async def _attach_conditions(self, server: Server) -> None:
        module = self._conditions_module()
        if module is None:
            return
        try:
            context = module.ConditionContext(
                plant=self.plant, wiring=None, namespace=self.namespace, signal_node=self.signal_node,
                principal=principal_of, events_emitted=self.metrics.events.inc, refused=self._refused,
                alarm_service=self.backend.alarm_service, current=self.backend.authority.current,
                audit=self.audit)
            self._conditions = await module.attach(server, context)
        except Exception:  # the signals stay served without the conditions
            log.exception("OPC-UA: the Alarms & Conditions could not be attached")

    @staticmethod
    def _conditions_module() -> Any:
        if importlib.util.find_spec("petra.opcua.conditions") is None:
            return None
        from petra.opcua import conditions

        return conditions

    def signal_node(self, name: str) -> ua.NodeId | None:
        """The NodeId of signal `name`'s variable (None: not exposed)."""
        slot = self.plant.table.index.get(name)
        return None if slot is None else self.node_ids.get(slot)

    # --- running ------------------------------------------------------------

    def _monitored_items(self) -> int:
        assert self.server is not None
        subs = self.server.iserver.subscription_service.subscriptions
        return sum(len(getattr(sub.monitored_item_srv, "_monitored_items", ())) for sub in list(subs.values()))

    def _publish_queue(self) -> int:
        assert self.server is not None
        total = 0
        for sub in list(self.server.iserver.subscription_service.subscriptions.values()):
            total += len(getattr(sub, "_triggered_datachanges", {}) or {})
            total += len(getattr(sub, "_triggered_events", {}) or {})
            total += len(getattr(sub, "_not_acknowledged_results", {}) or {})
        return total

    def listening(self) -> bool:
        """Whether asyncua's TCP listener still serves (False before `start` and after `stop`)."""
        bserver = self.server.bserver if self.server is not None else None
        return bserver is not None and bserver._server is not None and bserver._server.is_serving()

    def measure(self) -> None:
        """Refresh the metrics' gauges (on the loop)."""
        if self.server is None:
            return
        g = self.metrics.gauges
        g.sessions = len(self.sessions)
        g.subscriptions = len(self.server.iserver.subscription_service.subscriptions)
        g.monitored_items = self._monitored_items()
        g.publish_queue = self._publish_queue()
        g.pending_values = self._follower.pending_count() if self._follower is not None else 0

    async def _refresh_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                self.measure()
                if self._status is not None:
                    values = await loop.run_in_executor(self._executor, self.backend.status_values,
                                                        len(self.sessions))
                    await self._status.refresh(values)
            except Exception:
                log.exception("OPC-UA: refreshing the status failed")
            await asyncio.sleep(REFRESH_S)

    def status(self) -> dict[str, Any]:
        """What `petra-ctl status` shows (any thread: copies only)."""
        return {"endpoint": self.endpoint, "policies": list(self.settings.security_policies),
                "anonymous": self.settings.allow_anonymous, "signals": len(self.node_ids),
                "sessions": [info.to_dict() for info in list(self.sessions.values())],
                "subscriptions": self.metrics.gauges.subscriptions,
                "monitored_items": self.metrics.gauges.monitored_items,
                "build_s": round(self.build_s, 3)}

    # --- stop ---------------------------------------------------------------

    async def stop(self) -> None:
        """End the server: sessions, subscriptions, the listening socket, the worker threads (again: a no-op)."""
        if self._stopped:
            return
        self._stopped = True
        self.metrics.gauges.up = 0
        if self._follower is not None:
            self._follower.stop()
        for task in self._tasks:
            task.cancel()
        if self._conditions is not None:
            with contextlib.suppress(Exception):
                await self._conditions.close()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.stop()
        self.sessions.clear()
        if self._own_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)

