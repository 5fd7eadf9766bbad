"""The shape every polling field driver (S7, Modbus) shares: one actor per connection.

The actor thread only answers messages (liveness probes, status, stop); a poll
thread of its own does all device I/O, so a PLC that takes seconds to time out
never makes the actor look hung. The poll thread:

1. connects; while the device is unreachable, or answers garbage or nothing, it
   marks the read signals BAD, counts an error per attempt and retries with
   exponential back-off and jitter (`reconnect_backoff`: 0.1 s doubling to 5 s) *inside*
   the actor. It counts as connected (`petra_driver_connected` 1, "connected"
   logged) only once the device has answered a whole poll. "Lost" lines are
   rate-limited; "connected" is logged after each "lost" line that was. A PLC that is down for an hour is
   normal plant life, not a crash: restarting the actor would only burn the
   `drivers` supervisor's restart intensity and take the plant down with it.
2. writes pending changes of write-direction signals (all write-only signals
   again after every (re)connect, so the device gets PETRA's setpoints back),
3. reads the whole mapping on absolute deadlines (`start + n * interval`) and
   sends one batch per poll to the signal groups (only what changed),
4. waits until the next deadline or until a write arrives.

A bug in the poll thread (anything that is not a device or protocol error)
fails the actor, and its supervisor restarts it with back-off.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from petra.bus import Subscriber
from petra.drivers.driver_metrics import DriverMetrics
from petra.messages import SignalsChanged, SignalUpdate
from petra.plant import Plant
from petra.rate_limited_log import RateLimitedLog
from petra.signal_io import SignalWriter
from petra.values import Quality, Value
from supervision import BackoffPolicy, SupervisedActor

log = logging.getLogger(__name__)


class ConnectionLost(Exception):
    """The device connection is gone (or never came up): reconnect with back-off."""


class PollThreadDied(RuntimeError):
    """The poll thread is not running: the liveness probe reports it."""


@dataclass(frozen=True)
class Reading:
    """One mapping's result of a poll: a value, or None when it could not be read or decoded."""

    signal: str
    value: Value | None


class Session(Protocol):
    """The protocol glue one driver supplies: blocking calls, made from the poll thread only.

    Connection problems raise `ConnectionLost`; per-request errors are counted
    in `metrics.errors` by the session and show up as `Reading(value=None)`.
    """

    def connect(self) -> None: ...

    def close(self) -> None: ...

    def poll(self) -> list[Reading]: ...

    def write(self, signal: str, value: Value) -> None: ...


class SignalMapping(Protocol):
    """What a plan needs of a driver's mapping: its signal and direction (the drivers' `Directional` mappings)."""

    @property
    def signal(self) -> str: ...

    @property
    def direction(self) -> str: ...

    @property
    def reads(self) -> bool: ...

    @property
    def writes(self) -> bool: ...


@dataclass(frozen=True)
class DriverPlan:
    """What a driver actor needs, built from the config before any I/O."""

    driver_id: str
    interval_s: float
    read_signals: tuple[str, ...]
    write_signals: tuple[str, ...]
    echo_signals: frozenset[str] = field(default_factory=frozenset)
    """read_write signals: a change equal to the value last read from the device is not written back."""
    io_timeout_s: float = 5.0

    @classmethod
    def for_mappings(cls, driver_id: str, interval_s: float, mappings: Sequence[SignalMapping],
                     io_timeout_s: float) -> DriverPlan:
        """The plan for a connection's mappings (each with `signal` and a `direction`)."""
        return cls(
            driver_id=driver_id,
            interval_s=interval_s,
            read_signals=tuple(m.signal for m in mappings if m.reads),
            write_signals=tuple(m.signal for m in mappings if m.writes),
            echo_signals=frozenset(m.signal for m in mappings if m.direction == "read_write"),
            io_timeout_s=io_timeout_s,
        )


class PollingDriverActor(SupervisedActor):
    """Owns one device connection and its poll thread."""

    reconnect_backoff: ClassVar[BackoffPolicy] = BackoffPolicy(initial=0.1, maximum=5.0, multiplier=2.0, jitter=0.2)
    """Between reconnect attempts; `reset_after` is unused: the count resets once the device answers a poll."""

    def __init__(self, plant: Plant, plan: DriverPlan, session_factory: Callable[[DriverMetrics], Session]) -> None:
        super().__init__()
        self.plant = plant
        self.plan = plan
        self.metrics = DriverMetrics.for_driver(plant.metrics.registry, plan.driver_id)
        self.session = session_factory(self.metrics)
        self._writer: SignalWriter | None = None
        self._halt = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._pending: dict[str, Value] = {}
        self._device_values: dict[str, Value] = {}
        self._sent: dict[str, tuple[Value | None, bool]] = {}
        self._write_set = frozenset(plan.write_signals)
        index = plant.table.index
        self._write_slots = frozenset(index[name] for name in plan.write_signals if name in index)
        self._subscriber: Subscriber | None = None
        self._thread: threading.Thread | None = None
        self._rng = random.Random()
        self.connected = False
        self._session_open = False
        self._rlog = RateLimitedLog(log)
        self._down_logged = True  # the first "connected" is always logged
        self.marked_bad = False
        self.last_error = ""
        self.polls = 0

    # -- actor side ---------------------------------------------------------------------------------------------

    def on_start(self) -> None:
        self._writer = SignalWriter(self.plant, self.registry, self.plan.driver_id)
        if self._write_set:
            self._subscriber = self.plant.bus.subscribe(self._on_changes)
        self._thread = threading.Thread(target=self._run_guarded, name=f"petra-{self.plan.driver_id}", daemon=True)
        self._thread.start()

    def on_stop(self) -> None:
        self._shutdown()

    def on_failure(self, *_exc_info: object) -> None:
        self._shutdown()

    def check_health(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            raise PollThreadDied(f"{self.plan.driver_id}: poll thread is not running")

    def status(self) -> dict[str, object]:
        """Connection state for operators and tests."""
        return {"driver": self.plan.driver_id, "connected": self.connected, "polls": self.polls,
                "last_error": self.last_error}

    def _shutdown(self) -> None:
        self._halt.set()
        self._wake.set()
        if self._subscriber is not None:
            self.plant.bus.unsubscribe(self._subscriber)
            self._subscriber = None
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=min(self.plan.io_timeout_s + 1.0, 4.0))
            if thread.is_alive():  # blocked in I/O: closing the socket unblocks it
                self._close_session()
                thread.join(timeout=1.0)

    def _on_changes(self, event: SignalsChanged) -> None:
        """Bus subscriber: runs in the publisher's thread, so only records and wakes."""
        wanted = False
        mine = event.only(self._write_slots)
        if not mine:
            return
        with self._lock:
            for change in mine:
                if change.name not in self._write_set or change.quality != Quality.GOOD:
                    continue
                if change.name in self.plan.echo_signals and self._device_values.get(change.name) == change.value:
                    continue
                self._pending[change.name] = change.value
                wanted = True
        if wanted:
            self._wake.set()

    # -- poll thread --------------------------------------------------------------------------------------------

    def _run_guarded(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # the actor must learn that its poll thread died
            log.exception("%s: poll thread failed", self.plan.driver_id)
            self.fail(exc)
        finally:
            self._close_session()

    def _run(self) -> None:
        attempt = 0
        ever_connected = False
        deadline = time.monotonic()
        while not self._halt.is_set():
            try:
                if not self._session_open:
                    self.session.connect()
                    self._session_open = True
                    self._restore_setpoints()
                    deadline = time.monotonic()
                self._flush_writes()
                if time.monotonic() >= deadline:
                    self._poll_once()
                    deadline = self._next_deadline(deadline)
            except ConnectionLost as exc:
                attempt += 1
                self._lost(exc)
                self._halt.wait(self.reconnect_backoff.delay(attempt, self._rng))
                continue
            if not self.connected:  # connected means: the device answered, not just that a socket opened
                attempt = 0
                self._up(ever_connected)
                ever_connected = True
            self._wake.wait(max(0.0, deadline - time.monotonic()))
            self._wake.clear()

    def _next_deadline(self, deadline: float) -> float:
        interval = self.plan.interval_s
        deadline += interval
        now = time.monotonic()
        if deadline <= now:  # a slow poll: skip the missed deadlines instead of bursting
            deadline += ((now - deadline) // interval + 1) * interval
        return deadline

    def _restore_setpoints(self) -> None:
        """After every (re)connect the device gets PETRA's write-only setpoints back."""
        table = self.plant.table
        with self._lock:
            for name in self.plan.write_signals:
                if name not in self.plan.echo_signals:
                    self._pending[name] = table.values[table.slot(name)]

    def _up(self, reconnect: bool) -> None:
        self.connected = True
        self.last_error = ""
        self.metrics.connected.set(1)
        if reconnect:
            self.metrics.reconnects.inc()
        if self._down_logged:  # the log must not end on a "lost" line while the device is back
            log.info("%s connected", self.plan.driver_id)
            self._down_logged = False

    def _lost(self, exc: Exception) -> None:
        was = self.connected
        self.connected = False
        self._session_open = False
        self.last_error = str(exc)
        self.metrics.connected.set(0)
        self.metrics.errors.inc()
        self._close_session()
        if was:
            self._down_logged = self._rlog.warning("down", "%s lost its connection: %s", self.plan.driver_id, exc)
        else:
            self._down_logged = self._rlog.warning("down", "%s cannot connect: %s", self.plan.driver_id, exc) \
                or self._down_logged
        if not self.marked_bad and self.plan.read_signals:
            self._send([Reading(name, None) for name in self.plan.read_signals])
            self.marked_bad = True

    def _close_session(self) -> None:
        try:
            self.session.close()
        except Exception:  # closing a broken connection may fail; nothing is left to do
            log.debug("%s: close failed", self.plan.driver_id, exc_info=True)

    def _flush_writes(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for index, (name, value) in enumerate(pending.items()):
            try:
                self.session.write(name, value)
            except ConnectionLost:
                with self._lock:  # keep what was not written for the next connection
                    for rest, rest_value in list(pending.items())[index:]:
                        self._pending.setdefault(rest, rest_value)
                raise
            except Exception as exc:  # a refused or unencodable write: counted, never fatal
                self.metrics.errors.inc()
                self.last_error = f"write {name}: {exc}"
                self._rlog.warning(f"write:{name}", "%s: write of %s=%.80r failed: %s", self.plan.driver_id, name,
                                   value, exc)

    def _poll_once(self) -> None:
        started = time.perf_counter()
        readings = self.session.poll()
        self.metrics.poll_duration.observe(time.perf_counter() - started)
        self.polls += 1
        self.marked_bad = False
        self._send(readings)

    def _send(self, readings: Sequence[Reading]) -> None:
        updates: list[SignalUpdate] = []
        table = self.plant.table
        with self._lock:
            for reading in readings:
                bad = reading.value is None
                key = (reading.value, bad)
                if self._sent.get(reading.signal) == key:
                    continue
                self._sent[reading.signal] = key
                if reading.value is None:
                    updates.append(SignalUpdate(reading.signal, table.values[table.slot(reading.signal)], Quality.BAD))
                else:
                    self._device_values[reading.signal] = reading.value
                    updates.append(SignalUpdate(reading.signal, reading.value))
        if updates and self._writer is not None:
            lost = self._writer.write(updates)
            if lost:
                log.debug("%s: owners of %s not reachable", self.plan.driver_id, lost[:5])
                with self._lock:  # resend them next poll
                    for name in lost:
                        self._sent.pop(name, None)
