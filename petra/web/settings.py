"""The `web` section's settings: one declaration for its schema, defaults and typed model.

`web:` serves the operator HMI (`petra.web.actor`): a TCP listener with the TLS rules of `control.tcp`
(`petra.control.listener`), the in-memory trend ring, and the dashboard screens (`screens`), each a grid
of widgets bound to signals. What the schema cannot say about a widget (which keys its type needs, the
signal's type, whether it may be written, the grid) is checked by `petra.web.checks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from petra.config.settings import setting
from petra.control.settings import SELF_SIGNED_DOC

WidgetType = Literal["value", "gauge", "lamp", "trend", "bar", "button", "switch", "setpoint", "alarms"]
WIDGET_TYPES: tuple[str, ...] = ("value", "gauge", "lamp", "trend", "bar", "button", "switch", "setpoint", "alarms")
WRITE_WIDGETS = ("button", "switch", "setpoint")
"""Widgets that write their signal (`PUT /v1/signals/NAME`, the caller's role and the signal's `writable_by`)."""
LAMP_COLORS = ("red", "orange", "yellow", "magenta", "cyan")
"""ISA-101's abnormal-state colours a lamp may show when its signal is true (grey when false)."""


@dataclass(frozen=True)
class Widget:
    """One widget of a screen, at grid cell (x, y), `w` columns wide and `h` rows high."""

    type: WidgetType = setting(doc="value, gauge, lamp, trend, bar, button, switch, setpoint or alarms.")
    x: int = setting(doc="The first grid column (0 is the left edge).", minimum=0)
    y: int = setting(doc="The first grid row (0 is the top).", minimum=0)
    w: int = setting(1, doc="Width in grid columns.", minimum=1)
    h: int = setting(1, doc="Height in grid rows.", minimum=1)
    signal: str | None = setting(None, doc="The signal it shows or writes (every type but trend and alarms).",
                                 minLength=1)
    signals: tuple[str, ...] = setting((), doc="trend: the signals it plots.", minItems=1)
    label: str | None = setting(None, doc="Shown instead of the signal's name.")
    min: float | None = setting(None, doc="gauge, bar, setpoint: the low end of the scale (setpoint: the least "
                                          "value it writes).")
    max: float | None = setting(None, doc="gauge, bar, setpoint: the high end.")
    color: str = setting("yellow", doc="lamp: its colour while the signal is true (ISA-101: colour means "
                                       "abnormal).", enum=LAMP_COLORS)
    value: bool | int | None = setting(None, doc="button: the value it writes.",
                                       schema={"type": ["boolean", "integer"]})
    minutes: float = setting(10.0, doc="trend: the time span it shows.", unit="min", exclusiveMinimum=0,
                             maximum=10080)
    filter: str | None = setting(None, doc="alarms: a shell pattern of the alarm ids it lists (all when unset).",
                                 minLength=1)


@dataclass(frozen=True)
class Screen:
    """A named dashboard page: widgets on a grid of `columns` columns (rows grow as needed)."""

    name: str = setting(doc="The screen's id (in its URL).", pattern=r"^[A-Za-z0-9_-]+$")
    title: str | None = setting(None, doc="Shown in the menu and header (default: the name).")
    columns: int = setting(12, doc="Grid columns.", minimum=1, maximum=48)
    widgets: tuple[Widget, ...] = setting(())


@dataclass(frozen=True)
class WebSettings:
    """The operator web HMI served by PETRA (the control API's routes, the page, its event stream)."""

    host: str = setting("127.0.0.1", doc="The address it listens on; beyond loopback it serves TLS (as control.tcp).")
    port: int = setting(8080, minimum=1, maximum=65535)
    cert_file: str | None = setting(None, doc="A real certificate (PEM, with intermediates); needs key_file.")
    key_file: str | None = None
    self_signed: bool | None = setting(
        None, doc=SELF_SIGNED_DOC)
    self_signed_dir: str = setting("./data/tls/web", doc="Where the web listener's self-signed certificate and its "
                                                         "key (0600) are kept and reused.")
    trend_ring_points: int = setting(
        600, doc="Without a storage section: the points kept in memory per numeric or bool signal for the trends "
                 "(one per second at most, the last value of that second); 0 turns it off.", minimum=0,
        maximum=86400)
    screens: tuple[Screen, ...] = setting(())
