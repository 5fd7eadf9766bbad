"""A real headless Chromium against a real PETRA serving its web HMI on 127.0.0.1, for tests/web/test_browser_*.py.

Why Playwright (for Python) and not a hand-written CDP client: Playwright drives the
system Chromium through `executable_path` (it cannot download its own browser here,
and needs not); its locators wait for the page's state themselves (`expect(...)`,
`wait_for`), so a test waits on what the page shows instead of sleeping; screenshots,
viewports, contexts per user and a CDP session (for benchmarks/hmi.py's CPU figures)
come with it. A CDP client of our own over aiohttp's websocket client would need no
new dependency but would be all that code again, and the waiting is where browser
tests go flaky.

Use it from a test module under tests/web/ (its conftest.py defines the fixtures once)::

    from tests.web.browser import Hmi

    def test_something(hmi: Hmi, browser):
        page = hmi.page(browser)
        hmi.login(page, "otto")
        ...
        hmi.screenshot(page, "signals")

`hmi` is a started PETRA (in this process, `tests/harness.py`'s `RunningPlant`) with
a `web:` section on a free loopback port (plain HTTP: loopback needs no TLS), a
users file with one user of each role (`USERS`, password `PASSWORD`, hashed at
Argon2id's minimum costs so a login takes milliseconds), an alarm on `temperature`
and a data generator whose `count` changes every scan. `hmi.advance(s)` moves the
sessions' clock (an expired session is a real one). `hmi.restart()` stops that
PETRA and starts a new one on the same port (sessions are in memory: a restart ends
them, as it does in production).

Screenshots: `hmi.screenshot(page, name)` writes tests/artifacts/<name>.png (git-ignored)
on every run; with `PETRA_UPDATE_SCREENSHOTS=1` in the environment it also writes
docs/screenshots/<name>.png, the ones the README shows (a plain test run leaves the
tree clean).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import nacl.pwhash.argon2id as argon2id
import pytest
import yaml

from petra.config.loader import load_config
from petra.control.auth import Identities
from petra.security import passwords, user_changes
from petra.security.roles import Role
from tests.harness import RunningPlant, free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("PETRA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
"""--no-sandbox: the tests run as root, where Chromium's sandbox refuses to start."""

PASSWORD = "correct horse battery"
USERS = {"vera": Role.VIEWER, "otto": Role.OPERATOR, "erin": Role.ENGINEER, "ada": Role.ADMIN}
"""One user of each role, all with `PASSWORD`."""

PANEL = {"width": 1280, "height": 800}
"""The panel PC's viewport the issue names."""
TABLET = {"width": 1024, "height": 768}

PLANT: dict[str, Any] = {
    "node_id": "hmi-test",
    "scan_time_ms": 50,
    "signals": [
        {"name": "setpoint", "type": "float", "initial": 50.0, "unit": "°C", "description": "Vessel set-point"},
        {"name": "temperature", "type": "float", "initial": 20.0, "unit": "°C", "group": "process",
         "description": "Vessel temperature"},
        {"name": "enable", "type": "bool", "initial": True},
        {"name": "pump_on", "type": "bool", "initial": False},
        {"name": "locked", "type": "float", "initial": 1.0, "writable": False},
    ],
    "blocks": [
        {"name": "gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
         "outputs": {"count_out": "count", "sine_out": "wave"}, "params": {"frequency": 0.2}},
    ],
}


def alarms_section(state_dir: Path) -> dict[str, Any]:
    """One alarm that needs acknowledging: `temperature` above 80."""
    return {
        "alarms": [{"id": "vessel_hot", "name": "Vessel hot", "signal": "temperature", "condition": "above",
                    "setpoint": 80.0, "severity": "critical", "require_acknowledgment": True,
                    "message_template": "{severity}: {name} is {value} (limit {setpoint})"}],
        "contacts": [],
        "escalation_chains": {},
        "state_dir": str(state_dir),
    }


@dataclass
class Reply:
    status: int
    body: Any
    headers: http.client.HTTPMessage


@dataclass
class Hmi:
    """A running PETRA with its web HMI at `base_url`."""

    directory: Path
    port: int
    config_path: Path
    users_file: Path
    audit: Path
    running: RunningPlant | None = None
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)
    clock_offset: list[float] = field(default_factory=lambda: [0.0])
    contexts: list[Any] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def runtime(self) -> Any:
        assert self.running is not None, "PETRA is not running"
        return self.running.runtime

    # --- PETRA's lifecycle ------------------------------------------------

    def start(self) -> Hmi:
        """Start PETRA, its sessions and lock-out on `clock` (`advance` moves it: a session expires for real)."""
        running = RunningPlant(load_config(self.config_path), control_socket=self.directory / "c.sock",
                               config_path=self.config_path, audit_log=self.audit)
        identities = Identities(running.runtime.audit, now=lambda: time.time() + self.clock_offset[0])
        running.runtime.wiring.section_state("control")["identities"] = identities
        self.running = running.start()
        return self

    def advance(self, seconds: float) -> None:
        """Move the sessions' clock on (past `security.session_timeout_minutes`: every session has expired)."""
        self.clock_offset[0] += seconds

    def stop(self, close_pages: bool = True) -> None:
        """Stop PETRA; with `close_pages` first close the browser contexts `page` opened (a page left open
        would go on reconnecting, to whatever PETRA a later test starts on this port)."""
        if close_pages:
            for context in self.contexts:
                context.close()
            self.contexts.clear()
        if self.running is not None:
            self.running.stop()
            self.running = None
        self.sessions.clear()

    def restart(self) -> None:
        """Stop PETRA and start it again on the same port (every session ends, as in a real restart); the
        pages stay open."""
        self.stop(close_pages=False)
        self.start()

    def write(self, group: str, **values: Any) -> None:
        """Set signals through the group that owns them (as a driver would), not through the API."""
        assert self.running is not None
        self.running.write(group, **values)

    def value(self, name: str) -> Any:
        assert self.running is not None
        return self.running.value(name)

    # --- the browser ------------------------------------------------------

    def page(self, browser: Any, viewport: dict[str, int] | None = None) -> Any:
        """A new page in a fresh browser context (no cookies: a new user at a new browser)."""
        context = browser.new_context(viewport=viewport or PANEL, base_url=self.base_url)
        self.contexts.append(context)
        return context.new_page()

    def login(self, page: Any, user: str, password: str = PASSWORD, path: str = "/") -> None:
        """Open `path` and log in through the page's form; returns when the header names the user."""
        from playwright.sync_api import expect

        page.goto(self.base_url + path)
        page.get_by_test_id("login-user").fill(user)
        page.get_by_test_id("login-password").fill(password)
        page.get_by_test_id("login-submit").click()
        expect(page.get_by_test_id("user-name")).to_contain_text(user)

    def screenshot(self, page: Any, name: str) -> Path:
        """Save the page as tests/artifacts/<name>.png (and docs/screenshots/ with PETRA_UPDATE_SCREENSHOTS=1)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        # the bytes, written here: Playwright writes a `path=` in its loop's executor thread, which would
        # outlive the test (the browser is the session's) and fail conftest's leak check
        path.write_bytes(page.screenshot())
        if os.environ.get("PETRA_UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / f"{name}.png")
        return path

    # --- the API, as another client would call it ---------------------------

    def call(self, method: str, path: str, body: Any = None, *, user: str | None = None,
             csrf: bool = True, headers: dict[str, str] | None = None) -> Reply:
        """One request to the web listener, as `user` (a session of its own, logged in once) or anonymous."""
        sent = {"Content-Type": "application/json"} if body is not None else {}
        if user is not None:
            cookie, token = self.session(user)
            sent["Cookie"] = f"petra_session={cookie}"
            if csrf:
                sent["X-CSRF-Token"] = token
        sent.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
            response = conn.getresponse()
            text = response.read()
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = text.decode(errors="replace")
            return Reply(response.status, parsed, response.headers)
        finally:
            conn.close()

    def session(self, user: str) -> tuple[str, str]:
        """(cookie, csrf) of a session of `user`, logged in over the API once per PETRA start."""
        if user not in self.sessions:
            reply = self.call("POST", "/v1/login", {"user": user, "password": PASSWORD})
            assert reply.status == 200, reply.body
            jar: SimpleCookie = SimpleCookie()
            jar.load(reply.headers["Set-Cookie"])
            self.sessions[user] = (jar["petra_session"].value, reply.body["csrf"])
        return self.sessions[user]

    def audit_entries(self, event: str | None = None) -> list[dict[str, Any]]:
        if not self.audit.exists():
            return []
        entries = [json.loads(line) for line in self.audit.read_text().splitlines()]
        return [e for e in entries if event is None or e["event"] == event]


def make_hmi(directory: Path, *, web: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
             users: dict[str, Role] | None = None) -> Hmi:
    """Write the plant (PLANT, the alarm, `web:` on a free port with `web` merged in, `extra` top-level keys)
    and its users file into `directory`; not started."""
    users_file = directory / "users.yaml"
    for name, role in (USERS if users is None else users).items():
        user_changes.add_user(users_file, name, role, PASSWORD, lambda *a, **k: None, "uid:0")
    port = free_port()
    plant = dict(PLANT, alarms=alarms_section(directory / "alarms"),
                 security={"users_file": str(users_file)},
                 web={"host": "127.0.0.1", "port": port, **(web or {})}, **(extra or {}))
    config_path = directory / "plant.yaml"
    config_path.write_text(yaml.safe_dump(plant, sort_keys=False, allow_unicode=True))
    return Hmi(directory, port, config_path, users_file, directory / "audit.log")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium per test process (each test takes a fresh context from it); `get_by_test_id`
    finds the page's `data-test` names."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run tools/install-test-services.sh (or set PETRA_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        playwright.selectors.set_test_id_attribute("data-test")  # the page's own names (petra/web/static/index.html)
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def hmi_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Hmi]]:
    """`start(web=None, extra=None, users=None, before_start=None)`: a started PETRA of `make_hmi` in a fresh
    directory, stopped after the test. `extra` (top-level keys) may be a function of the directory (paths of a
    storage section); `before_start(directory)` writes what must be there before PETRA starts.

    The users' hashes are made at Argon2id's minimum costs (as tests/security/cheap_hashes.py does), so each
    login the tests make verifies in about a millisecond."""
    monkeypatch.setattr(passwords, "OPSLIMIT", argon2id.OPSLIMIT_MIN)
    monkeypatch.setattr(passwords, "MEMLIMIT", argon2id.MEMLIMIT_MIN)
    passwords._dummy_hash.cache_clear()
    started: list[Hmi] = []

    def start(web: dict[str, Any] | None = None, extra: Any = None, users: dict[str, Role] | None = None,
              before_start: Callable[[Path], None] | None = None) -> Hmi:
        directory = Path(tempfile.mkdtemp(prefix="petra-hmi-"))
        served = make_hmi(directory, web=web, extra=extra(directory) if callable(extra) else extra, users=users)
        started.append(served)
        if before_start is not None:
            before_start(directory)
        return served.start()

    try:
        yield start
    finally:
        for served in started:
            served.stop()
            shutil.rmtree(served.directory, ignore_errors=True)
        passwords._dummy_hash.cache_clear()


@pytest.fixture
def hmi(request: pytest.FixtureRequest, hmi_factory: Callable[..., Hmi]) -> Hmi:
    """A started PETRA with the web HMI, users of every role and an alarm; stopped after the test.
    A test module's `HMI_WEB` (a dict) is merged into its `web:` section (e.g. its `screens`)."""
    return hmi_factory(web=getattr(request.module, "HMI_WEB", None))


def write_history(data_dir: Path, series: dict[str, list[tuple[float, float]]], node_id: str = "hmi-test") -> None:
    """Parquet history PETRA's `GET /v1/history` reads: each signal's (epoch seconds, value) points, written as
    the storage's own parts before PETRA starts (WAL range 0-0: at or below a fresh WAL's cursor, so the
    storage's recovery keeps them)."""
    from petra.storage.parquet_store import ParquetStore
    from petra.storage.rows import decode_block, encode_block, to_rows
    from petra.storage.settings import LocalSettings

    samples = sorted((ts, name, value, 0) for name, points in series.items() for ts, value in points)  # in time
    # order, as PETRA's storage writes the scans' changes
    table = to_rows(decode_block(encode_block(samples, node_id)), 0)
    ParquetStore(LocalSettings(data_dir=data_dir)).write(table, 0, 0)
