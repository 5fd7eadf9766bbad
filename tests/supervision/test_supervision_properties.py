"""Property: whatever happens to the children, each id has at most one live instance,
and every permanent child ends up running again."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pykka import ActorDeadError
from sup_helpers import Journal, sup_spec, wait_until, worker

from supervision import Inject, Restart, Strategy, start_tree

IDS = ("a", "b", "c")
RESTARTS = {"a": Restart.PERMANENT, "b": Restart.TRANSIENT, "c": Restart.PERMANENT}

actions = st.lists(st.tuples(st.sampled_from(IDS), st.sampled_from(["crash", "hang", "stop"])), max_size=6)


def assert_at_most_one_live_instance(journal: Journal) -> None:
    for child_id in IDS:
        live = journal.live_instances(child_id)
        assert len(live) <= 1, f"{child_id} has {len(live)} live instances"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategy=st.sampled_from(list(Strategy)), script=actions)
def test_any_sequence_of_faults_leaves_one_live_instance_per_child_and_permanent_children_running(
    strategy: Strategy, script: list[tuple[str, str]]
) -> None:
    journal = Journal()
    children = [worker(i, journal, restart=RESTARTS[i], shutdown_timeout=0.1) for i in IDS]
    spec = sup_spec(*children, strategy=strategy, max_restarts=10_000, probe_interval=0.02, probe_timeout=0.1)
    tree = start_tree(spec, name="prop")
    try:
        hit = []
        for child_id, action in script:
            ref = tree.lookup(f"prop/{child_id}")
            if ref is not None:
                hit.append(next(a for a in journal.instances if a.actor_ref is ref))
                try:
                    if action == "crash":
                        ref.tell(Inject("crash"))
                    elif action == "hang":
                        ref.tell(Inject("hang", 0.3))
                    else:
                        ref.stop(block=False)
                except ActorDeadError:
                    pass  # an earlier fault ended this instance between the lookup and the fault
            assert_at_most_one_live_instance(journal)

        # Every instance we hit must be gone (exited or abandoned) before "settled" means anything.
        def faults_took_effect() -> bool:
            assert_at_most_one_live_instance(journal)
            return all(a.abandoned or not a.actor_ref.is_alive() for a in hit)

        # a budget, not an expectation: under CI's load (4 workers on 2 cores) 5 s ran out once (fresh-clone CI,
        # 2026-12-03: not reproduced when hypothesis ran the same script again); an instance that never ends
        # still fails it
        wait_until(faults_took_effect, timeout=30.0, what="faults took effect")

        def settled() -> bool:
            assert_at_most_one_live_instance(journal)
            nodes = {n.name: n for n in tree.tree().children}
            permanent_up = all(nodes[i].state == "running" for i in IDS if RESTARTS[i] is Restart.PERMANENT)
            transient_done = nodes["b"].state in ("running", "stopped")
            return permanent_up and transient_done

        wait_until(settled, timeout=10.0, what="permanent children running again")

        def one_live_instance_each_and_the_tree_names_it() -> bool:
            # a restart's journal entry can follow the tree's "running" by a moment: wait for both to agree
            for child_id in IDS:
                if RESTARTS[child_id] is Restart.PERMANENT:
                    live = journal.live_instances(child_id)
                    if len(live) != 1 or tree.lookup(f"prop/{child_id}") is not live[0].actor_ref:
                        return False
            return True

        wait_until(one_live_instance_each_and_the_tree_names_it, timeout=10.0,
                   what="one live instance per permanent child, the one the tree looks up")
        assert not tree.gave_up.is_set()
    finally:
        assert tree.stop(timeout=5.0)
