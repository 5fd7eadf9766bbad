"""Condition nodes built fast: asyncua instantiates the first of each type, the others are copies of it.

asyncua's `instantiate` browses the type hierarchy for every child of every node it
creates (~200 ms per AlarmConditionType instance on an idle 2-core machine, 640 ms at
load 12: 1,000 alarms would take minutes before the server could start). The nodes it
adds are the same for every instance of a type up to their NodeIds, browse name and
display name, so `NodeTemplates` records which nodes the first instance of a type got
(the AddNodesItems instantiate sends through the internal session) and makes each further
instance by copying those nodes' NodeData into the address space with the NodeIds inside
the instance moved (as petra.opcua.address_space builds the signals): no browsing, no
AddNodes, no await.

Child NodeIds follow asyncua's own rule for a string root (`<root>.<BrowseName>`), so a
copy is what instantiate would have made.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from asyncua import Server, ua
from asyncua.common.instantiate_util import instantiate


@dataclasses.dataclass
class _Template:
    root: str
    """The string identifier of the recorded instance's root (`alarm:<first id>`)."""
    parent: ua.NodeId
    """Where the recorded instance hangs."""
    node_ids: list[ua.NodeId]
    """The recorded instance's nodes, root first, in the order instantiate added them."""


class NodeTemplates:
    """Instances of object types in one server, by copying the first of each type."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._templates: dict[tuple[ua.NodeId, ...], _Template] = {}
        self.copied = 0
        self.instantiated = 0

    async def build(self, parent: ua.NodeId, nodeid: ua.NodeId, bname: ua.QualifiedName, dname: ua.LocalizedText,
                    parts: tuple[tuple[ua.NodeId, str], ...], type_id: ua.NodeId) -> list[ua.NodeId]:
        """Instance `nodeid` of `type_id` under `parent`, plus `parts` (type, browse name) under it.

        Returns every NodeId added. Raises ua.UaError when a node could not be added.
        """
        key = (type_id, *(t for t, _ in parts))
        template = self._templates.get(key)
        if template is not None:
            return self._copy(template, parent, nodeid, bname, dname)
        recorded: list[ua.AddNodesItem] = []
        session = self.server.iserver.isession
        original = session.add_nodes
        previous = vars(session).get("add_nodes")  # someone's wrapper on this session, kept

        async def recording(items: list[ua.AddNodesItem]) -> list[ua.AddNodesResult]:
            recorded.extend(copy.deepcopy(items))
            return await original(items)

        session.add_nodes = recording  # type: ignore[method-assign,assignment]
        try:
            added = await instantiate(self.server.get_node(parent), self.server.get_node(type_id), nodeid=nodeid,
                                      bname=bname, dname=dname, instantiate_optional=False)
            condition = self.server.get_node(nodeid)
            for part_type, name in parts:
                part_id = ua.NodeId(f"{nodeid.Identifier!s}.{name}", nodeid.NamespaceIndex)  # type: ignore[arg-type]
                added += await instantiate(condition, self.server.get_node(part_type), nodeid=part_id,
                                           bname=ua.QualifiedName(name, 0), instantiate_optional=False)
        finally:
            if previous is None:
                del session.add_nodes  # the instance attribute: back to the class's method
            else:
                session.add_nodes = previous  # type: ignore[method-assign]
        self.instantiated += 1
        if isinstance(nodeid.Identifier, str):
            self._templates[key] = _Template(nodeid.Identifier, parent, [i.RequestedNewNodeId for i in recorded])
        return [n.nodeid for n in added]

    def _copy(self, template: _Template, parent: ua.NodeId, nodeid: ua.NodeId, bname: ua.QualifiedName,
              dname: ua.LocalizedText) -> list[ua.NodeId]:
        """The template's nodes as NodeData copies, straight into the address space (no AddNodes).

        Attribute values are shared DataValues (a write replaces an AttributeValue's value, it
        never changes a DataValue in place); each node gets its own AttributeValues and
        references, with the NodeIds inside the instance moved to the new root.
        """
        from asyncua.server.address_space import AttributeValue, NodeData

        old, new = template.root, str(nodeid.Identifier)
        ns = nodeid.NamespaceIndex
        aspace = self.server.iserver.aspace
        old_root = template.node_ids[0]

        def moved(nid: ua.NodeId) -> ua.NodeId:
            ident = nid.Identifier
            if nid.NamespaceIndex == ns and isinstance(ident, str) and (ident == old or ident.startswith(old + ".")):
                return ua.NodeId(new + ident[len(old):], ns)  # type: ignore[arg-type]
            return nid

        made: list[Any] = []
        for old_id in template.node_ids:
            source = aspace.get(old_id)
            new_id = moved(old_id)
            if source is None or new_id in aspace:
                raise ua.UaError(f"adding {new_id.to_string()} failed: "
                                 f"{'template node gone' if source is None else 'BadNodeIdExists'}")
            data = NodeData(new_id)
            root = old_id == old_root
            for attribute, value in source.attributes.items():
                dv = value.value
                if attribute == ua.AttributeIds.NodeId:
                    dv = ua.DataValue(ua.Variant(new_id, ua.VariantType.NodeId))
                elif root and attribute == ua.AttributeIds.BrowseName:
                    dv = ua.DataValue(ua.Variant(bname, ua.VariantType.QualifiedName))
                elif root and attribute == ua.AttributeIds.DisplayName:
                    dv = ua.DataValue(ua.Variant(dname, ua.VariantType.LocalizedText))
                data.attributes[attribute] = AttributeValue(dv)  # type: ignore[arg-type]
            for ref in source.references:
                target = parent if root and not ref.IsForward and ref.NodeId == template.parent else moved(ref.NodeId)
                data.references.append(ref if target is ref.NodeId else dataclasses.replace(ref, NodeId=target))
            made.append(data)
        up = next((r for r in aspace[template.parent].references if r.IsForward and r.NodeId == old_root), None)
        if up is None or parent not in aspace:
            raise ua.UaError(f"adding {new} failed: BadParentNodeIdInvalid")
        for data in made:
            aspace[data.nodeid] = data
        aspace[parent].references.append(dataclasses.replace(up, NodeId=nodeid, BrowseName=bname,
                                                             DisplayName=dname))
        self.copied += 1
        return [data.nodeid for data in made]


def child(nodeid: ua.NodeId, path: str) -> ua.NodeId:
    """The NodeId of `path` ("ActiveState.Id") under a string-rooted instance."""
    return ua.NodeId(f"{nodeid.Identifier!s}.{path}", nodeid.NamespaceIndex)  # type: ignore[arg-type]
