import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@pytest.fixture(autouse=True, scope="session")
def _control_socket_of_the_suite(tmp_path_factory: pytest.TempPathFactory):
    """Runtimes that name no control socket use one of the suite's, never the machine's default
    (a PETRA running on this machine, or a second test run, must not meet the tests there)."""
    path = tmp_path_factory.mktemp("petra-socket") / "control.sock"
    previous = os.environ.get("PETRA_SOCKET")
    os.environ["PETRA_SOCKET"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("PETRA_SOCKET", None)
    else:
        os.environ["PETRA_SOCKET"] = previous


@pytest.fixture(autouse=True, scope="session")
def _shared_actor_pools():
    """Actor pools are process-wide and live as long as the process (a fixed few threads).

    Create them before any test so the tests that check for leaked threads count
    only what the test itself started, whatever order the tests run in.
    """
    from petra.actors.block_chain import BlockChainActor
    from supervision import ActorPool

    ActorPool.named(BlockChainActor.pool_name, BlockChainActor.pool_workers)
    from petra.alarms.alarm_actor import AlarmActor

    ActorPool.named(AlarmActor.pool_name, AlarmActor.pool_workers)
    yield
