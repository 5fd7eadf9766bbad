import pytest

from petra.config.model import BlockConfig, BlockInput
from petra.logic.graph import AlgebraicLoopError, partition


def block(name, reads=(), writes=(), prev=()):
    inputs = tuple(BlockInput(f"in{i}", signal=s) for i, s in enumerate(reads, 1))
    inputs += tuple(BlockInput(f"p{i}", signal=s, previous=True) for i, s in enumerate(prev, 1))
    return BlockConfig(name, "ADD", inputs, {f"out{i}": s for i, s in enumerate(writes)}, {})


def test_connected_blocks_form_one_chain_in_topological_order():
    blocks = [block("c", reads=["b"], writes=["c"]), block("a", writes=["a"]), block("b", reads=["a"], writes=["b"])]
    chains = partition(blocks)
    assert len(chains) == 1
    assert [b.name for b in chains[0].blocks] == ["a", "b", "c"]


def test_independent_components_become_separate_chains_named_after_their_first_block():
    blocks = [block("x1", writes=["x"]), block("y1", writes=["y"]), block("x2", reads=["x"], writes=["x2"])]
    chains = partition(blocks)
    assert [c.name for c in chains] == ["x1", "y1"]
    assert [b.name for b in chains[0].blocks] == ["x1", "x2"]


def test_an_algebraic_loop_is_refused_naming_the_blocks_in_the_cycle():
    blocks = [
        block("source", writes=["s"]),
        block("a", reads=["s", "c"], writes=["a"]),
        block("b", reads=["a"], writes=["b"]),
        block("c", reads=["b"], writes=["c"]),
        block("downstream", reads=["c"], writes=["d"]),
    ]
    with pytest.raises(AlgebraicLoopError) as info:
        partition(blocks)
    cycle = info.value.cycle
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"a", "b", "c"}
    assert "source" not in str(info.value) and "downstream" not in str(info.value)


def test_a_previous_scan_read_closes_a_loop_without_an_algebraic_loop():
    blocks = [
        block("integrate", reads=["delta"], prev=["level"], writes=["level"]),
        block("high", reads=["level"], writes=["pump"]),
        block("delta", reads=["inflow"], prev=["pump"], writes=["delta"]),
    ]
    chains = partition(blocks)
    assert len(chains) == 1
    assert [b.name for b in chains[0].blocks] == ["delta", "integrate", "high"]


def test_a_self_loop_without_prev_is_an_algebraic_loop():
    with pytest.raises(AlgebraicLoopError) as info:
        partition([block("acc", reads=["acc_out"], writes=["acc_out"])])
    assert info.value.cycle == ["acc", "acc"]
