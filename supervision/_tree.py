"""start_tree and SupervisionTree: the handle the application holds on its whole tree."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import pykka
from pykka import ActorRef

from ._actor import ChildExited, Link, _Ping
from ._events import EventKind, Listener, SupervisorEvent
from ._registry import Registry
from ._snapshot import NodeSnapshot
from ._spec import ChildSpec, SupervisorSpec, start_budget, wait_s
from ._supervisor import StartError, Supervisor

__all__ = ["SupervisionTree", "start_tree"]

logger = logging.getLogger("supervision")

_UNSETTLED = frozenset({"starting", "restarting", "hung"})


class SupervisionTree:
    """A running tree: introspection, operator actions and ordered stop.

    Created by ``start_tree``. ``gave_up`` is set when the root supervisor exits
    abnormally (it exceeded its restart intensity, or crashed): the process should
    then exit non-zero and let systemd restart it.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.registry = Registry()
        self.gave_up = threading.Event()
        self.exited = threading.Event()
        """Set when the root supervisor's thread has ended, for any reason."""
        self._root: Supervisor | None = None
        self._first_failure: tuple[str, str | None] | None = None
        self._started: set[str] = set()
        self._start_failure: tuple[str, str | None] | None = None
        """The first child that failed before it had ever started."""

    @property
    def root(self) -> ActorRef[Supervisor]:
        """The root supervisor's ref."""
        assert self._root is not None
        return self._root.actor_ref

    def tree(self) -> NodeSnapshot:
        """Snapshot of the whole tree, built from supervisor records without messaging any actor."""
        root = self._root
        assert root is not None
        alive = root.actor_ref.is_alive()
        return NodeSnapshot(
            path=root.path,
            name=self.name,
            kind="supervisor",
            state=root.status,
            restarts=0,
            last_error=None if root._exit_error is None else str(root._exit_error),
            uptime_s=root.uptime_s if alive else None,
            mailbox_depth=root.mailbox_depth(),
            hung=0,
            children=root.snapshot_children(),
        )

    def lookup(self, path: str) -> ActorRef[Any] | None:
        """The current ref at ``path`` (e.g. ``"petra/core/clock"``), or None."""
        return self.registry.get(path)

    def restart(self, path: str, timeout: float | None = 30.0) -> ActorRef[Any]:
        """Operator restart of the child at ``path`` (not counted toward restart intensity)."""
        parent, child_id = self._parent_of(path)
        ref: ActorRef[Any] = parent.proxy().restart_child(child_id).get(timeout=timeout)
        return ref

    def add_child(self, parent_path: str, spec: ChildSpec, timeout: float | None = 30.0) -> ActorRef[Any]:
        """Start a new child under the supervisor at ``parent_path``; raises StartError if it fails."""
        ref: ActorRef[Any] = self._supervisor_at(parent_path).proxy().start_child(spec).get(timeout=timeout)
        return ref

    def remove_child(self, path: str, timeout: float | None = 30.0) -> None:
        """Stop the child at ``path`` (honouring its shutdown_timeout) and forget its spec."""
        parent, child_id = self._parent_of(path)
        parent.proxy().terminate_child(child_id).get(timeout=timeout)

    def stop_budget(self) -> float:
        """Upper bound (seconds) on an ordered stop of the tree as it is now (``Supervisor.stop_budget``).

        Infinite only if some worker was declared with ``shutdown_timeout=math.inf``.
        """
        return 0.0 if self._root is None else self._root.stop_budget()

    def stop(self, timeout: float = 10.0) -> bool:
        """Ordered stop of the whole tree; False if it did not finish within ``timeout`` seconds.

        Children stop in reverse start order, each worker within its ``shutdown_timeout``
        and each sub-supervisor within its ``stop_budget()``; ``timeout`` is the caller's
        cap over all of it (a service manager has its own stop timeout). Past it this
        returns False and the stop goes on in daemon threads that never keep the process
        from exiting.
        """
        if self._root is None or not self._root.actor_ref.is_alive():
            return True
        try:
            self._root.actor_ref.stop(block=True, timeout=timeout)
        except pykka.Timeout:
            logger.warning("%s did not stop within %g s", self.name, timeout)
            return False
        return True

    def _supervisor_at(self, path: str) -> ActorRef[Any]:
        ref = self.registry.get(path)
        if ref is None or not issubclass(ref.actor_class, Supervisor):
            raise KeyError(f"no running supervisor at {path!r}")
        return ref

    def _parent_of(self, path: str) -> tuple[ActorRef[Any], str]:
        parent_path, sep, child_id = path.rpartition("/")
        if not sep:
            raise ValueError(f"{path!r} is the root or not a child path")
        return self._supervisor_at(parent_path), child_id

    def _on_root_exit(self, message: ChildExited) -> None:
        self.registry.unregister(self.name)
        if message.reason is not None:
            logger.error("supervision tree %s exited abnormally: %s", self.name, message.reason)
            self.gave_up.set()
        self.exited.set()

    def _track(self, event: SupervisorEvent) -> None:
        if event.kind is EventKind.STARTED:
            self._started.add(event.path)
        if event.kind in (EventKind.FAILED, EventKind.HUNG):
            if self._first_failure is None:
                self._first_failure = (event.path, event.error)
            if self._start_failure is None and event.path not in self._started:
                self._start_failure = (event.path, event.error)

    def _settled(self) -> bool:
        if self._root is None or self._root.status != "running":
            return False
        return all(node.state not in _UNSETTLED for node in self.tree().walk() if node.path != self.name)


def start_tree(
    spec: SupervisorSpec,
    name: str = "root",
    listeners: Sequence[Listener] = (),
    *,
    timeout: float | None = None,
    fail_fast: bool = False,
) -> SupervisionTree:
    """Start a root supervisor and block until every initial child in the tree has started.

    ``name`` is the root's path; children are ``name/child_id``. ``listeners`` receive
    every SupervisorEvent of the tree (they are inherited by sub-supervisors).

    Raises:
        StartError: the root gave up during start (``path`` and ``error`` name the first
            child that failed), or the tree was not up within ``timeout`` seconds. With
            ``fail_fast``, as in OTP: the first child that fails its very first start
            stops the whole tree at once instead of being restarted (a socket or lock
            another process holds will not come free by retrying).
    """
    if not name or "/" in name:
        raise ValueError(f"tree name must be non-empty without '/', got {name!r}")
    tree = SupervisionTree(name)
    link = Link(
        path=name,
        child_id=name,
        instance=1,
        registry=tree.registry,
        report=tree._on_root_exit,
        listeners=(tree._track, *listeners),
    )
    root = Supervisor._spawn(link, spec=spec)
    tree._root = root
    deadline = None if timeout is None else time.monotonic() + timeout
    budget = start_budget(spec) if timeout is None else timeout

    def fail(reason: BaseException | str | None) -> StartError:
        # Let the root finish its ordered shutdown so the caller never races a half-stopped tree.
        bound = root.stop_budget()
        root.actor_ref.stop(block=False)
        tree.exited.wait(wait_s(bound + 1.0))
        path, error = (fail_fast and tree._start_failure) or tree._first_failure or (name, None)
        return StartError(path, error if error is not None else reason)

    try:
        root.actor_ref.ask(_Ping(), timeout=budget)
    except pykka.Timeout:
        raise fail(f"root did not start within {budget:g} s") from None
    except Exception as exc:
        raise fail(root._exit_error or exc) from None
    tree.registry.register(name, root.actor_ref)
    while True:
        settled = tree._settled()
        if tree.exited.is_set() or root.status in ("gave_up", "failed"):
            raise fail(root._exit_error)
        if fail_fast and tree._start_failure is not None:
            raise fail(None)
        if settled:
            return tree
        if deadline is not None and time.monotonic() > deadline:
            raise fail(f"tree not up within {timeout:g} s")
        time.sleep(0.005)
