"""A copied condition instance is what asyncua's instantiate would have made (petra.opcua.conditions_nodes)."""

from __future__ import annotations

from typing import Any

import pytest
from asyncua import Node, Server, ua
from asyncua.common.instantiate_util import instantiate

from petra.opcua.conditions_nodes import NodeTemplates, child
from tests.helpers import run_apart

pytestmark = pytest.mark.timeout(240)

SHELVING = ((ua.NodeId(ua.ObjectIds.ShelvedStateMachineType), "ShelvingState"),)


async def tree(node: Node, root: str) -> list[tuple[Any, ...]]:
    """Every node under `node` as (path, class, type definition, value type, forward references by type),
    with the instance's own NodeIds written relative to its root."""
    out: list[tuple[Any, ...]] = []

    def rel(nid: ua.NodeId) -> str:
        text = nid.to_string()
        return text.replace(root, "<root>")

    async def walk(n: Node, path: str) -> None:
        refs = await n.get_references(refs=ua.ObjectIds.References, direction=ua.BrowseDirection.Both)
        shape = sorted((r.ReferenceTypeId.to_string(), r.IsForward, rel(r.NodeId)) for r in refs)
        node_class = await n.read_node_class()
        value = None
        if node_class == ua.NodeClass.Variable:
            value = (await n.read_data_value()).Value
            value = None if value is None else (value.VariantType, value.Value)
        out.append((path, node_class, value, shape))
        for c in await n.get_children():
            await walk(c, f"{path}/{(await c.read_browse_name()).Name}")

    await walk(node, "")
    return out


def test_a_copy_has_the_same_nodes_values_and_references_as_an_instantiated_one() -> None:
    async def scenario() -> tuple[Any, ...]:
        server = Server()
        await server.init()
        ns = await server.register_namespace("urn:petra:test")
        a = await server.nodes.objects.add_variable(ua.NodeId("a", ns), "a", 1.0)
        b = await server.nodes.objects.add_variable(ua.NodeId("b", ns), "b", 2.0)
        templates = NodeTemplates(server)
        kind = ua.NodeId(ua.ObjectIds.ExclusiveLimitAlarmType)
        first = await templates.build(a.nodeid, ua.NodeId("alarm:one", ns), ua.QualifiedName("one", ns),
                                      ua.LocalizedText("One"), SHELVING, kind)
        second = await templates.build(b.nodeid, ua.NodeId("alarm:two", ns), ua.QualifiedName("two", ns),
                                       ua.LocalizedText("Two"), SHELVING, kind)
        # the reference: asyncua's own instantiate of the same type under the same kind of parent
        c = await server.nodes.objects.add_variable(ua.NodeId("c", ns), "c", 3.0)
        own = [n.nodeid for n in await instantiate(c, server.get_node(kind), nodeid=ua.NodeId("alarm:three", ns),
                                                   bname=ua.QualifiedName("three", ns),
                                                   dname=ua.LocalizedText("Three"), instantiate_optional=False)]
        own += [n.nodeid for n in await instantiate(server.get_node(ua.NodeId("alarm:three", ns)),
                                                    server.get_node(SHELVING[0][0]),
                                                    nodeid=ua.NodeId("alarm:three.ShelvingState", ns),
                                                    bname=ua.QualifiedName("ShelvingState", 0),
                                                    instantiate_optional=False)]
        shapes = []
        for root, parent in (("alarm:one", a), ("alarm:two", b), ("alarm:three", c)):
            shape = await tree(server.get_node(ua.NodeId(root, ns)), root)
            up = [r for r in await parent.get_references(refs=ua.ObjectIds.HasComponent)
                  if r.NodeId == ua.NodeId(root, ns)]
            shapes.append((shape, len(up)))
        names = [(await server.get_node(ua.NodeId(r, ns)).read_browse_name(),
                  await server.get_node(ua.NodeId(r, ns)).read_display_name()) for r in ("alarm:one", "alarm:two")]
        # a write to the copy does not change the original
        active = child(ua.NodeId("alarm:two", ns), "ActiveState.Id")
        await server.write_attribute_value(active, ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)))
        values = (await server.get_node(child(ua.NodeId("alarm:one", ns), "ActiveState.Id")).read_value(),
                  await server.get_node(active).read_value())
        return first, second, own, shapes, names, values, templates, ns, a, b

    first, second, own, shapes, names, values, templates, ns, a, b = run_apart(scenario())
    assert (templates.instantiated, templates.copied) == (1, 1)
    assert len(first) == len(second) == len(own) > 30
    assert {n.to_string().replace("alarm:two", "alarm:one") for n in second} == {n.to_string() for n in first}

    def without_parent(shape: list[tuple[Any, ...]], parent: ua.NodeId) -> list[tuple[Any, ...]]:
        return [(p, c, v, [r for r in refs if r[2] != parent.to_string()]) for p, c, v, refs in shape]

    (one, up1), (two, up2), (three, up3) = shapes
    assert up1 == up2 == up3 == 1
    assert without_parent(two, b.nodeid) == without_parent(one, a.nodeid)
    assert [(p, c) for p, c, _, _ in two] == [(p, c) for p, c, _, _ in three]
    assert names == [(ua.QualifiedName("one", ns), ua.LocalizedText("One")),
                     (ua.QualifiedName("two", ns), ua.LocalizedText("Two"))]
    assert values == (False, True) or values == (None, True)
