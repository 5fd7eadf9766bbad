"""The alarm routes of the control API: `routes`, the alarm section's `Section.routes` hook.

    GET  /v1/alarms                          the alarm list (state, ack, shelve, chatter, escalation)
    GET  /v1/alarms/kpi?period_s=86400       ISA-18.2 KPIs
    GET  /v1/alarms/history?id=&since=&limit=  alarm events, newest first
    GET  /v1/alarms/deliveries?limit=        notification delivery records, newest first
    GET  /v1/alarms/ID
    POST /v1/alarms/ID/ack                   {"comment": "..."}
    POST /v1/alarms/ID/shelve                {"for_s": 7200, "reason": "..."} (no for_s: one-shot)
    POST /v1/alarms/ID/unshelve | /reset
    POST /v1/alarms/ID/disable               {"reason": "..."} (out of service) | /enable

Reads need the viewer role, ack/shelve/unshelve/reset the operator, disable/enable the engineer
(`petra.control.access`). Every command is audited with the caller's identity (`uid:1000`, `token:ops`).
"""

from __future__ import annotations

import time
from typing import Any

from petra.alarms.config import build_config
from petra.alarms.flood import kpis
from petra.alarms.service import AlarmService, UnknownAlarm
from petra.alarms.states import CommandRefused
from petra.control.api import EPOCH_MAX_S, ApiError, Request, query_number
from petra.control.api import json_body as _body
from petra.control.routes import Route
from petra.plant import Plant
from petra.security.roles import Role
from petra.wiring import Wiring

PREFIX = "/v1/alarms"
OPERATOR_COMMANDS = ("ack", "shelve", "unshelve", "reset")
"""What the operator on shift does with an alarm (ISA-18.2's acknowledge, shelve, reset)."""
ENGINEER_COMMANDS = ("disable", "enable")
"""Taking an alarm out of service and back: a maintenance decision, not a shift's (engineer)."""


MAX_LIMIT = 100_000


class AlarmApi:
    def __init__(self, service: AlarmService) -> None:
        self.service = service

    def routes(self) -> list[Route]:
        one = PREFIX + r"/(?P<id>[^/]+)"
        return [
            Route("GET", PREFIX, self.list, Role.VIEWER),
            Route("GET", PREFIX + "/kpi", self.kpi, Role.VIEWER),
            Route("GET", PREFIX + "/history", self.history, Role.VIEWER),
            Route("GET", PREFIX + "/deliveries", self.deliveries, Role.VIEWER),
            Route("GET", one, self.one, Role.VIEWER),
            Route("POST", one + rf"/(?P<command>{'|'.join(OPERATOR_COMMANDS)})", self.command, Role.OPERATOR),
            Route("POST", one + rf"/(?P<command>{'|'.join(ENGINEER_COMMANDS)})", self.command, Role.ENGINEER),
        ]

    def list(self, request: Request, _: dict[str, str]) -> Any:
        walks = self.service.store.items("escalations")
        alarms = []
        for alarm_id in sorted(self.service.views):
            view = self._current(self.service.views[alarm_id])
            record = walks.get(alarm_id)
            if record:
                walk = record["walk"]
                view["escalation"] = {"round": walk["round"], "step": walk["step"], "next_at": walk["next_at"],
                                      "notified": walk["notified"], "chain": walk["chain"]}
            alarms.append(view)
        return {"alarms": alarms, "flood": self.service.flood_active}

    def one(self, request: Request, params: dict[str, str]) -> Any:
        try:
            alarm_id = self.service.resolve(params["id"])
        except UnknownAlarm:
            raise ApiError(404, f"unknown alarm '{params['id']}'") from None
        view = self.service.views.get(alarm_id)
        if view is None:
            raise ApiError(503, f"alarm '{alarm_id}' is not running right now")
        return self._current(view)

    def _current(self, view: dict[str, Any]) -> dict[str, Any]:
        """The view with the signal's value as it is now: the router skips alarm evaluations
        for changes that cannot move the alarm, so the value seen last may be older."""
        view = dict(view)
        table = self.service.plant.table
        slot = table.index.get(view.get("signal") or "")
        if slot is not None:
            view["value"] = table.values[slot]
        return view

    def kpi(self, request: Request, _: dict[str, str]) -> Any:
        now = time.time()
        period = query_number(request, "period_s", 86400.0, minimum=1.0, maximum=EPOCH_MAX_S)
        events = self.service.store.events(since=now - period, limit=1_000_000)
        return kpis(events, self.service.views.values(), now, self.service.config.stale_after_s, period)

    def history(self, request: Request, _: dict[str, str]) -> Any:
        alarm = request.query.get("id") or None
        if alarm is not None:
            try:
                alarm = self.service.resolve(alarm)
            except UnknownAlarm:
                raise ApiError(404, f"unknown alarm '{alarm}'") from None
        since = query_number(request, "since", maximum=EPOCH_MAX_S)
        limit = int(query_number(request, "limit", 200, minimum=1, maximum=MAX_LIMIT, integer=True))
        events = self.service.store.events(alarm, since, limit=limit, newest_first=True)
        return {"events": events}

    def deliveries(self, request: Request, _: dict[str, str]) -> Any:
        limit = int(query_number(request, "limit", 100, minimum=1, maximum=MAX_LIMIT, integer=True))
        records = sorted(self.service.store.items("deliveries").values(), key=lambda d: d.get("created", 0),
                         reverse=True)
        return {"deliveries": records[:limit]}

    def command(self, request: Request, params: dict[str, str]) -> Any:
        data = _body(request)
        kind = params["command"]
        try:
            alarm_id = self.service.resolve(params["id"])
        except UnknownAlarm:
            raise ApiError(404, f"unknown alarm '{params['id']}'") from None
        reason = str(data.get("reason") or data.get("comment") or "")
        duration = None
        if kind == "shelve":
            raw = data.get("for_s")
            if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0):
                raise ApiError(400, "for_s must be a positive number of seconds (omit it for a one-shot shelve)")
            duration = None if raw is None else float(raw)
            if not reason.strip():
                raise ApiError(400, "shelving needs a non-empty 'reason'")
        if kind == "disable" and not reason.strip():
            raise ApiError(400, "taking an alarm out of service needs a non-empty 'reason'")
        try:
            view = self.service.command(alarm_id, kind, request.caller, reason, duration)
        except CommandRefused as exc:
            raise ApiError(409, str(exc)) from None
        except TimeoutError as exc:
            raise ApiError(503, str(exc)) from None
        details: dict[str, Any] = {"alarm": alarm_id}
        if reason:
            details["reason"] = reason
        if duration is not None:
            details["for_s"] = duration
        self.service.audit(f"alarm.{kind}", request.caller, **details)
        return view


def routes(plant: Plant, wiring: Wiring) -> list[Route]:
    """The alarm routes for `plant`'s config, served by the alarm service the wiring keeps ([] without alarms).

    The tree builder calls it when the tree is built and again when a reload
    changes the alarm sections; the service is the one `child_specs` gave the
    actors, so while they restart the routes answer 503 for an alarm that is
    not running and 404 for one that is unknown.
    """
    config = build_config(plant.config)
    if config is None:
        return []
    return AlarmApi(AlarmService.kept(plant, wiring, config)).routes()
