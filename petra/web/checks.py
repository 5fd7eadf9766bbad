"""Whole-plant checks of the `web` section: the screens' widgets against the plant's signals.

What the schema cannot say, each a located error (file:line: what was expected):

- a widget's signal (or a trend's signals) that the plant neither declares nor writes, with a did-you-mean;
- the keys a widget's type needs: `signal` for all but trend and alarms, `signals` for trend, `min`/`max` for
  gauge and bar (min < max), `value` for button (a bool for a bool signal, an integer for an int one);
- the signal's type: a lamp and a switch need a bool, a gauge, bar and setpoint a number, a button a bool or
  an int, a trend numbers or bools;
- a write widget (button, switch, setpoint) on a signal that cannot be written remotely: one a block, a
  driver, the alarm or the storage runtime writes without a `writable_by`, or `writable: false` (the same
  rights `petra.control.access.write_refusal` enforces on `PUT /v1/signals/NAME`). One that needs more
  than the operator role (`writable_by: engineer`) is a warning: only those roles see it enabled;
- a widget that reaches past the screen's `columns`; two screens with the same name.

The web section reads signals but declares no reads: an unknown name here is an error, never an implicit
signal.
"""

from __future__ import annotations

from typing import Any

from petra.config.checks import INTERNAL_WRITERS
from petra.config.context import CheckContext, mappings, section
from petra.config.errors import Path_, near_miss
from petra.security.roles import Role
from petra.values import DataType
from petra.web.settings import WRITE_WIDGETS

NUMBERS = (DataType.INT, DataType.FLOAT)
SIGNAL_TYPES: dict[str, tuple[DataType, ...]] = {
    "lamp": (DataType.BOOL,), "switch": (DataType.BOOL,), "gauge": NUMBERS, "bar": NUMBERS,
    "setpoint": NUMBERS, "button": (DataType.BOOL, DataType.INT),
}
NO_SIGNAL = ("trend", "alarms")
SCALE = ("gauge", "bar")


def signal_type(ctx: CheckContext, name: str) -> DataType | None:
    """The type the plant gives `name` (declared, else its writer's; float when the writer does not say)."""
    declared = ctx.declared.get(name)
    if declared is not None:
        return declared.type
    writer = ctx.writers.get(name)
    return None if writer is None else writer.type or DataType.FLOAT


def remote_writer_role(ctx: CheckContext, name: str) -> tuple[Role | None, str]:
    """The least role that may write `name` through the API (None: nobody) and, for None, why not.

    The loader's rule (`petra.config.checks._write_rights`), read off the check context.
    """
    declared = ctx.declared.get(name)
    writer = ctx.writers.get(name)
    if declared is None:
        return None, f"it is written by {writer.what}" if writer is not None else "it is not declared"
    if not declared.writable:
        return None, "it is writable: false"
    at = ctx.declared_at[name][:-1]
    item = ctx.doc.data["signals"][at[1]]
    if writer is not None and ("writable_by" not in item or writer.group in INTERNAL_WRITERS):
        return None, f"it is written by {writer.what} (give it writable_by, or use a value widget)"
    return declared.writable_by, ""


def check(ctx: CheckContext) -> None:
    """Screen names are unique; every widget fits its grid, names known signals of the right type and, when it
    writes, a signal the API lets someone write."""
    web = section(ctx.data, "web")
    ctx.unique(web.get("screens"), "name", ("web", "screens"), "screen name")
    known = [*ctx.declared, *ctx.writers]
    for s, screen in mappings(web.get("screens")):
        columns = screen.get("columns", 12)
        for w, widget in mappings(screen.get("widgets")):
            _widget(ctx, widget, ("web", "screens", s, "widgets", w), columns if isinstance(columns, int) else 12,
                    known)


def _widget(ctx: CheckContext, widget: dict[str, Any], path: Path_, columns: int, known: list[str]) -> None:
    kind = widget.get("type")
    if not isinstance(kind, str):
        return  # the schema reports it
    x, width = widget.get("x", 0), widget.get("w", 1)
    if isinstance(x, int) and isinstance(width, int) and x + width > columns:
        ctx.error((*path, "w" if "w" in widget else "x"),
                  f"{kind} widget reaches column {x + width} but the screen has {columns} columns "
                  f"(expected x + w <= {columns})")
    if kind in NO_SIGNAL:
        if "signal" in widget:
            fix = "list them in signals" if kind == "trend" else "remove it (filter picks the alarms)"
            ctx.error((*path, "signal"), f"a {kind} widget takes no signal: {fix}", key=True)
        if kind == "trend":
            if "signals" not in widget:
                ctx.error(path, "a trend widget needs signals: [NAME, ...]")
            for i, name in enumerate(widget.get("signals") or ()):
                _signal(ctx, name, (*path, "signals", i), kind, known, (DataType.BOOL, *NUMBERS))
        return
    if "signal" not in widget:
        ctx.error(path, f"a {kind} widget needs signal: NAME")
        return
    dtype = _signal(ctx, widget["signal"], (*path, "signal"), kind, known, SIGNAL_TYPES.get(kind))
    if kind in SCALE:
        for key in ("min", "max"):
            if key not in widget:
                ctx.error(path, f"a {kind} widget needs {key}: NUMBER (the ends of its scale)")
    low, high = widget.get("min"), widget.get("max")
    if isinstance(low, int | float) and isinstance(high, int | float) and low >= high:
        ctx.error((*path, "max"), f"max ({high}) must be above min ({low})")
    if kind == "button":
        _button_value(ctx, widget, path, dtype)
    if kind in WRITE_WIDGETS and dtype is not None:
        role, why = remote_writer_role(ctx, widget["signal"])
        if role is None:
            ctx.error((*path, "signal"), f"a {kind} writes '{widget['signal']}', but it cannot be written "
                                         f"remotely: {why}")
        elif role > Role.OPERATOR:
            ctx.warn((*path, "signal"), f"'{widget['signal']}' needs the {role.label} role to write "
                                        "(writable_by): operators see this control disabled")


def _signal(ctx: CheckContext, name: Any, path: Path_, kind: str, known: list[str],
            types: tuple[DataType, ...] | None) -> DataType | None:
    """The type of the known signal `name`; an unknown one or one of the wrong type is an error (None)."""
    if ctx.signal_name(name, path) is None:
        return None
    dtype = signal_type(ctx, name)
    if dtype is None:
        typo = near_miss(name, known)
        hint = f" (did you mean '{typo}'?)" if typo else ""
        ctx.error(path, f"unknown signal '{name}'{hint}: a {kind} widget shows a signal the plant declares "
                        "or writes")
        return None
    if types is not None and dtype not in types:
        wanted = " or ".join(t.value for t in types)
        ctx.error(path, f"a {kind} widget needs a {wanted} signal; '{name}' is {dtype.value}")
        return None
    return dtype


def _button_value(ctx: CheckContext, widget: dict[str, Any], path: Path_, dtype: DataType | None) -> None:
    if "value" not in widget:
        ctx.error(path, "a button widget needs value: the value it writes")
        return
    value = widget["value"]
    if dtype is DataType.BOOL and not isinstance(value, bool):
        ctx.error((*path, "value"), f"'{widget['signal']}' is bool: value must be true or false")
    elif dtype is DataType.INT and (isinstance(value, bool) or not isinstance(value, int)):
        ctx.error((*path, "value"), f"'{widget['signal']}' is int: value must be an integer")
