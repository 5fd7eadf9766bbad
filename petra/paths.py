"""Where every actor of a plant sits in the supervision tree: the one place paths are spelled.

```
petra                       ROOT
├── storage                 STORAGE: WAL, then the tiers
├── core                    CORE
│   ├── signals             SIGNALS: group_path(<group>)
│   ├── clock               CLOCK
│   └── logic               LOGIC: chain_path(<chain>)
├── drivers, alarms         section_group(<group>)
└── services                SERVICES: METRICS, CONTROL
```

Paths are part of the API (`petra-ctl restart PATH`, `/v1/tree`, the status
of each subsystem), so they change here or nowhere. The tree's shape itself
is built by `petra.tree`; this module only names its nodes.
"""

from __future__ import annotations

ROOT = "petra"
"""The root supervisor's name."""


def child_path(parent: str, child_id: str) -> str:
    """The path of the child `child_id` of the supervisor at `parent`."""
    return f"{parent}/{child_id}"


def section_group(group: str) -> str:
    """The path of a top-level supervisor group: `core`, or a section's (`drivers`, `storage`, `alarms`, `services`)."""
    return child_path(ROOT, group)


CORE = section_group("core")
SIGNALS = child_path(CORE, "signals")
"""The supervisor of the signal-group actors."""
LOGIC = child_path(CORE, "logic")
"""The supervisor of the block-chain actors."""
CLOCK = child_path(CORE, "clock")
STORAGE = section_group("storage")
WAL = child_path(STORAGE, "wal")
SERVICES = section_group("services")
METRICS = child_path(SERVICES, "metrics")
CONTROL = child_path(SERVICES, "control")


def group_path(group: str) -> str:
    """The actor that owns the signals of `group`."""
    return child_path(SIGNALS, group)


def chain_path(chain: str) -> str:
    """The actor that runs the block chain `chain`."""
    return child_path(LOGIC, chain)


def storage_path(child_id: str) -> str:
    """A storage actor: `wal`, `history:parquet`, `remote:clickhouse`, `archive:s3`."""
    return child_path(STORAGE, child_id)


def in_core(path: str) -> str:
    """`path` relative to `core`, as reload summaries name actors (`logic/<chain>`, `signals/<group>`, `clock`)."""
    prefix = CORE + "/"
    if not path.startswith(prefix):
        raise ValueError(f"{path} is not under {CORE}")
    return path[len(prefix):]


def is_under(path: str, ancestor: str) -> bool:
    """Whether the actor at `path` is `ancestor` or below it."""
    return path == ancestor or path.startswith(ancestor + "/")
