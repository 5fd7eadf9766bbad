"""The shape every storage tier shares: an actor whose worker thread lags, never dies, while its sink is down.

`step()` does one unit of work (read from the source, write the sink, commit the
cursor) and says whether there was work. Errors the tier declares retriable
(the sink is away, the disk is full) are counted, logged once per episode and
retried with back-off; the tier simply lags. Anything else is a bug: the actor
fails and its supervisor restarts it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, ClassVar

from pykka import ActorDeadError, Timeout

from petra import paths
from petra.plant import Plant
from petra.storage.metrics import StorageMetrics
from petra.storage.settings import StorageSettings
from petra.storage.wal import Block
from supervision import BackoffPolicy, SupervisedActor

log = logging.getLogger(__name__)

HALT_CHECK_S = 0.1
"""How often a call waiting for the WAL to come back looks whether its tier is stopping."""


class WalClient:
    """A tier's handle on the WAL actor, looked up by path on each call (it may have restarted).

    While the WAL is not registered, a call waits up to `timeout` for it to come back,
    unless `halt` is set (the tier is stopping): then it gives up at once with
    TierStopping, since a stopping supervisor restarts nobody.
    """

    def __init__(self, registry: Any, path: str, timeout: float = 30.0,
                 halt: threading.Event | None = None) -> None:
        self.registry = registry
        self.path = path
        self.timeout = timeout
        self.halt = halt

    def _ref(self) -> Any:
        if self.halt is None:
            return self.registry.wait_for(self.path, self.timeout)
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                return self.registry.wait_for(self.path, max(0.0, min(remaining, HALT_CHECK_S)))
            except TimeoutError:
                if self.halt.is_set():
                    raise TierStopping(f"{self.path} is not running and the tier is stopping") from None
                if remaining <= HALT_CHECK_S:
                    raise TimeoutError(f"nothing registered at {self.path!r} within {self.timeout} s") from None

    def _call(self, method: str, *args: Any) -> Any:
        return getattr(self._ref().proxy(), method)(*args).get(timeout=self.timeout)

    def read(self, after: int, max_samples: int, until: int | None = None) -> list[Block]:
        return self._call("read", after, max_samples, until)

    def cursor(self, name: str) -> int:
        return self._call("cursor", name)

    def commit(self, name: str, seq: int) -> None:
        self._call("commit", name, seq)

    def head(self) -> int:
        return self._call("head")

    def flush(self) -> int:
        """Let the WAL commit what it has queued; returns its head."""
        return self._call("flush")


class WalUnavailable(Exception):
    """The WAL actor is restarting."""


class TierStopping(WalUnavailable):
    """The WAL is not running and the tier asking for it is stopping: it will not come back for this tier."""


class TierActor(SupervisedActor):
    """Base of the storage tiers; subclasses set `tier`, `retriable` and implement open/step/close."""

    tier: ClassVar[str] = "tier"
    retriable: ClassVar[tuple[type[BaseException], ...]] = (OSError, WalUnavailable, TimeoutError)
    poll_s: ClassVar[float] = 0.2
    retry_backoff: ClassVar[BackoffPolicy] = BackoffPolicy(initial=0.2, maximum=5.0, multiplier=2.0, jitter=0.0)
    """Between retries while the sink fails; the count resets when a step does work again."""

    def __init__(self, plant: Plant, settings: StorageSettings, metrics: StorageMetrics,
                 wal_path: str = paths.WAL) -> None:
        super().__init__()
        self.plant = plant
        self.settings = settings
        self.metrics = metrics
        self._wal_path = wal_path
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self.failing_since: float | None = None
        self.last_error: str | None = None

    @property
    def wal(self) -> WalClient:
        return WalClient(self.registry, self._wal_path, halt=self._halt)

    def open(self) -> None:
        """Prepare without touching the sink (it may be down); runs in on_start."""

    def step(self) -> bool:
        """One unit of work; True when there was something to do."""
        raise NotImplementedError

    def finish(self) -> None:
        """On an orderly stop, after the worker stopped: write what the tier still holds."""

    def close(self) -> None:
        """Release resources (connections, handles); runs however the actor ends, after the worker stopped."""

    def on_start(self) -> None:
        self.open()
        self._thread = threading.Thread(target=self._run, name=f"{self.path}-worker", daemon=True)
        self._thread.start()

    def on_stop(self) -> None:
        self._stop_worker()
        self.finish()

    def release(self) -> None:
        """However the actor ends: no worker of this instance may run on beside its successor."""
        self._stop_worker()
        self.close()

    def _stop_worker(self) -> None:
        self._halt.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def check_health(self) -> None:
        if self._thread is not None and not self._thread.is_alive() and not self._halt.is_set():
            raise RuntimeError(f"{self.path}: worker thread died")

    def _run(self) -> None:
        failures = 0
        while not self._halt.is_set():
            try:
                busy = self.step()
            except (ActorDeadError, Timeout) as exc:
                busy = self._failed(WalUnavailable(str(exc)))
            except TierStopping:
                return  # not a failure episode to count or report
            except self.retriable as exc:
                busy = self._failed(exc)
            except Exception as exc:
                log.error("%s: unexpected error, restarting: %r", self.path, exc)
                self.fail(exc)
                return
            else:
                if busy and self.failing_since is not None:
                    log.warning("%s: recovered after %.1f s", self.path, time.time() - self.failing_since)
                    self.failing_since = None
                    self.last_error = None
                    failures = 0
                if not busy:
                    self._halt.wait(self.poll_s)
                continue
            failures += 1
            self._halt.wait(self.retry_backoff.base_delay(failures))

    def _failed(self, exc: BaseException) -> bool:
        self.metrics.failures.labels(self.tier).inc()
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self.failing_since is None:
            self.failing_since = time.time()
            log.warning("%s: %s; lagging and retrying with back-off", self.path, self.last_error)
        return False

    def status(self) -> dict[str, Any]:
        return {"tier": self.tier, "failing_since": self.failing_since, "last_error": self.last_error}
