"""The Supervisor actor: starts children, watches them, restarts them, stops them in order.

Everything that changes a child happens in the supervisor's own thread, driven by
messages: ``ChildExited`` from a child's thread, ``_RestartDue`` from a back-off
timer, ``_ProbeTick`` from the liveness ticker, and the dynamic-child calls. The
timers and tickers of every supervisor are entries of the process's one timer
thread (``supervision._timer``), not threads of their own. The
supervisor never sleeps; the only blocking it does is bounded (a child's start
ping, a child's ordered stop).
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import pykka
from pykka import ActorRef, Future

from ._actor import ChildExited, Link, SupervisedActor, _Ping, _Probe
from ._events import EventKind, SupervisorEvent, emit
from ._intensity import RestartIntensity
from ._kind import ChildKind
from ._records import ChildRecord, ChildTable
from ._snapshot import NodeSnapshot, NodeState
from ._spec import (
    ChildSpec,
    Restart,
    Strategy,
    SupervisorSpec,
    longest_start,
    start_budget,
    stop_bound,
    stop_budget,
    wait_s,
)
from ._timer import Scheduled, call_every, call_later

__all__ = ["ChildInfo", "GaveUp", "HangDetected", "StartError", "Supervisor"]

logger = logging.getLogger("supervision")


class StartError(RuntimeError):
    """A child (or the whole tree) could not be started; ``path`` says which, ``error`` why."""

    def __init__(self, path: str, error: BaseException | str | None) -> None:
        super().__init__(f"{path}: {_describe(error)}")
        self.path = path
        self.error = error


class GaveUp(RuntimeError):
    """A supervisor's exit reason after it exceeded its restart intensity."""


class HangDetected(RuntimeError):
    """A child's exit reason after it failed to answer a liveness probe in time."""


class ChildInfo(NamedTuple):
    """One row of ``Supervisor.which_children()``."""

    id: str
    ref: ActorRef[Any] | None
    kind: str
    state: str


@dataclass(frozen=True)
class _RestartDue:
    """Told by a back-off timer: restart every child whose delay has passed."""


@dataclass(frozen=True)
class _ProbeTick:
    """Told by the liveness ticker: probe every running worker."""


def _describe(error: BaseException | str | None) -> str:
    if error is None:
        return "normal"
    if isinstance(error, str):
        return error
    return f"{type(error).__name__}: {error}"


def _future_done(future: Future[Any]) -> bool:
    try:
        future.get(timeout=0)
    except pykka.Timeout:
        return False
    except Exception:
        return True
    return True


class Supervisor(SupervisedActor):
    """An Erlang-style supervisor running as a pykka actor; itself supervisable.

    Starts ``spec.children`` in order when it starts, restarts them according to
    ``spec.strategy``, their ``restart`` type, back-off and restart intensity, detects
    hung workers with liveness probes, and stops them in reverse order when it stops.
    Past its restart intensity it stops its children, emits GAVE_UP and exits
    abnormally so its own parent sees a failure.

    ``start_child``, ``terminate_child``, ``restart_child`` and ``which_children`` are
    meant to be called through ``ref.proxy()`` (they run in the supervisor thread).
    Sub-supervisors are probed with the much longer ``supervisor_probe_timeout``: their
    thread blocks, bounded, while they start or stop their own children, and that is
    not a hang; minutes of silence are.

    Ordered stops are bounded without a clock of their own: each worker by its
    ``shutdown_timeout``, each sub-supervisor with OTP's infinity by ``stop_budget()``,
    the sum of its children's bounds. The caller of ``SupervisionTree.stop(timeout)``
    (``petra``'s ``Runtime.stop``, with systemd's ``TimeoutStopSec`` above it) holds the
    outermost bound.
    """

    child_kind: ClassVar[ChildKind] = ChildKind.SUPERVISOR

    def __init__(self, spec: SupervisorSpec) -> None:
        super().__init__()
        self.spec = spec
        self._table = ChildTable()
        self._intensity = RestartIntensity(spec.max_restarts, spec.period)
        self._rng = random.Random()
        self._timers: list[Scheduled] = []
        self._ticker: Scheduled | None = None
        self._tick_pending = threading.Event()
        self._shutting_down = False
        self._children_down = False
        self._started_at = time.monotonic()
        with self._table.lock:
            self._table.records = [ChildRecord(child, self._child_path(child.id)) for child in spec.children]

    # -- lifecycle ---------------------------------------------------------------------------------

    def on_start(self) -> None:
        self._started_at = time.monotonic()
        for rec in list(self._table.records):
            if self.actor_stopped.is_set():
                return  # gave up during the initial start
            if rec.state == "starting" and rec in self._table.records:
                self._start_or_handle(rec)
        if self.actor_stopped.is_set():
            return
        with self._table.lock:
            self._table.status = "running"
        if self.spec.probe_interval is not None:
            self._ticker = call_every(self.spec.probe_interval, self._tick)

    def on_stop(self) -> None:
        self._shutdown_children()

    def _after_exit(self) -> None:
        self._shutdown_children()
        with self._table.lock:
            if self._exit_error is not None and self._table.status != "gave_up":
                self._table.status = "failed"

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, ChildExited):
            return self._on_child_exited(message)
        if isinstance(message, _RestartDue):
            return self._on_restart_due()
        if isinstance(message, _ProbeTick):
            return self._on_probe_tick()
        return super().on_receive(message)

    # -- public, dynamic children --------------------------------------------------------------------

    def start_child(self, spec: ChildSpec) -> ActorRef[Any]:
        """Add and start a child after the initial ones (it stops first on shutdown).

        Like Erlang's ``start_child``: if it fails to start, it is not kept and
        ``StartError`` is raised to the caller.
        """
        if self._table.find(spec.id) is not None:
            raise ValueError(f"{self.path} already has a child {spec.id!r}")
        rec = ChildRecord(spec, self._child_path(spec.id))
        with self._table.lock:
            self._table.records.append(rec)
        error = self._start(rec)
        if error is not None:
            with self._table.lock:
                self._table.records.remove(rec)
            raise StartError(rec.path, error)
        assert rec.ref is not None
        return rec.ref

    def terminate_child(self, child_id: str) -> None:
        """Stop a child (waiting up to its stop bound, see ``stop_budget``) and remove it.

        Unlike Erlang, the spec is deleted too, so the id can be reused by
        ``start_child`` (what a config reload needs).
        """
        rec = self._require(child_id)
        was_running = rec.ref is not None
        if was_running:
            self._stop_child(rec)
        with self._table.lock:
            rec.state = "stopped"
            self._table.records.remove(rec)
        if was_running:
            self._emit(EventKind.STOPPED, rec, None)

    def restart_child(self, child_id: str) -> ActorRef[Any]:
        """Operator-requested restart of one child: stop it if running, start it now.

        Not counted toward restart intensity and not delayed by back-off. If the new
        instance fails to start, that failure is handled like a crash and
        ``StartError`` is raised to the caller.
        """
        rec = self._require(child_id)
        if rec.ref is not None:
            self._stop_child(rec)
        error = self._start(rec)
        if error is not None:
            self._child_down(rec, error)
            raise StartError(rec.path, error)
        assert rec.ref is not None
        return rec.ref

    def which_children(self) -> list[ChildInfo]:
        """Every child in start order, with its current ref (None unless running)."""
        with self._table.lock:
            return [ChildInfo(rec.spec.id, rec.ref, rec.kind, rec.state) for rec in self._table.records]

    def snapshot_children(self) -> tuple[NodeSnapshot, ...]:
        """Snapshots of the children, from the records; safe from any thread, sends no message."""
        return self._table.snapshot_children()

    def stop_budget(self) -> float:
        """Upper bound (seconds) on an ordered stop of this supervisor with the children it has now.

        What a parent waits for a sub-supervisor whose ``shutdown_timeout`` is infinity:
        the running children's bounds added up (recursively for sub-supervisors), plus
        the longest single child start it may be in when the stop arrives. Safe from any
        thread: it reads the records under the table lock and sends no message.
        """
        with self._table.lock:
            running = [(rec.spec, rec.actor) for rec in self._table.records if rec.actor is not None]
        total = longest_start(self.spec)
        for spec, actor in running:
            total += self._stop_bound(spec, actor)
        return total

    @staticmethod
    def _stop_bound(spec: ChildSpec, actor: SupervisedActor | None) -> float:
        if isinstance(actor, Supervisor):
            return stop_bound(spec, actor.stop_budget())
        sub = spec.kwargs.get("spec")
        return stop_bound(spec, stop_budget(sub) if isinstance(sub, SupervisorSpec) else math.inf)

    @property
    def status(self) -> NodeState:
        """This supervisor's own state ("starting", "running", "stopped", "failed", "gave_up")."""
        return self._table.status

    @property
    def uptime_s(self) -> float:
        """Seconds since this supervisor started."""
        return time.monotonic() - self._started_at

    # -- starting ------------------------------------------------------------------------------------

    def _child_path(self, child_id: str) -> str:
        return f"{self.path}/{child_id}"

    def _require(self, child_id: str) -> ChildRecord:
        rec = self._table.find(child_id)
        if rec is None:
            raise KeyError(f"{self.path} has no child {child_id!r}")
        return rec

    def _start_or_handle(self, rec: ChildRecord) -> None:
        error = self._start(rec)
        if error is not None:
            self._child_down(rec, error)

    def _start(self, rec: ChildRecord) -> BaseException | None:
        """Start one instance and wait for its ping; returns the error on failure."""
        spec = rec.spec
        restarting = rec.started_once
        with self._table.lock:
            if rec.instance > 0:
                rec.restarts += 1  # any attempt after the first, including retries of a failed start
            rec.instance += 1
            rec.state = "starting"
            rec.probe = None
        link = Link(
            path=rec.path,
            child_id=spec.id,
            instance=rec.instance,
            registry=self.registry,
            report=self._report,
            listeners=self.link.listeners,
        )
        try:
            actor = spec.actor_class._spawn(link, *spec.args, **spec.kwargs)
        except Exception as exc:
            return exc
        sub_spec = spec.kwargs.get("spec")
        budget = start_budget(sub_spec) if isinstance(sub_spec, SupervisorSpec) else self.spec.start_timeout
        try:
            actor.actor_ref.ask(_Ping(), timeout=budget)
        except pykka.Timeout:
            self._abandon(actor)
            return TimeoutError(f"did not start within {budget:g} s")
        except Exception as exc:
            # A failed start: its release() must be done before a successor is started.
            actor.wait_finished(wait_s(self._stop_bound(spec, actor)))
            return actor._exit_error or exc
        with self._table.lock:
            rec.actor = actor
            rec.ref = actor.actor_ref
            rec.state = "running"
            rec.started_at = time.monotonic()
            rec.started_once = True
        self.registry.register(rec.path, actor.actor_ref)
        logger.info("%s %s", rec.path, "restarted" if restarting else "started")
        self._emit(EventKind.RESTARTED if restarting else EventKind.STARTED, rec, None)
        return None

    def _report(self, message: ChildExited) -> None:
        # Called from the child's thread as it ends.
        self.actor_ref.tell(message)

    # -- exits, restarts ----------------------------------------------------------------------------

    def _on_child_exited(self, message: ChildExited) -> None:
        rec = self._table.find(message.child_id)
        if rec is None or rec.instance != message.instance or rec.ref is None:
            logger.debug("%s: ignoring exit of stale %s#%d", self.path, message.child_id, message.instance)
            return
        self._detach(rec)
        self._child_down(rec, message.reason)

    def _detach(self, rec: ChildRecord) -> tuple[SupervisedActor | None, ActorRef[Any] | None]:
        """Forget the current instance so its later exit report is ignored."""
        with self._table.lock:
            actor, ref = rec.actor, rec.ref
            rec.actor = rec.ref = rec.probe = None
        if ref is not None:
            self.registry.unregister(rec.path, ref)
        return actor, ref

    def _child_down(self, rec: ChildRecord, reason: BaseException | None, *, hung: bool = False) -> None:
        """Decide what a child's exit (or hang, or failed start) means and act on it."""
        now = time.monotonic()
        uptime = now - rec.started_at if rec.started_at is not None else 0.0
        with self._table.lock:
            rec.started_at = None
        if reason is None:
            logger.info("%s exited normally", rec.path)
            if rec.spec.restart is not Restart.PERMANENT:
                self._emit(EventKind.STOPPED, rec, None)
                self._retire(rec, "stopped")
                return
        else:
            will_restart = rec.spec.restart is not Restart.TEMPORARY and not self._shutting_down
            with self._table.lock:
                rec.last_error = _describe(reason)
                # Go straight to "restarting" so a snapshot never sees a transient end state.
                rec.state = "restarting" if will_restart else "hung" if hung else "failed"
            logger.warning("%s %s: %s", rec.path, "hung" if hung else "failed", rec.last_error)
            logger.debug("%s failure traceback", rec.path, exc_info=reason)
            self._emit(EventKind.HUNG if hung else EventKind.FAILED, rec, rec.last_error)
            if rec.spec.restart is Restart.TEMPORARY:
                self._retire(rec, rec.state)
                return
        if self._shutting_down:
            with self._table.lock:
                rec.state = "stopped" if reason is None else "failed"
            return
        if not self._intensity.record(now):
            self._give_up(rec, reason)
            return
        if uptime >= self.spec.backoff.reset_after:
            rec.failures = 0
        rec.failures += 1
        delay = self.spec.backoff.delay(rec.failures, self._rng)
        group = self._restart_group(rec)
        for other in reversed(group):
            if other is not rec and other.ref is not None:
                self._stop_child(other)
        with self._table.lock:
            for other in group:
                if other is not rec and other.spec.restart is Restart.TEMPORARY:
                    self._table.records.remove(other)
                else:
                    other.state = "restarting"
                    other.due_at = now + delay
        logger.debug("%s: restarting %s in %.3f s", self.path, [r.spec.id for r in group], delay)
        self._schedule_restart(delay)

    def _retire(self, rec: ChildRecord, state: NodeState) -> None:
        """A child that will not be restarted: temporary ones are forgotten (as in Erlang)."""
        with self._table.lock:
            rec.state = state
            if rec.spec.restart is Restart.TEMPORARY and rec in self._table.records:
                self._table.records.remove(rec)

    def _restart_group(self, rec: ChildRecord) -> list[ChildRecord]:
        with self._table.lock:
            records = list(self._table.records)
        if self.spec.strategy is Strategy.ONE_FOR_ALL:
            return records
        if self.spec.strategy is Strategy.REST_FOR_ONE:
            return records[records.index(rec) :]
        return [rec]

    def _schedule_restart(self, delay: float) -> None:
        self._timers = [t for t in self._timers if not t.cancelled]
        self._timers.append(call_later(delay, lambda: self._tell_self(_RestartDue())))

    def _tell_self(self, message: Any) -> None:
        with contextlib.suppress(pykka.ActorDeadError):
            self.actor_ref.tell(message)

    def _on_restart_due(self) -> None:
        now = time.monotonic()
        with self._table.lock:
            records = list(self._table.records)
        for rec in records:
            if self.actor_stopped.is_set() or self._shutting_down:
                return
            # Re-check: an earlier start in this loop may have failed and re-planned the group.
            if rec in self._table.records and rec.state == "restarting" and rec.due_at <= now + 0.001:
                self._start_or_handle(rec)

    def _give_up(self, rec: ChildRecord, reason: BaseException | None) -> None:
        limit = f"more than {self.spec.max_restarts} restarts in {self.spec.period:g} s"
        error = f"{limit}; last: {rec.path}: {_describe(reason)}"
        logger.error("%s gave up: %s", self.path, error)
        with self._table.lock:
            self._table.status = "gave_up"
        self._shutdown_children()
        emit(
            self.link.listeners,
            SupervisorEvent(EventKind.GAVE_UP, self.path, error, self._intensity.recent, time.time()),
        )
        self._exit_now(GaveUp(f"{self.path} gave up: {error}"))

    # -- liveness ------------------------------------------------------------------------------------

    def _tick(self) -> None:
        """Every probe_interval, in the process's one timer thread (``supervision._timer``)."""
        if self._tick_pending.is_set():
            return  # the supervisor is busy; don't pile ticks up in its inbox
        self._tick_pending.set()
        try:
            self.actor_ref.tell(_ProbeTick())
        except pykka.ActorDeadError:
            if self._ticker is not None:
                self._ticker.cancel()

    def _on_probe_tick(self) -> None:
        self._tick_pending.clear()
        now = time.monotonic()
        with self._table.lock:
            records = [r for r in self._table.records if r.state == "running"]
        for rec in records:
            ref = rec.ref
            if ref is None or self._shutting_down:
                continue
            if rec.probe is not None and not _future_done(rec.probe):
                if now - rec.probe_sent >= self._probe_timeout(rec):
                    self._on_hung(rec)
                continue
            rec.probe = ref.ask(_Probe(), block=False)
            rec.probe_sent = now

    def _probe_timeout(self, rec: ChildRecord) -> float:
        return self.spec.supervisor_probe_timeout if rec.kind == "supervisor" else self.spec.probe_timeout

    def _on_hung(self, rec: ChildRecord) -> None:
        actor, _ = self._detach(rec)
        with self._table.lock:
            rec.hung += 1
        if actor is not None:
            self._abandon(actor)
        self._child_down(
            rec, HangDetected(f"no answer to a probe within {self._probe_timeout(rec):g} s"), hung=True
        )

    def _abandon(self, actor: SupervisedActor) -> None:
        """Give up on an instance that doesn't respond; if it ever wakes up, it stops.

        A hung supervisor cannot stop its own children, and its replacement starts
        new ones: stop the old subtree from here (non-blocking), so no child runs twice.
        """
        if isinstance(actor, Supervisor):
            with actor._table.lock:
                children = [(rec.path, rec.actor) for rec in actor._table.records if rec.actor is not None]
            for path, child in reversed(children):
                self._abandon(child)
                logger.debug("%s: stopping %s, a child of a hung supervisor", self.path, path)
        actor._abandoned = True
        self.registry.unregister(actor.path, actor.actor_ref)
        actor.actor_ref.stop(block=False)

    # -- stopping ------------------------------------------------------------------------------------

    def _stop_child(self, rec: ChildRecord) -> None:
        """Ordered stop of one running child, within its stop bound (on_stop and release() both)."""
        actor, ref = self._detach(rec)
        with self._table.lock:
            rec.started_at = None
            rec.state = "stopped"
        if ref is None:
            return
        bound = self._stop_bound(rec.spec, actor)
        deadline = time.monotonic() + bound
        try:
            ref.stop(block=True, timeout=wait_s(bound))
            if actor is not None:  # on_stop has run; release() follows in the same thread
                actor.wait_finished(wait_s(max(0.0, deadline - time.monotonic())))
        except pykka.Timeout:
            logger.warning("%s did not stop within %g s; abandoned", rec.path, bound)
            if actor is not None:
                actor._abandoned = True

    def _shutdown_children(self) -> None:
        """Stop every child in reverse start order; idempotent."""
        if self._children_down:
            return
        self._children_down = self._shutting_down = True
        with self._table.lock:
            if self._table.status in ("starting", "running"):
                self._table.status = "stopped"
        if self._ticker is not None:
            self._ticker.cancel()
        for timer in self._timers:
            timer.cancel()
        with self._table.lock:
            records = list(self._table.records)
        for rec in reversed(records):
            was_running = rec.ref is not None
            self._stop_child(rec)
            if was_running:
                self._emit(EventKind.STOPPED, rec, None)

    def _emit(self, kind: EventKind, rec: ChildRecord, error: str | None) -> None:
        emit(self.link.listeners, SupervisorEvent(kind, rec.path, error, rec.restarts, time.time()))
