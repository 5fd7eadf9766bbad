"""One way for a test to run a plant: in-process (`RunningPlant`) or as `petra run` (`PetraSubprocess`).

`RunningPlant` is a started `Runtime` as a context manager, with the readings tests
assert on. Each plant has a control socket of its own in a temporary directory
(unless its config or the caller names one), no metrics endpoint unless asked
(`metrics=True` binds an ephemeral port) and no `gc.freeze()`::

    with RunningPlant(plant_config({...})) as plant:
        plant.write("default", enable=False)
        wait_until(lambda: plant.value("count") > 3)

`PetraSubprocess` is `petra run` (or any `petra` command) as a real subprocess
with its output in a log file; `scrape` and `wait_for_metrics` read its metrics.

Time that a test moves itself: `clock=ManualTime()` (petra/clock/source.py) puts
a manual clock in `plant.time` before the plant starts. What reads it - the alarm
subsystem's on/off delays, shelving, escalation steps, cool-downs, notifier
retries and its timer thread - then stands still until the test moves it::

    clock = ManualTime()                       # starts at the real time of day
    with RunningPlant(config, clock=clock) as plant:
        ...
        clock.advance(0.4)                     # what is due by now fires: the timer thread wakes at once
        clock.set(deadline)                    # or to a deadline read from the plant, exactly

Then wait for what firing sets off, and only then assert that nothing more
happened: `AlarmPlant.advance(s)` / `advance_to(t)` / `settle()` in
tests/alarms/support.py do it for the alarms (the timer thread has fired all
that is due, then an ask to each actor in the order messages flow is the
barrier), so a test proves "no third SMS" by advancing past the step that would
send it instead of sleeping. The scan clock, the drivers, the storage tiers and
supervision still run on the real clock: wait there on an event (a metric, a
cursor, a log line), not on a sleep.

Every in-process start of a runtime in the tests goes through `RunningPlant`
(no test calls `Runtime.from_config` itself any more). Still to be done:
- the helpers that take a `Runtime` where a `RunningPlant` would do:
  tests/storage/conftest.py's `start_runtime` (returns `.runtime`; its tests stop it by
  hand), `metric(runtime, ...)`, `wal_proxy(runtime)`; tests/drivers/s7_support.py's
  `running_plant` (yields `.runtime`), `metric`, `good`, `bad`; tests/control/conftest.py's
  `running` and `start_tls_runtime` (yield `.runtime`);
- the subprocess users, which still import `PetraProcess` from tests/e2e/petra_process.py
  (it re-exports `PetraSubprocess` under its old name), and the `subprocess.run` of
  `petra run` in tests/alarms/test_durability.py.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from petra.clock.source import TimeSource
from petra.config.model import PlantConfig
from petra.messages import SignalUpdate, UpdateSignals
from petra.plant import Plant as PetraPlant
from petra.runtime import Runtime, RuntimeOptions
from petra.values import Quality
from supervision import NodeSnapshot
from tests.helpers import plant_config

__all__ = ["PETRA", "PetraSubprocess", "RunningPlant", "free_port", "scrape", "wait_for_metrics"]

PETRA = [sys.executable, "-m", "petra.cli"]
"""The command line that runs `petra` from this checkout with the test interpreter."""


class RunningPlant:
    """A `Runtime` for `config` (a PlantConfig, or a dict for `plant_config`), started by `start()`
    or `with`, and stopped by `stop()` or at the end of the `with` block.

    `options` are the `RuntimeOptions` fields to set besides the test defaults
    (e.g. `switch_interval_s=None`, `config_path=...`, `audit_log=...`).
    `clock` replaces the plant's time source (`plant.time`) before anything
    starts: a `ManualTime` for the tests that advance time instead of sleeping.
    """

    def __init__(self, config: PlantConfig | dict[str, Any], *, metrics: bool = False,
                 control_socket: Path | None = None, clock: TimeSource | None = None, **options: Any) -> None:
        self.config = config if isinstance(config, PlantConfig) else plant_config(config)
        self._tmp: Path | None = None
        if control_socket is None and not (self.config.sections.get("control") or {}).get("socket"):
            self._tmp = Path(tempfile.mkdtemp(prefix="petra-test-"))
            control_socket = self._tmp / "control.sock"
        base = RuntimeOptions(metrics_port=0 if metrics else None, gc_freeze=False, control_socket=control_socket)
        self.runtime = Runtime.from_config(self.config, replace(base, **options))
        if clock is not None:
            self.runtime.plant.time = clock

    # --- lifecycle -------------------------------------------------------

    def start(self) -> RunningPlant:
        """Start the tree; a start that fails is stopped again (and its temporary directory removed)."""
        try:
            self.runtime.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the tree in order (safe to call twice) and remove the plant's own temporary directory."""
        if not self.runtime.stopped.is_set():
            self.runtime.stop(timeout=timeout)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> RunningPlant:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    # --- readings --------------------------------------------------------

    @property
    def plant(self) -> PetraPlant:
        return self.runtime.plant

    def value(self, name: str) -> Any:
        return self.plant.table.read(name).value

    def quality(self, name: str) -> Quality:
        return Quality(self.plant.table.read(name).quality)

    def metric(self, name: str, labels: Mapping[str, str] | None = None, **more: str) -> float:
        """A sample of the plant's registry by its labels (a dict, keywords or both); 0.0 when it has not
        been recorded."""
        return self.plant.metrics.registry.get_sample_value(name, {**(labels or {}), **more}) or 0.0

    def lookup(self, path: str) -> Any:
        """The actor at `path` in the tree (e.g. `petra/drivers/mqtt:x`), or None."""
        assert self.runtime.tree is not None, "the plant is not started"
        return self.runtime.tree.lookup(path)

    def node(self, path: str) -> NodeSnapshot:
        """The tree's snapshot of the node at `path` (state, restarts, children)."""
        assert self.runtime.tree is not None, "the plant is not started"
        found = self.runtime.tree.tree().find(path)
        assert found is not None, f"no node {path} in the tree"
        return found

    # --- writes ----------------------------------------------------------

    def write(self, group: str, **values: Any) -> None:
        """Write signals through the group actor that owns them; returns once the group has taken them."""
        ref = self.lookup(f"petra/core/signals/{group}")
        assert ref is not None, f"no signal group {group}"
        ref.ask(UpdateSignals(tuple(SignalUpdate(k, v) for k, v in values.items()), "test"), timeout=5)


# --- petra as a subprocess ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PetraSubprocess:
    """`petra ARGS...` from the repository root, its stdout and stderr in `log_path`:
    `PetraSubprocess(["run", str(config), "--metrics-port", str(port)], tmp_path / "petra.log")`."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*PETRA, *args], stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, cwd=Path(__file__).resolve().parents[1],
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


def scrape(port: int) -> dict[str, float]:
    """Metric samples by their full name with labels, e.g. `petra_ticks_total`."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^(\S+?(?:\{.*\})?)\s+(\S+)$", line)
        if match:
            samples[match.group(1)] = float(match.group(2))
    return samples


def wait_for_metrics(port: int, process: PetraSubprocess, timeout: float = 30.0) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            raise AssertionError(f"petra exited with {process.proc.returncode}:\n{process.log}")
        try:
            return scrape(port)
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"metrics endpoint never came up:\n{process.log}")
