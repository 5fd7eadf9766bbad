"""Owners are a type: a chain or a group, shown to users as `logic/<chain>` or the group's name."""

from __future__ import annotations

import petra.blocks  # noqa: F401  (registers the block types the config names)
from petra.owners import Owner, OwnerKind
from petra.plant import build_plant
from petra.reload import plan_reload
from tests.helpers import plant_config

PLANT = {
    "node_id": "owners",
    "scan_time_ms": 50,
    "signals": [{"name": "level", "type": "float", "initial": 1.0, "group": "tank"},
                {"name": "limit", "type": "float", "initial": 2.0}],
    "blocks": [{"name": "cmp", "type": "GT", "inputs": {"in1": "level", "in2": "limit"}, "outputs": {"out": "high"}}],
}


def test_a_chain_owner_and_a_group_owner_have_their_actor_paths_and_the_string_users_see():
    chain, group = Owner.chain("cmp"), Owner.group("tank")
    assert (chain.kind, group.kind) == (OwnerKind.CHAIN, OwnerKind.GROUP)
    assert (str(chain), str(group)) == ("logic/cmp", "tank")
    assert (chain.path, group.path) == ("petra/core/logic/cmp", "petra/core/signals/tank")
    assert chain.is_chain and not group.is_chain
    assert Owner.group("logic/cmp") != chain  # a group may be named like a chain's string: the kind tells them apart
    assert Owner.group("tank") is group  # one instance per owner: dict look-ups on hot paths hit by identity
    built = Owner(OwnerKind.GROUP, "tank")
    assert built == group and hash(built) == hash(group) and {group: 1}[built] == 1


def test_the_table_knows_each_signal_s_owner_and_only_groups_become_signal_group_actors():
    plant = build_plant(plant_config(PLANT))
    table = plant.table
    assert table.owners[table.slot("high")] == Owner.chain(plant.chains[0].name)
    assert table.owners[table.slot("level")] == Owner.group("tank")
    assert table.read("high").to_dict()["owner"] == f"logic/{plant.chains[0].name}"
    assert table.read("level").to_dict()["owner"] == "tank"
    assert plant.groups == {"tank": [table.slot("level")], "default": [table.slot("limit")]}  # `high` is the chain's


def test_a_reload_that_removes_a_chain_hands_its_outputs_back_to_a_group():
    plant = build_plant(plant_config(PLANT))
    without_blocks = {**PLANT, "blocks": [],
                      "signals": [*PLANT["signals"], {"name": "high", "type": "bool", "group": "tank"}]}
    plan = plan_reload(plant, plant_config(without_blocks))
    assert plan.owners == {}
    assert plan.chains_to_stop == [plant.chains[0].name]
    assert plan.groups["tank"] == [plant.table.slot("level"), plant.table.slot("high")]
