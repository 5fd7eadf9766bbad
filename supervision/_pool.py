"""Pooled actors: many supervised actors driven by a few shared threads.

A pykka ThreadingActor costs one OS thread; a plant with hundreds of block
chains or a thousand alarms would pay for hundreds of threads that all wake at
once and fight over the GIL. A ``PooledActor`` keeps everything that makes it an
actor (its own inbox, one message at a time, supervision, probes, fault
injection) but has no thread of its own: when its inbox gets a message it is
queued on an ``ActorPool``, whose workers run a slice of its messages.

A handler that hangs blocks one worker. While actors are attached to the pool,
a check in the process's one timer thread (``supervision._timer``) retires a
worker that has been busy on one slice for longer than ``stuck_after_s`` and starts a
replacement, so the other actors keep running; the supervisor's liveness probe
meanwhile replaces the hung actor itself.

One message to many actors (a tick to a task's chains) can go as one job of
the pool (``ActorPool.deliver``) instead of a message each: the job hands the
message to each idle actor in the worker's own thread, as the first message of
a slice (``PooledActor.deliver_here``), and tells it to the busy ones. For a
chain a tick's hand-off through the inbox and the pool's queue cost as much
as a tenth of its blocks. Between two actors the job gives way to more urgent
work; a job whose worker is retired as stuck goes on in the replacement from
the actor after the one that hung.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pykka import ActorDeadError

from ._actor import SupervisedActor
from ._timer import Scheduled, call_every

__all__ = ["ActorPool", "PooledActor"]

logger = logging.getLogger("supervision")

_NOTHING: Any = object()
"""`_run_slice`'s default: no delivered message (None is a message like any other)."""


class _Slice(Protocol):
    """What a pool's worker runs: an actor's slice of messages, or a `_Round`."""

    pool_priority: int

    @property
    def path(self) -> str: ...

    def _run_slice(self) -> None: ...


@dataclass
class _Worker:
    name: str
    thread: threading.Thread | None = None
    busy_since: float | None = None
    job: _Slice | None = None
    """What the worker runs now (its ``path`` names it when the worker is found stuck)."""
    retired: bool = False


class ActorPool:
    """A named set of worker threads shared by every ``PooledActor`` that names it.

    Ready actors wait in a heap: a worker takes the one with the smallest ``pool_priority``, and among
    equal priorities the one that became ready first (all equal: first come, first served).
    """

    _pools: ClassVar[dict[str, ActorPool]] = {}
    _pools_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, name: str, workers: int = 2, stuck_after_s: float = 2.0) -> None:
        self.name = name
        self.size = workers
        self.stuck_after_s = stuck_after_s
        self.stuck_workers = 0
        self._ready: list[tuple[int, int, _Slice]] = []
        self._arrivals = itertools.count()
        self._cond = threading.Condition()
        self._workers: list[_Worker] = []
        self._counter = 0
        self._attached = 0
        self._check: Scheduled | None = None
        for _ in range(workers):
            self._spawn_worker()

    @classmethod
    def named(cls, name: str, workers: int = 2, stuck_after_s: float = 2.0) -> ActorPool:
        """The process-wide pool called `name`, created on first use."""
        with cls._pools_lock:
            pool = cls._pools.get(name)
            if pool is None:
                pool = cls._pools[name] = cls(name, workers, stuck_after_s)
            return pool

    def threads(self) -> int:
        """Live worker threads, stuck ones included."""
        return sum(1 for w in self._workers if w.thread is not None and w.thread.is_alive())

    def schedule(self, actor: _Slice) -> None:
        with self._cond:
            heapq.heappush(self._ready, (actor.pool_priority, next(self._arrivals), actor))
            self._cond.notify()

    def deliver(self, actors: Sequence[PooledActor], message: object) -> None:
        """Give `message` to each of `actors` (of this pool), in order, through one job ranked with the first
        one's priority (see the module docstring). An actor that has stopped is skipped, as a tell to it would
        fail."""
        if actors:
            self.schedule(_Round(self, actors, message))

    def more_urgent_than(self, priority: int) -> bool:
        """Something more urgent than `priority` waits (read without the lock: a hint for a job to give way)."""
        ready = self._ready
        try:
            return ready[0][0] < priority
        except IndexError:
            return False

    def _spawn_worker(self) -> None:
        self._counter += 1
        worker = _Worker(f"pool-{self.name}-{self._counter}")
        worker.thread = threading.Thread(target=self._work, args=(worker,), name=worker.name, daemon=True)
        self._workers.append(worker)
        worker.thread.start()

    def _work(self, me: _Worker) -> None:
        while not me.retired:
            with self._cond:
                while not self._ready:
                    self._cond.wait()
                actor = heapq.heappop(self._ready)[2]
            me.job = actor
            me.busy_since = time.monotonic()
            try:
                actor._run_slice()
            except BaseException:  # a slice must never kill the worker
                logger.exception("pool %s: slice of %s failed", self.name, actor.path)
            me.busy_since = None
            me.job = None

    def attach(self) -> None:
        """An actor starts on this pool: check for stuck workers while any actor is attached."""
        with self._cond:
            self._attached += 1
            if self._check is None:
                self._check = call_every(max(0.05, self.stuck_after_s / 4), self._check_stuck)

    def detach(self) -> None:
        """An actor of this pool has finished; the last one stops the stuck-worker check."""
        with self._cond:
            self._attached -= 1
            if self._attached <= 0 and self._check is not None:
                self._check.cancel()
                self._check = None

    def _check_stuck(self) -> None:
        """Retire a worker busy on one slice for longer than ``stuck_after_s`` and start a replacement.

        Runs in the process's timer thread (``supervision._timer``), not a monitor thread of the pool's own.
        """
        now = time.monotonic()
        abandoned: list[_Round] = []
        with self._cond:
            for worker in list(self._workers):
                job, since = worker.job, worker.busy_since
                if worker.retired or job is None or since is None or now - since < self.stuck_after_s:
                    continue
                worker.retired = True
                self._workers.remove(worker)
                self.stuck_workers += 1
                logger.warning(
                    "pool %s: worker stuck in %s for %.1f s; starting a replacement",
                    self.name, job.path, now - since,
                )
                self._spawn_worker()
                if isinstance(job, _Round):
                    abandoned.append(job)
        for job in abandoned:
            job.abandon()


class _Round:
    """`ActorPool.deliver`'s job: one message to many actors, one after the other, in a worker's thread."""

    def __init__(self, pool: ActorPool, actors: Sequence[PooledActor], message: object) -> None:
        self._pool = pool
        self._actors = actors
        self._message = message
        self.pool_priority = actors[0].pool_priority
        self._next = 0
        self._runner: int | None = None
        """The thread that owns the round; a stuck one that wakes up finds it taken over and stops."""
        self._lock = threading.Lock()

    @property
    def path(self) -> str:
        """Which actor the round is in (or was last in): the one a stuck worker is stuck in."""
        with self._lock:
            at = self._actors[self._next - 1] if self._next else None
        return f"a round of {len(self._actors)} (at {at.path if at is not None else 'none yet'})"

    def _run_slice(self) -> None:
        me = threading.get_ident()
        actors, message, pool, priority = self._actors, self._message, self._pool, self.pool_priority
        with self._lock:
            self._runner = me
        while True:
            with self._lock:
                if self._runner != me or self._next >= len(actors):
                    return
                actor = actors[self._next]
                self._next += 1
            try:
                if not actor.deliver_here(message):
                    actor.actor_ref.tell(message)
            except ActorDeadError:  # stopped meanwhile: as a tell to it
                pass
            except Exception:  # an actor's error fails that actor (`deliver_here`); this is the round's own
                logger.exception("pool %s: delivering %r to %s failed", pool.name, message, actor.path)
            if self._next < len(actors) and pool.more_urgent_than(priority):
                pool.schedule(self)
                return

    def abandon(self) -> None:
        """Its worker was retired as stuck (in the actor delivered last): the rest go on in another worker."""
        with self._lock:
            self._runner = None
            more = self._next < len(self._actors)
        if more:
            self._pool.schedule(self)


class _PooledInbox:
    """An inbox that schedules its actor on the pool when a message arrives."""

    def __init__(self, actor: PooledActor) -> None:
        self._actor = actor
        self._queue: deque[Any] = deque()
        self._lock = threading.Lock()
        self._scheduled = True  # until start(): messages wait, nothing runs

    def put(self, envelope: Any, /) -> None:
        with self._lock:
            self._queue.append(envelope)
            if self._scheduled:
                return
            self._scheduled = True
        self._actor._pool.schedule(self._actor)

    def get(self) -> Any:
        with self._lock:
            return self._queue.popleft()

    def claim(self) -> bool:
        """Schedule the actor for a caller that runs its slice itself: only when idle (no slice scheduled or
        running, no message waiting)."""
        with self._lock:
            if self._scheduled or self._queue:
                return False
            self._scheduled = True
            return True

    def pop(self) -> Any | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def empty(self) -> bool:
        return not self._queue

    def qsize(self) -> int:
        return len(self._queue)

    def release(self) -> bool:
        """After a slice: stay scheduled (True) if messages are waiting, else go idle."""
        with self._lock:
            if self._queue:
                return True
            self._scheduled = False
            return False


class PooledActor(SupervisedActor):
    """A supervised actor without a thread of its own; see the module docstring.

    Subclasses set ``pool_name`` (actors naming the same pool share its workers)
    and may set ``pool_workers`` (used when the pool is first created).
    """

    pool_name: ClassVar[str] = "default"
    pool_workers: ClassVar[int] = 2
    pool_priority: int = 0
    """Where this actor's slices rank among the pool's ready actors: smaller first, equal ones in the order
    they became ready (an instance may set its own before it starts; each scheduling reads it)."""
    slice_messages: ClassVar[int] = 32
    """Messages one slice handles before the actor goes to the back of the queue."""

    def _create_actor_inbox(self) -> _PooledInbox:  # type: ignore[override]  # pykka's is static; ours needs self
        self._pooled_inbox = _PooledInbox(self)
        return self._pooled_inbox

    def _start_actor_loop(self) -> None:
        self._pool = ActorPool.named(self.pool_name, self.pool_workers)
        self._set_up = False
        self._finished = False
        self._pool.attach()
        self._pool.schedule(self)

    def _finish(self) -> None:
        try:
            super()._finish()
        finally:
            self._pool.detach()

    @property
    def pool(self) -> ActorPool:
        """The pool whose workers run this actor (from its start on)."""
        return self._pool

    def deliver_here(self, message: object) -> bool:
        """From a worker of this actor's pool: handle `message` now, in this thread, as the first message of a
        slice, when the actor is idle (see `_PooledInbox.claim`: so it overtakes no message and runs beside
        none); then the messages that came meanwhile, as a slice does. False (nothing done) when the actor is
        busy or not started: tell it `message` instead. `message` is one of the actor's own (for `on_receive`),
        not a control or proxy message; a fault armed meets it as it would meet a tell."""
        if self.actor_stopped.is_set() or not self._pooled_inbox.claim():
            return False
        self._run_slice(message)
        return True

    def _run_slice(self, delivered: Any = _NOTHING) -> None:
        inbox = self._pooled_inbox
        try:
            if not self._set_up:
                self._set_up = True
                self._actor_loop_setup()
            handled = 0
            if delivered is not _NOTHING and not self.actor_stopped.is_set():
                self._receive_delivered(delivered)
                handled = 1
            while not self.actor_stopped.is_set() and handled < self.slice_messages:
                envelope = inbox.pop()
                if envelope is None:
                    break
                self._process(envelope)
                handled += 1
        except BaseException as exc:
            if self._exit_error is None:
                self._exit_error = exc
            self.actor_stopped.set()
        if self.actor_stopped.is_set():
            if not self._finished:
                self._finished = True
                self._actor_loop_teardown()
                self._finish()
            return
        if inbox.release():
            self._pool.schedule(self)

    def _process(self, envelope: Any) -> None:
        """One message, with pykka's own semantics for tell and ask failures."""
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:
            if envelope.reply_to is not None:
                envelope.reply_to.set_exception()
            else:
                self._tell_failed()

    def _receive_delivered(self, message: object) -> None:
        """A `deliver_here` message: straight to `on_receive` when nothing stands between (no fault armed, no
        `call_here` lock to take), else the whole way of a told message (`_handle_receive`'s checks were a third
        of a chain's cost per tick beside its scan)."""
        receive = self._handle_receive if self._direct is not None or self.fault_armed() else self.on_receive
        try:
            receive(message)
        except Exception:
            self._tell_failed()

    def _tell_failed(self) -> None:
        """A told message raised (the exception being handled): the actor fails, as pykka has it."""
        self._handle_failure(*sys.exc_info())
        try:
            self.on_failure(*sys.exc_info())
        except Exception:
            self._handle_failure(*sys.exc_info())


