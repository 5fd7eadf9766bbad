"""The control API's request handling: routing, validation, JSON in and out.

Pure of sockets: `ControlApi.handle(Request) -> Response` is what the HTTP
server calls and what tests call directly. Every request is validated; a bad
one gets a 4xx with a message, an unexpected error a 500 with a message, never
a dropped connection. Writes are audited with the caller's identity.

Routes (all JSON; see docs/control-api.md):

    GET    /v1/status                      version, uptime, config hash and signer, scan statistics, and the
                                           process: memory, every thread with its owner and purpose, libraries
    GET    /v1/tree                        the supervision tree
    GET    /v1/signals?pattern=GLOB        signals (shell-style pattern)
    GET    /v1/signals/NAME
    PUT    /v1/signals/NAME                {"value": V}
    POST   /v1/signals/NAME/force          {"value": V, "reason": "..."}
    DELETE /v1/signals/NAME/force          {"reason": "..."} (optional)
    GET    /v1/events?pattern=GLOB         server-sent events of signal changes (handled by the server)
    GET    /v1/history?signal=S&since=&until=&max_points=   recorded trend (Parquet), downsampled
    POST   /v1/reload                      re-read, validate, verify and apply the config
    POST   /v1/actors/restart              {"path": "petra/core/logic/x"}
    POST   /v1/actors/inject               {"path": ..., "kind": "crash|hang|slow|raise-on-next", "arg": N}
    POST   /v1/login, /v1/logout; GET /v1/session; /v1/users..., /v1/tokens...   see petra.control.login

Who may call each route is `petra.control.access`'s table; `handle` refuses a caller below the route's
role (403, audited) before the handler runs.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pykka import ActorDeadError
from pykka import Timeout as PykkaTimeout

from petra import __version__
from petra.control import access
from petra.control.calls import ApiError, Handler, Request, Response, json_body, query_number
from petra.control.handle import RuntimeHandle
from petra.control.login import AccountsApi
from petra.control.remote_write import HTTP_STATUS, WriteRefused, write_signal
from petra.control.routes import RouteTable
from petra.messages import ForceSignal
from petra.paths import CLOCK, ROOT, STORAGE, child_path, is_under, section_group
from petra.security.roles import Role
from petra.tasks.runtime import task_status
from petra.threads import process_status
from petra.values import CoercionError, coerce
from supervision import Inject, SupervisionTree

if TYPE_CHECKING:
    from petra.plant import Plant
    from petra.security.identity import Identity

log = logging.getLogger(__name__)

FAULT_KINDS = ("crash", "hang", "slow", "raise-on-next")
ASK_TIMEOUT_S = 5.0
STARTING_WAIT_S = 30.0  # how long a request that arrives while the tree starts waits for it
EPOCH_MAX_S = 253_402_300_799.0
"""9999-12-31T23:59:59Z: the last instant a timestamp column can hold."""
MAX_POINTS = 100_000
DRIVERS = section_group("drivers")
OPCUA = child_path(section_group("services"), "opcua")




def history_query(request: Request) -> tuple[str, float | None, float | None, int]:
    """`GET /v1/history`'s query: signal, since, until (epoch seconds), max_points; ApiError 400 otherwise."""
    signal = request.query.get("signal")
    if not signal:
        raise ApiError(400, "history needs ?signal=NAME (and optionally since, until as epoch seconds, "
                            "max_points)")
    since = query_number(request, "since", maximum=EPOCH_MAX_S)
    until = query_number(request, "until", maximum=EPOCH_MAX_S)
    max_points = int(query_number(request, "max_points", 1000, minimum=1, maximum=MAX_POINTS, integer=True))
    return signal, since, until, max_points


@dataclass(frozen=True)
class ApiRoute:
    """A route as the API serves it: method, path regex, handler, and the least role (None: open)."""

    method: str
    regex: re.Pattern[str]
    handler: Handler
    role: Role | None


class ControlApi:
    """Routes requests to the running plant through its `RuntimeHandle` (petra.runtime.Runtime is one).

    `routes` holds what the sections add (the alarm routes): read on every
    request, so a reload that changes them is seen at once.
    """

    def __init__(self, runtime: RuntimeHandle, served_by: str | None = None, routes: RouteTable | None = None,
                 identity: Callable[[], Identity | None] | None = None) -> None:
        self.runtime = runtime
        self.identity = identity or (lambda: None)
        """The users file, lock-out and sessions as they are now (`petra.control.auth.Identities`); None: config
        tokens and the socket only."""
        self.extra_routes = routes if routes is not None else RouteTable()
        self.served_by = served_by
        """The actor path serving this API: restarting it (or a supervisor above it) cannot wait for itself."""
        self.started_at = time.time()
        self._routes: list[ApiRoute] = []
        self.add_route("GET", r"/v1/status", self._status)
        self.add_route("GET", r"/v1/tree", self._tree)
        self.add_route("GET", r"/v1/signals", self._signals)
        self.add_route("GET", r"/v1/signals/(?P<name>[^/]+)", self._get_signal)
        self.add_route("PUT", r"/v1/signals/(?P<name>[^/]+)", self._set_signal)
        self.add_route("POST", r"/v1/signals/(?P<name>[^/]+)/force", self._force)
        self.add_route("DELETE", r"/v1/signals/(?P<name>[^/]+)/force", self._unforce)
        self.add_route("GET", r"/v1/history", self._history)
        self.add_route("POST", r"/v1/reload", self._reload)
        self.add_route("POST", r"/v1/actors/restart", self._restart)
        self.add_route("POST", r"/v1/actors/inject", self._inject)
        for method, pattern, handler in AccountsApi(self.identity).routes():
            self.add_route(method, pattern, handler)

    def add_route(self, method: str, pattern: str, handler: Handler) -> None:
        """A built-in route, with the role `petra.control.access.BUILT_IN` gives it (a route it does not name
        is a KeyError: none is served undecided). Sections add theirs through `routes` (petra.control.routes)."""
        self._routes.append(ApiRoute(method, re.compile(pattern + r"/?"), handler,
                                     access.built_in_role(method, pattern)))

    def routes(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        """Built-in routes, then those the sections add (`routes`)."""
        return [(r.method, r.regex, r.handler) for r in self.table()]

    def table(self) -> list[ApiRoute]:
        """Every route with its least role: the built-in ones, then the sections' (read on every request)."""
        return self._routes + [ApiRoute(r.method, r.regex, r.handler, r.role) for r in self.extra_routes.routes()]

    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]]:
        """The route serving `method path` and its path parameters; ApiError 404 or 405 when none does."""
        matched_path = False
        for route in self.table():
            match = route.regex.fullmatch(path)
            if match is None:
                continue
            matched_path = True
            if route.method == method:
                return route, match.groupdict()
        if matched_path:
            raise ApiError(405, f"method {method} not allowed on {path}")
        raise ApiError(404, f"no such endpoint: {path}")

    def role_needed(self, method: str, path: str) -> Role | None:
        """The least role of the route `method path` (viewer for a path no route serves: it needs credentials
        to be told so)."""
        try:
            return self.match(method, path)[0].role
        except ApiError:
            return Role.VIEWER

    def handle(self, request: Request) -> Response:
        if not self.runtime.started.wait(STARTING_WAIT_S):
            # the control listener is up before the rest of the tree: hold, then say so plainly
            return Response(503, {"error": "PETRA is still starting; try again"})
        try:
            route, params = self.match(request.method, request.path)
            self._authorize(request, route)
            result = route.handler(request, params)
            return result if isinstance(result, Response) else Response(200, result)
        except ApiError as exc:
            return Response(exc.status, {"error": exc.message}, exc.headers)
        except Exception as exc:  # a bug must answer, not drop the connection
            log.exception("control API %s %s failed", request.method, request.path)
            return Response(500, {"error": f"internal error: {type(exc).__name__}: {exc}"})

    # --- helpers ---------------------------------------------------------

    @property
    def plant(self) -> Plant:
        return self.runtime.plant

    @property
    def tree(self) -> SupervisionTree:
        tree = self.runtime.tree
        if tree is None:
            raise ApiError(503, "PETRA is not running")
        return tree

    def _json(self, request: Request) -> dict[str, Any]:
        return json_body(request)

    def _slot(self, name: str) -> int:
        slot = self.plant.table.index.get(name)
        if slot is None:
            raise ApiError(404, f"unknown signal '{name}'")
        return slot

    def _audit(self, event: str, request: Request, **details: Any) -> None:
        self.runtime.audit(event, request.caller, **details)

    def _authorize(self, request: Request, route: ApiRoute) -> None:
        """403 (audited) unless the caller's role is at least the route's."""
        principal = request.acting
        if route.role is None or principal.allows(route.role):
            return
        self.runtime.audit("access.denied", request.caller, method=request.method, path=request.path[:200],
                           role=principal.role.label, needed=route.role.label, address=principal.address,
                           user=principal.user)
        raise ApiError(403, f"{request.method} {request.path[:200]} needs the {route.role.label} role; "
                            f"{principal.name} has {principal.role.label}")

    def _ask_owner(self, name: str, message: Any) -> Any:
        table = self.plant.table
        owner = table.owners[self._slot(name)]
        path = owner.path
        ref = self.tree.lookup(path)
        if ref is None:
            raise ApiError(503, f"the owner of '{name}' ({path}) is not running right now; try again")
        try:
            return ref.ask(message, timeout=ASK_TIMEOUT_S)
        except (ActorDeadError, PykkaTimeout):
            raise ApiError(503, f"the owner of '{name}' ({path}) did not answer; try again") from None

    # --- handlers ----------------------------------------------------------

    def _status(self, request: Request, _: dict[str, str]) -> Any:
        return self.status()

    def status(self, process: bool = True) -> dict[str, Any]:
        """`GET /v1/status`'s body; without `process` (the threads' census, a third of the cost) for the web
        HMI's streams, which do not show it."""
        runtime = self.runtime
        tree = self.tree.tree()
        nodes = list(tree.walk())
        body = {
            "version": __version__,
            "node_id": self.plant.config.node_id,
            "uptime_s": round(time.time() - (runtime.started_at or self.started_at), 3),
            "config": runtime.config_info(),
            "scan_time_ms": self.plant.config.scan_time_ms,
            "scan": self.plant.stats.summary().to_dict(),
            "chain_work_ms": {k: round(v * 1e3, 4) for k, v in self.plant.stats.chain_work_s.items()},
            "tasks": task_status(self.plant.tasks),
            "signals": len(self.plant.table.index),
            "forced": len(self.plant.table.forced),
            "actors": {
                "total": len(nodes),
                "running": sum(1 for n in nodes if n.state == "running"),
                "restarts": sum(n.restarts for n in nodes),
                "hung": sum(n.hung for n in nodes),
            },
            "subsystems": self._subsystem_status(nodes),
        }
        if process:
            body["process"] = process_status(self.runtime.tree)
        return body

    def _subsystem_status(self, nodes: list[Any]) -> dict[str, Any]:
        """What each driver and storage actor, and the OPC-UA server, reports about itself (connected, lag,
        errors, endpoint and sessions...)."""
        found: dict[str, Any] = {}
        for node in nodes:
            if node.kind != "worker" or not (any(is_under(node.path, g) for g in (DRIVERS, STORAGE))
                                             or node.path == OPCUA):
                continue
            ref = self.tree.lookup(node.path)
            if ref is None or not hasattr(ref.actor_class, "status"):
                continue
            try:
                found[node.path] = ref.proxy().status().get(timeout=ASK_TIMEOUT_S / 5)
            except (ActorDeadError, PykkaTimeout):
                found[node.path] = {"error": "not answering"}
            except Exception as exc:  # its own status failed (the actor restarts if it must): say so, serve the rest
                found[node.path] = {"error": f"{type(exc).__name__}: {exc}"}
        return found

    def _tree(self, request: Request, _: dict[str, str]) -> Any:
        return self.tree.tree().to_dict()

    def _signals(self, request: Request, _: dict[str, str]) -> Any:
        pattern = request.query.get("pattern", "*")
        index = self.plant.table.index
        return {"signals": [{**s.to_dict(), "writable": self._writable(index[s.name], request.acting.role),
                             **self._range(index[s.name])}
                            for s in self.plant.table.match(pattern) if s.name in index]}

    def _get_signal(self, request: Request, params: dict[str, str]) -> Any:
        slot = self._slot(params["name"])
        sample = self.plant.table.sample(slot).to_dict()
        sample["writable"] = self._writable(slot, request.acting.role)
        sample.update(self._range(slot))
        forced = self.plant.table.forced.get(slot)
        if forced is not None:
            sample["force_reason"] = forced[1]
        return sample

    def _range(self, slot: int) -> dict[str, float]:
        """The signal's `min`/`max` write limits, where it declares them (the page's setpoint bounds)."""
        spec = self.plant.table.specs[slot]
        return {key: limit for key, limit in (("min", spec.minimum), ("max", spec.maximum)) if limit is not None}

    def _writable(self, slot: int, role: Role) -> bool:
        """Whether `PUT /v1/signals/NAME` would accept this caller's write (the page shows Write only then)."""
        table = self.plant.table
        return not table.owners[slot].is_chain and access.write_refusal(table.specs[slot], role) is None

    def _value(self, name: str, data: dict[str, Any]) -> Any:
        if "value" not in data:
            raise ApiError(400, "body needs a 'value'")
        try:
            return coerce(data["value"], self.plant.table.types[self._slot(name)])
        except CoercionError as exc:
            raise ApiError(422, f"{name}: {exc}") from None

    def _set_signal(self, request: Request, params: dict[str, str]) -> Any:
        """`petra.control.remote_write`: the one path every remote write takes (web, OPC-UA, Sparkplug too)."""
        data = self._json(request)
        if "value" not in data:
            raise ApiError(400, "body needs a 'value'")
        try:
            return write_signal(self.runtime, params["name"], data["value"], request.acting, "control",
                                method=request.method, path=request.path[:200])
        except WriteRefused as exc:
            raise ApiError(HTTP_STATUS[exc.kind], str(exc)) from None

    def _force(self, request: Request, params: dict[str, str]) -> Any:
        name = params["name"]
        data = self._json(request)
        reason = data.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ApiError(400, "forcing needs a non-empty 'reason'")
        value = self._value(name, data)
        error = self._ask_owner(name, ForceSignal(name, value, reason))
        if error:
            raise ApiError(409, error)
        self._audit("signal.force", request, signal=name, value=value, reason=reason)
        return self._get_signal(request, params)

    def _unforce(self, request: Request, params: dict[str, str]) -> Any:
        name = params["name"]
        slot = self._slot(name)
        if slot not in self.plant.table.forced:
            raise ApiError(409, f"'{name}' is not forced")
        reason = self._json(request).get("reason", "")
        error = self._ask_owner(name, ForceSignal(name, None, str(reason)))
        if error:
            raise ApiError(409, error)
        self._audit("signal.unforce", request, signal=name, reason=reason)
        return self._get_signal(request, params)

    def _history(self, request: Request, _: dict[str, str]) -> Any:
        """A signal's recorded trend from the Parquet history, downsampled to max_points buckets."""
        if "storage" not in self.plant.config.sections:
            for route in self.extra_routes.routes():  # a section that keeps recent values (web's trend ring)
                if route.method == "GET" and route.pattern == r"/v1/history":
                    return route.handler(request, _)
            raise ApiError(404, "this plant records no history (no storage section)")
        signal, since, until, max_points = history_query(request)
        from petra.storage.query import plant_history

        table = plant_history(self.plant, signal, since, until, max_points)
        rows = table.to_pylist()
        for row in rows:
            row["ts"] = row["ts"].timestamp() if row.get("ts") is not None else None
        return {"signal": signal, "rows": rows}

    def _reload(self, request: Request, _: dict[str, str]) -> Any:
        result = self.runtime.reload(caller=request.caller)
        if not result.accepted:
            return Response(422, result.to_dict())
        return result.to_dict()

    def _actor_path(self, data: dict[str, Any]) -> str:
        path = data.get("path")
        if not isinstance(path, str) or not path:
            raise ApiError(400, f"body needs an actor 'path' such as {CLOCK}")
        if path not in {n.path for n in self.tree.tree().walk()}:
            raise ApiError(404, f"no actor at '{path}'")
        if path == ROOT:
            raise ApiError(400, "the root cannot be restarted; restart the service instead")
        return path

    def _restart(self, request: Request, _: dict[str, str]) -> Any:
        path = self._actor_path(self._json(request))
        if self.served_by is not None and (self.served_by == path or self.served_by.startswith(path + "/")):
            # The server stops as part of this restart: answer first, restart right after.
            self._audit("actor.restart", request, path=path)
            threading.Thread(target=self._restart_later, args=(path,), name="petra-control-self-restart",
                             daemon=True).start()
            return {"restarted": path}
        try:
            self.tree.restart(path, timeout=30)
        except Exception as exc:
            raise ApiError(409, f"restart of {path} failed: {exc}") from None
        self._audit("actor.restart", request, path=path)
        return {"restarted": path}

    def _restart_later(self, path: str) -> None:
        try:
            self.tree.restart(path, timeout=30)
        except Exception as exc:
            log.error("restart of %s (the control API's own actor) failed: %s", path, exc)

    def _inject(self, request: Request, _: dict[str, str]) -> Any:
        data = self._json(request)
        path = self._actor_path(data)
        kind = data.get("kind")
        if kind not in FAULT_KINDS:
            raise ApiError(400, f"kind must be one of: {', '.join(FAULT_KINDS)}")
        arg = data.get("arg")
        if arg is not None and (not isinstance(arg, (int, float)) or isinstance(arg, bool) or arg < 0):
            raise ApiError(400, "arg must be a non-negative number (slow: ms per message; hang: seconds)")
        if kind == "slow" and arg is None:
            raise ApiError(400, "slow needs arg: milliseconds per message")
        try:
            fault = Inject(kind, arg)
        except ValueError as exc:
            raise ApiError(422, str(exc)) from None
        ref = self.tree.lookup(path)
        if ref is None:
            raise ApiError(409, f"{path} is not running right now")
        try:
            ref.tell(fault)
        except ActorDeadError:
            raise ApiError(409, f"{path} stopped before the fault could be injected") from None
        self._audit("actor.inject", request, path=path, kind=kind, arg=arg)
        return {"injected": kind, "path": path, "arg": arg}
