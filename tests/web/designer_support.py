"""Driving the designer page (petra/web/static/js/designer/) from Playwright, for tests/web/test_designer*.py:
the palette's drag and drop, wires between ports, the property panel, and waiting for the page's check."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.browser import Hmi

CHECKED = re.compile(r"^(ok|errors)$")


def open_designer(hmi: Hmi, browser: Any, user: str) -> Any:
    """A page of `user` on #/designer, once the page has checked what it opened."""
    page = hmi.page(browser)
    hmi.login(page, user, path="/#/designer")
    expect(page.get_by_test_id("designer")).to_be_visible()
    wait_checked(page)
    return page


def wait_checked(page: Any, state: str | re.Pattern[str] = CHECKED) -> None:
    """Until the page's check has answered for what it shows (data-state ok or errors)."""
    expect(page.get_by_test_id("designer-check")).to_have_attribute("data-state", state, timeout=15_000)


def node(page: Any, node_id: str) -> Any:
    return page.locator(f'[data-test="designer-node"][data-id="{node_id}"]')


def port(page: Any, node_id: str, direction: str, name: str) -> Any:
    return node(page, node_id).locator(f'[data-test="node-port"][data-dir="{direction}"][data-port="{name}"]')


def drop(page: Any, kind: str, type_: str, x: float, y: float) -> None:
    """Drag the palette's entry onto the canvas at (x, y) (canvas pixels from its top left)."""
    entry = page.locator(f'[data-test="palette-item"][data-kind="{kind}"][data-type="{type_}"]')
    entry.drag_to(page.get_by_test_id("designer-canvas"), target_position={"x": x, "y": y})


def wire(page: Any, start: tuple[str, str], end: tuple[str, str]) -> None:
    """Draw a wire from output port `start` (node id, port) to input port `end` with the mouse."""
    port(page, start[0], "out", start[1]).drag_to(port(page, end[0], "in", end[1]))


def find(page: Any, text: str) -> None:
    """Search the canvas for `text` and go to the first match, as a user brings a node into view (the canvas
    draws only what is in view)."""
    search = page.get_by_test_id("designer-search")
    search.fill(text)
    search.press("Enter")


def select(page: Any, node_id: str) -> None:
    """Click a node's title bar: it is selected and the property panel shows it."""
    node(page, node_id).click(position={"x": 60, "y": 12})
    expect(page.get_by_test_id("props")).to_have_attribute("data-node", node_id)


def set_prop(page: Any, name: str, value: str, prefix: str = "prop") -> None:
    """Fill or choose a field of the property panel and commit it (the change event)."""
    field = page.get_by_test_id("props").get_by_test_id(f"{prefix}-{name}")
    if field.evaluate("(el) => el.tagName") == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)
        field.press("Tab")
