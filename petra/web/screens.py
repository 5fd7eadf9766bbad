"""The dashboard screens as `GET /v1/screens` gives them: the config's screens, each widget with what the page
needs to draw it and whether the caller may use it.

Each widget is its config keys (those set), plus for a widget with a `signal`: `signal_type`, `unit` and
`description` of that signal (and, for a write widget, `signal_min`/`signal_max`: the signal's write limits
where it declares them); for a trend, `series`: one `{signal, signal_type, unit}` per signal; and for a
write widget (button, switch, setpoint) `writable`: whether the caller's role may write its signal now
(`petra.control.access.write_refusal`, the rule `PUT /v1/signals/NAME` enforces), with `refusal` saying why
not. Every other widget has `writable: false`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from petra.control.access import write_refusal
from petra.security.roles import Role
from petra.signals import SignalTable
from petra.web.settings import WRITE_WIDGETS, Screen, WebSettings, Widget


def screens_view(settings: WebSettings, table: SignalTable, role: Role) -> dict[str, Any]:
    return {"screens": [_screen(screen, table, role) for screen in settings.screens]}


def _screen(screen: Screen, table: SignalTable, role: Role) -> dict[str, Any]:
    return {"name": screen.name, "title": screen.title or screen.name, "columns": screen.columns,
            "widgets": [_widget(widget, table, role) for widget in screen.widgets]}


def _widget(widget: Widget, table: SignalTable, role: Role) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for field in dataclasses.fields(widget):
        value = getattr(widget, field.name)
        if value is None or (field.name == "signals" and not value):
            continue
        if field.name == "color" and widget.type != "lamp":
            continue
        if field.name == "minutes" and widget.type != "trend":
            continue
        view[field.name] = list(value) if isinstance(value, tuple) else value
    view["writable"] = False
    if widget.signal is not None:
        spec = _spec(table, widget.signal)
        if spec is not None:
            view.update(signal_type=spec.type.value, unit=spec.unit, description=spec.description)
            if widget.type in WRITE_WIDGETS:
                for key, limit in (("signal_min", spec.minimum), ("signal_max", spec.maximum)):
                    if limit is not None:  # the signal's write limits, which PUT enforces
                        view[key] = limit
                refusal = write_refusal(spec, role)
                view["writable"] = refusal is None
                if refusal is not None:
                    view["refusal"] = refusal
    if widget.signals:
        view["series"] = [{"signal": name, "signal_type": spec.type.value if spec else None,
                           "unit": spec.unit if spec else ""}
                          for name in widget.signals for spec in [_spec(table, name)]]
    return view


def _spec(table: SignalTable, name: str) -> Any:
    slot = table.index.get(name)
    return None if slot is None else table.specs[slot]
