"""The supervised base actor: reports every exit to its supervisor, takes probes and faults.

pykka's trap: an exception in an ``ask()``/proxy call goes back to the caller and
the actor lives on; only a failure in a ``tell()`` stops it and calls ``on_failure``;
a failing ``on_start`` stops it silently. So this base class does not rely on
``on_failure``: it wraps the whole actor loop and, whenever the thread ends, tells
its supervisor ``ChildExited`` with the error (or None for a normal exit).

Because ``on_stop`` and ``on_failure`` each cover only some of the ways an actor
ends (neither runs after a failing ``on_start``), what an instance owns is freed
in ``release()``, which runs on every exit, before the exit is reported: a
successor then finds the environment, socket or port free.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, cast

import pykka
from pykka import ActorRef, ActorRegistry

from ._events import Listener
from ._kind import ChildKind
from ._registry import Registry

__all__ = ["ChildExited", "Inject", "InjectedFault", "Link", "SupervisedActor"]

logger = logging.getLogger("supervision")

FAULT_KINDS = frozenset({"crash", "hang", "slow", "raise-on-next"})
FAULT_ARG_LIMITS = {"hang": (3600.0, "seconds"), "slow": (60_000.0, "milliseconds")}
"""The largest arg of each fault kind that takes one."""


class InjectedFault(RuntimeError):
    """The error raised by fault injection ("crash", "raise-on-next")."""


@dataclass(frozen=True)
class ChildExited:
    """Sent by a supervised actor's thread to its supervisor as the thread ends.

    ``reason`` is None for a normal exit (stopped on request or stopped itself),
    otherwise the error. ``instance`` lets the supervisor ignore reports from
    instances it has already replaced or abandoned.
    """

    child_id: str
    instance: int
    reason: BaseException | None

    @property
    def normal(self) -> bool:
        """True when the child stopped normally."""
        return self.reason is None


@dataclass(frozen=True)
class Link:
    """What a supervisor hands a child before its loop starts: identity and the way home."""

    path: str
    child_id: str
    instance: int
    registry: Registry
    report: Callable[[ChildExited], None]
    listeners: tuple[Listener, ...] = ()


@dataclass(frozen=True)
class Inject:
    """Fault-injection message; ``ref.tell(Inject("crash"))`` works from any thread."""

    kind: str
    arg: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        limit = FAULT_ARG_LIMITS.get(self.kind)
        if limit is not None and self.arg is not None and not (
            isinstance(self.arg, (int, float)) and not isinstance(self.arg, bool) and 0 <= self.arg <= limit[0]
        ):
            # An unbounded wait or sleep overflows the platform's time_t and kills the actor instead.
            raise ValueError(f"arg of {self.kind!r} must be a number from 0 to {limit[0]:g} {limit[1]}")


@dataclass(frozen=True)
class _Ping:
    """Asked once after start: answered only after ``on_start`` succeeded."""


@dataclass(frozen=True)
class _Probe:
    """Liveness probe: the child runs ``check_health`` and answers."""


@dataclass(frozen=True)
class _Fail:
    error: BaseException = field(compare=False)


_CONTROL = (Inject, _Ping, _Probe, _Fail, pykka.messages._ActorStop)


class _Direct:
    """`SupervisedActor.call_here`'s state: the lock of handling, and how many of its tells still wait."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # the actor's own thread takes it again inside a message (a stop's on_stop)
        self.count_lock = threading.Lock()
        self.queued = 0
        self.closed = False


@dataclass(frozen=True)
class _Queued:
    """A message `call_here` told: counted until it is handled, so later calls wait their turn."""

    message: object


def _noop_report(_: ChildExited) -> None:
    pass


class _Sized(Protocol):
    def qsize(self) -> int: ...


def inbox_depth(inbox: object) -> int:
    """Messages waiting in an actor inbox: pykka's ``queue.Queue`` or a pooled inbox, both sized.

    pykka's ``ActorInbox`` protocol has no ``qsize``; every inbox supervision creates does.
    """
    return cast(_Sized, inbox).qsize()


class SupervisedActor(pykka.ThreadingActor):
    """Base class for every actor that runs under a ``Supervisor``.

    Subclass it like a pykka ``ThreadingActor`` (call ``super().__init__()``). Inside
    ``on_start`` and later, ``self.path``, ``self.child_id`` and ``self.registry`` are
    set. Any exit - crash in a tell, failing ``on_start``/``on_stop``, ``fail()``, a
    failed health check, or a normal stop - is reported to the supervisor.
    """

    use_daemon_thread: ClassVar[bool] = True
    """A hung actor thread must never keep the process from exiting."""

    child_kind: ClassVar[ChildKind] = ChildKind.WORKER
    """What a ``ChildSpec`` of this class is; ``Supervisor`` declares ``SUPERVISOR``."""

    _link: Link | None = None
    _direct: _Direct | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._link is None:
            name = type(self).__name__.lower()
            self._link = Link(path=name, child_id=name, instance=1, registry=Registry(), report=_noop_report)
        self._exit_error: BaseException | None = None
        self._slow_s = 0.0
        self._raise_next = False
        self._unhang = threading.Event()
        self._abandoned = False
        self._exit_done = threading.Event()

    @classmethod
    def start_linked(cls, link: Link, *args: Any, **kwargs: Any) -> ActorRef[Self]:
        """Start like ``pykka.Actor.start`` but with ``link`` set before ``__init__`` runs.

        Supervisors use this; a standalone ``start()`` gets a private default link.
        """
        return cls._spawn(link, *args, **kwargs).actor_ref

    @classmethod
    def _spawn(cls, link: Link, *args: Any, **kwargs: Any) -> Self:
        obj = cls.__new__(cls)
        obj._link = link
        cls.__init__(obj, *args, **kwargs)
        ActorRegistry.register(obj.actor_ref)
        logger.debug("starting %s as %s", link.path, obj)
        obj._start_actor_loop()
        return obj

    def _start_actor_loop(self) -> None:
        # pykka names the thread after the class ("ClockActor-7"); ours is the actor's path
        # ("petra/core/clock"), so a thread listing says whose thread it is.
        thread = threading.Thread(target=self._actor_loop, name=self.path, daemon=self.use_daemon_thread)
        thread.start()

    @property
    def link(self) -> Link:
        """The link to this actor's supervisor."""
        assert self._link is not None
        return self._link

    @property
    def path(self) -> str:
        """Where this actor sits in the tree, e.g. ``"petra/core/clock"``."""
        return self.link.path

    @property
    def child_id(self) -> str:
        """The id from this actor's ChildSpec."""
        return self.link.child_id

    @property
    def registry(self) -> Registry:
        """The tree's registry, to find siblings by path."""
        return self.link.registry

    @property
    def abandoned(self) -> bool:
        """True once the supervisor gave up on this instance (it hung or ignored stop)."""
        return self._abandoned

    def release(self) -> None:
        """Override to free what this instance owns: environments, files, sockets, subscriptions, threads.

        Runs in the actor's thread after its last message, on every way it ends: a
        normal stop, a failure in a message, a failing ``on_start``, ``fail()``, a
        failed health check or an injected crash; always before its supervisor hears
        of the exit, so a successor that opens the same resource finds it free.
        It may follow a partial ``on_start``: release only what was acquired.
        """

    def wait_finished(self, timeout: float | None = None) -> bool:
        """Wait until this instance has released everything and reported its exit; False on timeout."""
        return self._exit_done.wait(timeout)

    def check_health(self) -> None:
        """Override to check liveness beyond "the thread answers"; raise to be restarted.

        Runs in the actor thread on every liveness probe, so keep it cheap.
        """

    def fail(self, exc: BaseException) -> None:
        """Make this actor exit abnormally with ``exc``; callable from any thread.

        For errors the actor notices outside its message handling, e.g. a helper
        thread it owns died. The supervisor handles it like a crash.
        """
        with contextlib.suppress(pykka.ActorDeadError):
            self.actor_ref.tell(_Fail(exc))

    def inject(self, kind: str, arg: float | None = None) -> None:
        """Inject a fault for chaos testing; callable from any thread or through a proxy.

        Kinds: ``"crash"`` (exit abnormally now), ``"hang"`` (block the actor thread for
        ``arg`` seconds, default forever), ``"slow"`` (sleep ``arg`` ms before handling
        each later message, probes included), ``"raise-on-next"`` (the next ordinary message raises: a
        tell then crashes the actor, an ask gets the error back).
        """
        message = Inject(kind, arg)
        with contextlib.suppress(pykka.ActorDeadError):
            self.actor_ref.tell(message)

    def fault_armed(self) -> bool:
        """A "slow" or "raise-on-next" fault waits for this actor's next message: whoever would handle work
        for it outside its thread must hand the work to it instead (so the fault meets it)."""
        return bool(self._slow_s or self._raise_next)

    def mailbox_depth(self) -> int:
        """Messages waiting in the inbox; safe to read from any thread."""
        return inbox_depth(self.actor_inbox)

    def allow_calls_here(self) -> None:
        """Let other threads do this actor's work in their own thread while it is idle (`call_here`)."""
        self._direct = _Direct()

    def call_here(self, work: Callable[[], object], message: object) -> bool:
        """From another thread: run `work` there and then if this actor is idle, else tell it `message`.

        Idle: handling no message (every message is handled under the lock `work` runs under), no message
        waiting in its inbox (so `work` never overtakes one, from any sender; and a counter covers the ones
        `call_here` told between its check and its tell), no fault armed (a fault meets the actor's next
        message, not a call beside it), not stopped. A thread hand-off saved where it costs
        most: a driver's network thread applying its values, a signal change evaluating an alarm. What
        `work` raises fails the actor for its supervisor, as a message's error would. True when it ran here.
        """
        direct = self._direct
        if direct is None:
            raise RuntimeError(f"{self.path}: call_here needs allow_calls_here() first")
        if direct.lock.acquire(blocking=False):
            try:
                if not direct.queued and not direct.closed and not self.fault_armed() \
                        and not self.actor_stopped.is_set() and not inbox_depth(self.actor_inbox):
                    try:
                        work()
                    except Exception as exc:
                        direct.closed = True
                        logger.error("%s failed in a call from another thread: %s: %s", self.path,
                                     type(exc).__name__, exc, exc_info=exc)
                        self.fail(exc)
                    return True
            finally:
                direct.lock.release()
        with direct.count_lock:
            direct.queued += 1
        try:
            self.actor_ref.tell(_Queued(message))
        except pykka.ActorDeadError:
            with direct.count_lock:
                direct.queued -= 1
            raise
        return False

    def _handle_receive(self, message: Any) -> Any:
        direct = self._direct
        if direct is None:
            return self._handle_one(message)
        with direct.lock:
            if isinstance(message, _Queued):
                try:
                    return self._handle_one(message.message)
                finally:
                    with direct.count_lock:
                        direct.queued -= 1
            return self._handle_one(message)

    def _handle_one(self, message: Any) -> Any:
        if self._slow_s and not isinstance(message, pykka.messages._ActorStop):
            time.sleep(self._slow_s)
        if isinstance(message, Inject):
            return self._apply_fault(message)
        if isinstance(message, _Ping):
            return True
        if isinstance(message, _Probe):
            try:
                self.check_health()
            except Exception as exc:
                self._exit_now(exc)
                return False
            return True
        if isinstance(message, _Fail):
            self._exit_now(message.error)
            return None
        if self._raise_next and not isinstance(message, _CONTROL):
            self._raise_next = False
            raise InjectedFault(f"injected raise-on-next in {self.path}")
        return super()._handle_receive(message)

    def _apply_fault(self, fault: Inject) -> None:
        if fault.kind == "crash":
            # Exit directly instead of relying on pykka: raised inside an ask() the
            # error would go back to the caller and the actor would live on.
            try:
                raise InjectedFault(f"injected crash in {self.path}")
            except InjectedFault as exc:
                self._exit_now(exc)
        elif fault.kind == "hang":
            self._unhang.wait(fault.arg)
        elif fault.kind == "slow":
            self._slow_s = (fault.arg or 0.0) / 1000.0
        else:
            self._raise_next = True

    def _exit_now(self, error: BaseException) -> None:
        """Stop abnormally from inside the actor thread, whatever kind of message we're in."""
        if self._direct is not None:
            self._direct.closed = True
        self._handle_failure(type(error), error, error.__traceback__)
        try:
            self.on_failure(type(error), error, error.__traceback__)
        except Exception:
            self._handle_failure(*sys.exc_info())

    def _handle_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Replaces pykka's ERROR log with traceback: the supervisor logs one line per
        # failure; the traceback is only interesting at DEBUG.
        if self._exit_error is None:
            self._exit_error = exception_value or (exception_type() if exception_type else RuntimeError())
        logger.debug(
            "%s exits with %r",
            self.path,
            exception_value,
            exc_info=exception_value,
        )
        ActorRegistry.unregister(self.actor_ref)
        self.actor_stopped.set()

    def _actor_loop(self) -> None:
        try:
            super()._actor_loop()
        except BaseException as exc:
            if self._exit_error is None:
                self._exit_error = exc
            raise
        finally:
            self._finish()

    def _finish(self) -> None:
        """Clean up and report the exit; runs once, after the actor's last message."""
        for cleanup in (self._after_exit, self.release):
            try:
                cleanup()
            except Exception:
                logger.exception("%s: cleanup after exit failed", self.path)
        ActorRegistry.unregister(self.actor_ref)
        self.actor_stopped.set()
        self._exit_done.set()
        try:
            self.link.report(ChildExited(self.child_id, self.link.instance, self._exit_error))
        except pykka.ActorDeadError:
            pass  # the supervisor is gone; nobody is left to tell
        except Exception:
            logger.exception("%s: could not report exit to its supervisor", self.path)

    def _after_exit(self) -> None:
        """Hook run in the actor thread after the loop ended, before the exit is reported."""
