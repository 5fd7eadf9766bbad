"""A block type's ports as the designer shows them: from the block registry, never from a list of its own."""

from __future__ import annotations

from typing import Any

from petra.blocks.base import Block, Port, PortType
from petra.config.schema import default_registry


def type_name(kind: PortType) -> str:
    """A port type as JSON: bool, int, float, string, numeric or any."""
    return kind if isinstance(kind, str) else kind.value


def port_json(port: Port) -> dict[str, Any]:
    out: dict[str, Any] = {"name": port.name, "type": type_name(port.type), "required": port.required}
    if not port.required:
        out["default"] = port.default
    if port.doc:
        out["description"] = port.doc
    return out


def block_class(type_: str) -> type[Block] | None:
    return default_registry().get(type_)


def block_ports(type_: str, props: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(inputs, outputs) of one block node: its type's fixed ports, the numbered inputs it connects and the
    next free one of the family (where a new wire goes); an unknown type has the ports its props name."""
    given_in, given_out = props.get("inputs"), props.get("outputs")
    inputs: dict[str, Any] = given_in if isinstance(given_in, dict) else {}
    outputs: dict[str, Any] = given_out if isinstance(given_out, dict) else {}
    cls = block_class(type_)
    if cls is None:
        return ([{"name": str(n), "type": "any"} for n in inputs], [{"name": str(n), "type": "any"} for n in outputs])
    ports = [port_json(p) for p in cls.input_ports([str(n) for n in inputs])]
    family = cls.variadic
    if family is not None:
        used = {n for n in (family.index_of(str(name)) for name in inputs) if n is not None}
        count = len(used)
        if count < family.maximum:
            ports.append({"name": f"{family.prefix}{family.start + count}", "type": type_name(family.type),
                          "required": count < family.minimum, "variadic": True})
        for port in ports:
            if family.index_of(port["name"]) is not None:
                port["variadic"] = True
    return ports, [{"name": p.name, "type": type_name(p.type)} for p in cls.outputs]
