"""The block library: every block type, registered in REGISTRY on import.

One module per family (boolean, compare, arithmetic, selection, timers,
counters, edges, bistables, pid, filters, generator); `base` holds the
contract. `catalog()` lists the types as data and `catalog_markdown()`
renders the table committed as README.md.
"""

from petra.blocks import (
    arithmetic,
    bistables,
    boolean,
    compare,
    counters,
    edges,
    filters,
    generator,
    pid,
    selection,
    timers,
)
from petra.blocks._catalog import catalog, catalog_markdown, describe
from petra.blocks.base import (
    ANY,
    NUMERIC,
    REGISTRY,
    Block,
    BlockParamError,
    BlockRegistry,
    Param,
    Port,
    Variadic,
    block_type,
)

__all__ = [
    "ANY",
    "NUMERIC",
    "REGISTRY",
    "Block",
    "BlockParamError",
    "BlockRegistry",
    "Param",
    "Port",
    "Variadic",
    "arithmetic",
    "bistables",
    "block_type",
    "boolean",
    "catalog",
    "catalog_markdown",
    "compare",
    "counters",
    "describe",
    "edges",
    "filters",
    "generator",
    "pid",
    "selection",
    "timers",
]
