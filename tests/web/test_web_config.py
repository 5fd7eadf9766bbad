"""`web:` at `petra check`: the schema's defaults, and every screen mistake a located error (file:line: what)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from petra.config.errors import ConfigError
from petra.config.loader import load_config_text
from petra.web.settings import WebSettings
from tests.web.web_support import SCREEN, plant_data


def load(web: dict[str, Any], **extra: Any) -> Any:
    data = plant_data(8080, "users.yaml", **extra)  # type: ignore[arg-type]
    data["web"] = web
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return load_config_text(text, "plant.yaml", env={}), text


def problems(web: dict[str, Any], **extra: Any) -> tuple[list[str], str]:
    with pytest.raises(ConfigError) as caught:
        load(web, **extra)
    return [str(p) for p in caught.value.problems], yaml.safe_dump({"web": web}, sort_keys=False)


def line_of(text: str, needle: str, nth: int = 0) -> int:
    return [i for i, line in enumerate(text.splitlines(), 1) if needle in line][nth]


def screen(*widgets: dict[str, Any], **keys: Any) -> dict[str, Any]:
    return {"name": "s", "widgets": list(widgets), **keys}


def test_defaults_are_loopback_8080_a_600_point_ring_and_no_screens():
    config, _ = load({})
    web = config.settings("web", WebSettings)
    assert (web.host, web.port, web.trend_ring_points, web.screens, web.self_signed_dir) == (
        "127.0.0.1", 8080, 600, (), "./data/tls/web")
    config, _ = load({"screens": [SCREEN]})
    widgets = config.settings("web", WebSettings).screens[0].widgets
    assert widgets[0].h == 1 and widgets[2].color == "red" and widgets[6].signals == ("temperature", "count")


def test_the_shared_design_s_screen_passes():
    load({"screens": [copy.deepcopy(SCREEN)]})


@pytest.mark.parametrize(("widget", "needle", "expected"), [
    ({"type": "value", "signal": "temprature", "x": 0, "y": 0}, "signal: temprature",
     "unknown signal 'temprature' (did you mean 'temperature'?)"),
    ({"type": "trend", "signals": ["temperature", "nothing_here"], "x": 0, "y": 0}, "- nothing_here",
     "unknown signal 'nothing_here'"),
    ({"type": "setpoint", "signal": "count", "x": 0, "y": 0}, "signal: count",
     "a setpoint writes 'count', but it cannot be written remotely: it is written by block 'gen'"),
    ({"type": "switch", "signal": "enable", "x": 0, "y": 0, "w": 13}, "w: 13",
     "switch widget reaches column 13 but the screen has 12 columns (expected x + w <= 12)"),
    ({"type": "gauge", "signal": "temperature", "x": 0, "y": 0, "min": 0}, "type: gauge",
     "a gauge widget needs max: NUMBER"),
    ({"type": "bar", "signal": "temperature", "x": 0, "y": 0, "min": 5, "max": 5}, "max: 5",
     "max (5) must be above min (5)"),
    ({"type": "lamp", "signal": "temperature", "x": 0, "y": 0}, "signal: temperature",
     "a lamp widget needs a bool signal; 'temperature' is float"),
    ({"type": "button", "signal": "pump_on", "x": 0, "y": 0, "value": 1}, "value: 1",
     "'pump_on' is bool: value must be true or false"),
    ({"type": "button", "signal": "pump_on", "x": 0, "y": 0}, "type: button", "a button widget needs value"),
    ({"type": "trend", "signal": "temperature", "x": 0, "y": 0, "signals": ["count"]}, "signal: temperature",
     "a trend widget takes no signal: list them in signals"),
    ({"type": "gauge", "signal": "label", "x": 0, "y": 0, "min": 0, "max": 1}, "signal: label",
     "a gauge widget needs a int or float signal; 'label' is string"),
])
def test_a_screen_mistake_is_a_located_error(widget, needle, expected):
    found, _ = problems({"screens": [screen(widget)]})
    mine = [p for p in found if expected in p]
    assert mine, found
    data = plant_data(8080, "users.yaml")  # type: ignore[arg-type]
    data["web"] = {"screens": [screen(widget)]}
    full = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    web_at = line_of(full, "web:")
    assert mine[0].startswith(f"plant.yaml:{line_of(full[full.index('web:'):], needle) + web_at - 1}:"), mine[0]


def test_a_write_widget_on_a_driver_or_read_only_signal_is_an_error_and_one_for_engineers_a_warning():
    found, _ = problems({"screens": [screen(
        {"type": "setpoint", "signal": "temperature", "x": 0, "y": 0},
        {"type": "switch", "signal": "enable", "x": 1, "y": 0},
    )]}, mqtt={"broker_host": "127.0.0.1",
               "subscriptions": [{"topic": "plant/t", "signal": "temperature"}]})
    assert any("a setpoint writes 'temperature', but it cannot be written remotely: it is written by" in p
               for p in found), found
    assert not any("'enable'" in p for p in found)
    assert not any("mqtt" in p and "temperature" not in p for p in found), found  # the plant is valid but this
    config, _ = load({"screens": [screen({"type": "setpoint", "signal": "tuning", "x": 0, "y": 0})]})
    assert any("needs the engineer role" in str(w) for w in config.warnings)


def test_duplicate_screen_names_and_unknown_keys_are_refused():
    found, _ = problems({"screens": [screen(), screen()]})
    assert any("duplicate screen name 's' (first on line" in p for p in found), found
    found, _ = problems({"screens": [screen({"type": "value", "signal": "enable", "x": 0, "y": 0, "colour": 1})]})
    assert any("colour" in p for p in found), found
    found, _ = problems({"port": 0})
    assert any("port" in p for p in found), found


def test_a_write_widget_carries_its_signals_write_limits_for_the_page():
    from petra.security.roles import Role
    from petra.signals import SignalTable
    from petra.web.screens import screens_view

    signals = [dict(s) for s in plant_data(8080, "users.yaml")["signals"]]  # type: ignore[arg-type]
    for s in signals:
        if s["name"] == "setpoint":
            s.update(min=10.0, max=90.0)
    config, _ = load({"screens": [SCREEN]}, signals=signals)
    view = screens_view(config.settings("web", WebSettings), SignalTable(config.signals), Role.OPERATOR)
    widgets = {(w["type"], w.get("signal")): w for w in view["screens"][0]["widgets"]}
    assert widgets[("setpoint", "setpoint")]["signal_min"] == 10.0
    assert widgets[("setpoint", "setpoint")]["signal_max"] == 90.0
    assert "signal_min" not in widgets[("setpoint", "tuning")]  # no limits declared
    assert "signal_min" not in widgets[("value", "temperature")]  # not a write widget
