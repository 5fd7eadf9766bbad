"""The PETRA object: the plant's status as variables, for clients that read rather than consume events.

```
Objects
└── PETRA                         ns=<petra>;s=~petra
    ├── ScanTicks, ScanOverruns, ScanWorkP99Ms, ScanLatenessP99Ms, ScanTimeMs
    ├── ActorsTotal, ActorsDown, ActorRestarts
    ├── ConfigSha256, NodeId, Signals, Sessions
    └── Alarms                    one reference per alarm to its signals' folder (`alarm.<id>.state`,
                                  `.active`, `.acked`: the ISA-18.2 state as PETRA's signals carry it)
```

Read-only; refreshed by the server's loop every `REFRESH_S` (the scan statistics are read from the plant's
`ScanStats`, the actors from the supervision tree's snapshot, which never messages an actor).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asyncua import ua

from petra.opcua.address_space import FOLDER_PREFIX
from petra.opcua.uatypes import node_id

if TYPE_CHECKING:
    from asyncua import Server

    from petra.control.handle import RuntimeHandle
    from petra.plant import Plant

log = logging.getLogger(__name__)

REFRESH_S = 1.0
OBJECT_ID = "~petra"
FIELDS: tuple[tuple[str, ua.VariantType, str], ...] = (
    ("ScanTicks", ua.VariantType.UInt64, "Scans of the main task since start"),
    ("ScanOverruns", ua.VariantType.UInt64, "Ticks that found a chain still busy"),
    ("ScanWorkP99Ms", ua.VariantType.Double, "Scan work, 99th percentile of the recent scans (ms)"),
    ("ScanLatenessP99Ms", ua.VariantType.Double, "Tick lateness, 99th percentile (ms)"),
    ("ScanTimeMs", ua.VariantType.Int32, "The configured scan time (ms)"),
    ("ActorsTotal", ua.VariantType.Int32, "Actors in the supervision tree"),
    ("ActorsDown", ua.VariantType.Int32, "Actors not running (restarting, hung, failed, given up)"),
    ("ActorRestarts", ua.VariantType.Int32, "Restarts since start"),
    ("ConfigSha256", ua.VariantType.String, "SHA-256 of the running configuration file"),
    ("NodeId", ua.VariantType.String, "This PETRA node's id"),
    ("Signals", ua.VariantType.Int32, "Signals in the signal table"),
    ("Sessions", ua.VariantType.Int32, "OPC-UA sessions open"),
)


def read_status(plant: Plant, runtime: RuntimeHandle | None, sessions: int) -> dict[str, Any]:
    """The values of `FIELDS` now (any thread)."""
    scan = plant.stats.summary()
    total = down = restarts = 0
    tree = runtime.tree if runtime is not None else None
    if tree is not None:
        for node in tree.tree().walk():
            if node.kind != "worker":
                continue
            total += 1
            restarts += node.restarts
            down += node.state != "running"
    config_sha = ""
    if runtime is not None:
        try:
            config_sha = str(runtime.config_info().get("sha256") or "")
        except Exception:  # a status read must not fail the refresh
            log.debug("config_info failed", exc_info=True)
    return {"ScanTicks": scan.ticks, "ScanOverruns": scan.overruns, "ScanWorkP99Ms": float(scan.work_p99_ms),
            "ScanLatenessP99Ms": float(scan.lateness_p99_ms), "ScanTimeMs": int(plant.config.scan_time_ms),
            "ActorsTotal": total, "ActorsDown": down, "ActorRestarts": restarts, "ConfigSha256": config_sha,
            "NodeId": str(plant.config.node_id or ""), "Signals": len(plant.table.index), "Sessions": sessions}


class StatusObject:
    """The PETRA object's nodes; `refresh` writes the values `read_status` gives."""

    def __init__(self, server: Server, namespace: int) -> None:
        self.server = server
        self.namespace = namespace
        self.node_ids = {name: node_id(f"{OBJECT_ID}/{name}", namespace) for name, _, _ in FIELDS}
        self.types = {name: vtype for name, vtype, _ in FIELDS}
        self.object_id = node_id(OBJECT_ID, namespace)

    async def build(self, alarm_folders: dict[str, str]) -> None:
        """Add the object, its variables and the Alarms folder (references to `alarm_folders`: id -> node id)."""
        objects = self.server.nodes.objects
        obj = await objects.add_object(self.object_id, ua.QualifiedName("PETRA", self.namespace))
        await obj.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(
            ua.LocalizedText("PETRA runtime status"), ua.VariantType.LocalizedText)))
        for name, vtype, doc in FIELDS:
            var = await obj.add_variable(self.node_ids[name], ua.QualifiedName(name, self.namespace),
                                         ua.Variant(_zero(vtype), vtype), varianttype=vtype)
            await var.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(
                ua.LocalizedText(doc), ua.VariantType.LocalizedText)))
        alarms = await obj.add_folder(node_id(f"{OBJECT_ID}/Alarms", self.namespace),
                                      ua.QualifiedName("Alarms", self.namespace))
        for alarm_id, folder in sorted(alarm_folders.items()):
            target = node_id(folder, self.namespace)
            if target in self.server.iserver.aspace:
                await alarms.add_reference(target, ua.ObjectIds.Organizes, forward=True, bidirectional=False)
            else:
                log.debug("OPC-UA: no node %s for alarm %s", folder, alarm_id)

    async def refresh(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            nid = self.node_ids.get(name)
            if nid is not None:
                await self.server.write_attribute_value(nid, ua.DataValue(ua.Variant(value, self.types[name])))


def alarm_folders(names: list[str], group_of: Callable[[str], str]) -> dict[str, str]:
    """Alarm id -> the folder node id of its state signals (`alarm.<id>.state` -> `~/<group>/alarm/<id>`)."""
    found: dict[str, str] = {}
    for name in names:
        head, _, field = name.rpartition(".")
        if name.startswith("alarm.") and field == "state" and head != "alarm":
            alarm_id = head[len("alarm."):]
            found[alarm_id] = f"{FOLDER_PREFIX}{group_of(name)}/{head.replace('.', '/')}"
    return found


def _zero(vtype: ua.VariantType) -> Any:
    return "" if vtype is ua.VariantType.String else 0.0 if vtype is ua.VariantType.Double else 0
