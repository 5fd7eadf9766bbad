import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


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
