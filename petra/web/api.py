"""The web section's control API routes: `routes`, the web section's `Section.routes` hook.

    GET /v1/stream                      the tab's event stream (served by the web listener: `petra.web.app`)
    PUT /v1/stream/ID                   {"signals": [...] | "*", "alarms": bool, "status": bool}
    GET /v1/screens                     the configured dashboard screens (`petra.web.screens`)
    GET /v1/audit?limit=&before_seq=    the newest audit entries, newest first (admin)
    GET /v1/history?signal=...          without a storage section: answered from the trend ring
                                        (`petra.web.ring`; the built-in route hands over to this one)
    GET /v1/trend?signals=a,b&since=&until=&points=
                                        a chart's signals in one request, columnar, M4-downsampled to its
                                        pixel width (`petra.web.trend`), from Parquet or the trend ring

Every route is for viewers but the audit trail, which is the admin's: it names users, addresses and what
each did. The stream's own `GET` is declared here for its role; on the control listener it answers 404
saying where it is served.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from petra.audit import AuditError, parse_entry
from petra.control.api import ApiError, Request, history_query, json_body, query_number
from petra.control.routes import Route
from petra.designer.api import routes as designer_routes
from petra.plant import Plant
from petra.security.roles import Role
from petra.web.ring import TrendRing
from petra.web.screens import screens_view
from petra.web.settings import WebSettings
from petra.web.stream import StreamHub
from petra.web.trend import body as trend_body
from petra.web.trend import parquet_trend, ring_trend, trend_query
from petra.wiring import Wiring

MAX_AUDIT = 10_000
CHUNK = 65536


class WebApi:
    def __init__(self, plant: Plant, wiring: Wiring, hub: StreamHub) -> None:
        self.plant = plant
        self.wiring = wiring
        self.hub = hub
        self.state = wiring.section_state("web")

    def routes(self) -> list[Route]:
        return [
            Route("GET", r"/v1/stream", self.stream_elsewhere, Role.VIEWER),
            Route("PUT", r"/v1/stream/(?P<id>[^/]+)", self.subscribe, Role.VIEWER),
            Route("GET", r"/v1/screens", self.screens, Role.VIEWER),
            Route("GET", r"/v1/audit", self.audit, Role.ADMIN),
            Route("GET", r"/v1/history", self.history, Role.VIEWER),
            Route("GET", r"/v1/trend", self.trend, Role.VIEWER),
        ]

    def stream_elsewhere(self, request: Request, _: dict[str, str]) -> Any:
        web = self.plant.config.settings("web", WebSettings)
        raise ApiError(404, f"GET /v1/stream is served by the web HMI's listener ({web.host}:{web.port}), "
                            "not on this one; use GET /v1/events here")

    def subscribe(self, request: Request, params: dict[str, str]) -> Any:
        return self.hub.subscribe(params["id"], request.acting.name, json_body(request))

    def screens(self, request: Request, _: dict[str, str]) -> Any:
        return screens_view(self.plant.config.settings("web", WebSettings), self.plant.table, request.acting.role)

    def history(self, request: Request, _: dict[str, str]) -> Any:
        """The trend ring's answer for `GET /v1/history` (the built-in route calls it without storage)."""
        ring = self.state.get("ring")
        if not isinstance(ring, TrendRing):
            raise ApiError(404, "this plant records no history (no storage section, and web.trend_ring_points "
                                "is 0 or the web HMI is not running)")
        signal, since, until, max_points = history_query(request)
        if since is not None and until is not None and until <= since:
            raise ApiError(400, f"until ({until:g}) must be after since ({since:g})")
        try:
            return ring.history(signal, since, until, max_points)
        except KeyError:
            raise ApiError(404, f"unknown signal '{signal}'") from None

    def trend(self, request: Request, _: dict[str, str]) -> Any:
        """`GET /v1/trend`: every signal of a chart over one range, from the Parquet history when the plant has
        a storage section, else from the trend ring."""
        names, since, until, points = trend_query(request, self.plant.table.index)
        storage = self.plant.config.sections.get("storage")
        if storage is not None:
            from petra.config.settings import parse
            from petra.storage.settings import LocalSettings

            data_dir = parse(LocalSettings, storage.get("local") or {}).data_dir
            return trend_body(names, since, until, points, "parquet",
                              parquet_trend(data_dir, names, since, until, points))
        ring = self.state.get("ring")
        if not isinstance(ring, TrendRing):
            raise ApiError(404, "this plant records no history (no storage section, and web.trend_ring_points "
                                "is 0 or the web HMI is not running)")
        series = {}
        for name in names:
            try:
                _dtype, held = ring.held(name)
            except KeyError:  # removed by a reload since the query was checked
                raise ApiError(404, f"unknown signal '{name}'") from None
            series[name] = ring_trend(held, since, until, points)
        return trend_body(names, since, until, points, "ring", series)

    def audit(self, request: Request, _: dict[str, str]) -> Any:
        limit = int(query_number(request, "limit", 100, minimum=1, maximum=MAX_AUDIT, integer=True))
        before = query_number(request, "before_seq", minimum=1, maximum=2**62, integer=True)
        path = self._audit_path()
        if path is None:
            raise ApiError(404, "audit logging is off (security.enable_audit_logging, or petra run --audit-log)")
        try:
            entries = newest_entries(path, limit, None if before is None else int(before))
        except FileNotFoundError:
            entries = []
        except (OSError, AuditError) as exc:
            raise ApiError(503, f"the audit trail {path} cannot be read: {exc}") from None
        return {"entries": entries, "path": str(path),
                "next_before_seq": entries[-1]["seq"] if len(entries) == limit else None}

    def _audit_path(self) -> Path | None:
        from petra.runtime import audit_path  # the runtime imports the sections: only here, at a request

        control = self.wiring.control
        return None if control is None else audit_path(control.options, self.plant.config)


def newest_entries(path: Path, limit: int, before_seq: int | None) -> list[dict[str, Any]]:
    """Up to `limit` entries of the audit file, newest first, each with `seq` below `before_seq` when given.

    Reads backwards from the end in chunks, so the newest page of a long trail costs one chunk; a line that
    does not parse (the torn last line of a crash) is skipped.
    """
    found: list[dict[str, Any]] = []
    with path.open("rb") as file:
        end = file.seek(0, 2)
        tail = b""
        while end > 0 and len(found) < limit:
            start = max(0, end - CHUNK)
            file.seek(start)
            block = file.read(end - start) + tail
            end = start
            lines = block.split(b"\n")
            tail = lines.pop(0) if start > 0 else b""
            for line in reversed(lines):
                if _take(line, before_seq, found) and len(found) >= limit:
                    break
        if tail and len(found) < limit:
            _take(tail, before_seq, found)
    return found[:limit]


def _take(line: bytes, before_seq: int | None, found: list[dict[str, Any]]) -> bool:
    if not line.strip():
        return False
    try:
        entry = parse_entry(line)
    except (AuditError, ValueError):
        return False
    if before_seq is not None and entry.seq >= before_seq:
        return False
    found.append({**entry.body(), "hash": entry.hash})
    return True


def routes(plant: Plant, wiring: Wiring) -> list[Route]:
    """The web routes for `plant`'s config ([] without `web:`), sharing the stream hub with the web actor."""
    if "web" not in plant.config.sections:
        return []
    hub = wiring.section_state("web").setdefault("hub", StreamHub(plant))
    assert isinstance(hub, StreamHub)
    return WebApi(plant, wiring, hub).routes() + designer_routes(plant, wiring)
