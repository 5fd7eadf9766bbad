"""Erlang/OTP-style supervision trees for pykka actors.

Children are declared as data (``ChildSpec``: a worker or a supervisor, see
``ChildKind``) under a ``Supervisor`` with a ``SupervisorSpec`` (strategy, restart
intensity, back-off, liveness probes). An ordered stop waits for each worker up to its
``shutdown_timeout`` and for each sub-supervisor as long as its own children may take
(OTP's infinity, bounded in practice by ``Supervisor.stop_budget()``). Every
supervised actor subclasses ``SupervisedActor``, which reports each exit -
including the ones pykka would swallow (failures in ``ask`` calls' actors,
failing ``on_start``) - to its supervisor, and runs its ``release()`` hook on every
way it ends, before the supervisor starts a successor: what an actor owns (an LMDB
environment, a socket, a worker thread) is freed there, so the restart can open
it again. ``start_tree`` starts a root supervisor
and returns a ``SupervisionTree`` for introspection (``tree()``), lookups by path
and operator actions. Every timed event of supervision (probe ticks, restart
back-offs, stuck-worker checks) and of its users (``call_later``, ``call_every``)
shares one timer thread, ``supervision-timer``. Every supervised actor's thread is
named after its path. Depends on pykka only.
"""

from ._actor import ChildExited, Inject, InjectedFault, Link, SupervisedActor
from ._backoff import BackoffPolicy
from ._events import EventKind, Listener, SupervisorEvent
from ._intensity import RestartIntensity
from ._pool import ActorPool, PooledActor
from ._registry import Registry
from ._snapshot import NodeSnapshot
from ._spec import ChildKind, ChildSpec, Restart, Strategy, SupervisorSpec, validate_specs
from ._supervisor import ChildInfo, GaveUp, HangDetected, StartError, Supervisor
from ._timer import TIMER_THREAD, Scheduled, call_every, call_later
from ._tree import SupervisionTree, start_tree

__all__ = [
    "TIMER_THREAD",
    "ActorPool",
    "BackoffPolicy",
    "ChildExited",
    "ChildInfo",
    "ChildKind",
    "ChildSpec",
    "EventKind",
    "GaveUp",
    "HangDetected",
    "Inject",
    "InjectedFault",
    "Link",
    "Listener",
    "NodeSnapshot",
    "PooledActor",
    "Registry",
    "Restart",
    "RestartIntensity",
    "Scheduled",
    "StartError",
    "Strategy",
    "SupervisedActor",
    "SupervisionTree",
    "Supervisor",
    "SupervisorEvent",
    "SupervisorSpec",
    "call_every",
    "call_later",
    "start_tree",
    "validate_specs",
]
