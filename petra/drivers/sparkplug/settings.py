"""The `sparkplug:` section's settings (`SparkplugSettings`) and the edge node's resolved config.

Credentials and TLS are spelled as the `mqtt:` section spells them (its
`TlsConfig` is reused), but the edge node keeps its own MQTT session: its will
is the NDEATH. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from petra.config.model import PlantConfig, SignalConfig
from petra.config.schema_builders import array, signal_ref
from petra.config.settings import parse, setting
from petra.drivers.mqtt.config import TlsConfig
from petra.security.roles import Role

_ID_PATTERN = r"^[^/+#]+$"
"""Sparkplug ids are one topic level: no '/', and no MQTT wildcard."""


@dataclass(frozen=True)
class DeviceSetting:
    """One Sparkplug device: the signals it carries, by signal group, by the driver writing them, or by name."""

    name: str = setting(doc="The device id (one topic level).", minLength=1, pattern=_ID_PATTERN)
    groups: tuple[str, ...] = setting((), doc="Signal groups whose signals are this device's metrics.")
    drivers: tuple[str, ...] = setting(
        (), doc="Drivers whose signals are this device's metrics (the writer's name, e.g. 's7' or 'mqtt').")
    signals: tuple[str, ...] = setting((), doc="Signals named one by one.", schema=array(signal_ref("")))


@dataclass(frozen=True)
class SparkplugSettings:
    """Sparkplug B 3.0 edge node: births, data by exception, NDEATH will, commands, primary host STATE."""

    broker_host: str = setting(doc="Host name or IP of the broker.", minLength=1)
    group_id: str = setting(doc="Sparkplug group id (one topic level).", minLength=1, pattern=_ID_PATTERN)
    broker_port: int = setting(1883, minimum=1, maximum=65535)
    client_id: str | None = setting(None, doc="MQTT client id; defaults to petra-sparkplug-<edge_node_id>.")
    username: str | None = None
    password: str | None = None
    tls: TlsConfig | None = None
    keepalive_s: int = setting(30, unit="s", minimum=1, maximum=65535)
    edge_node_id: str | None = setting(None, doc="Sparkplug edge node id; defaults to the plant's node_id.",
                                       minLength=1, pattern=_ID_PATTERN)
    primary_host_id: str | None = setting(
        None, doc="Host application whose spBv1.0/STATE/<id> gates births and data; while it is offline data "
                  "waits in the WAL and is sent flagged is_historical when it returns.",
        minLength=1, pattern=_ID_PATTERN)
    devices: tuple[DeviceSetting, ...] = setting((), doc="Signals published as Sparkplug devices (DBIRTH/DDATA); "
                                                       "the rest are the node's own metrics.")
    signals: tuple[str, ...] | None = setting(
        None, doc="Signals published; absent: every signal.", schema=array(signal_ref("")))
    deadband: float = setting(0.0, doc="Numeric changes smaller than this are not reported.", minimum=0)
    deadbands: dict[str, float] = setting(
        default_factory=dict, doc="Per-signal deadband, overriding `deadband`.",
        schema={"type": "object", "additionalProperties": {"type": "number", "minimum": 0}})
    host_identity: str = setting("host", doc="Who NCMD/DCMD writes act as in the audit trail (sparkplug:<name>).",
                                 minLength=1)
    host_role: Literal["viewer", "operator", "engineer", "admin"] = setting(
        "viewer", doc="Role of the Sparkplug host's writes, checked against each signal's writable_by. "
                      "viewer (the default) refuses every write.")
    state_dir: str = setting("./data/sparkplug", doc="Where bdSeq and the store-and-forward position are kept.")
    coalesce_ms: float = setting(
        0.0, unit="ms", minimum=0, maximum=10000,
        doc="Gather changes this long, then one NDATA/DDATA per device carries them all (0: a message per change "
            "event, e.g. per block chain per scan).")
    max_metrics_per_message: int = setting(500, doc="Historical (and gathered) data is sent in messages of at "
                                                    "most this many metrics.", minimum=1)
    reconnect_max_s: float = setting(10.0, unit="s", minimum=0.1,
                                     doc="Longest wait between reconnect attempts (doubles from 0.1 s).")


@dataclass(frozen=True)
class Metric:
    """One published signal: its alias, its device ('' = the node itself), deadband and engineering unit."""

    signal: str
    alias: int
    device: str
    deadband: float
    unit: str
    description: str


@dataclass(frozen=True)
class SparkplugConfig:
    """Everything the edge node actor needs."""

    settings: SparkplugSettings
    client_id: str
    group_id: str
    edge_node_id: str
    metrics: dict[str, Metric]
    devices: tuple[str, ...]
    node_id: str

    @property
    def host_role(self) -> Role:
        return Role[self.settings.host_role.upper()]

    @property
    def driver_id(self) -> str:
        return f"sparkplug:{self.edge_node_id}"

    def topic(self, kind: str, device: str = "") -> str:
        base = f"spBv1.0/{self.group_id}/{kind}/{self.edge_node_id}"
        return f"{base}/{device}" if device else base


def _device_of(signal: SignalConfig, devices: tuple[DeviceSetting, ...]) -> str:
    for device in devices:
        if signal.name in device.signals:
            return device.name
    for device in devices:
        if signal.group in device.groups:
            return device.name
        writer = (signal.written_by or "").split(" ")[0].split(":")[0]
        if writer and writer in device.drivers:
            return device.name
    return ""


FIRST_ALIAS = 16
"""Aliases below are the node's own metrics (bdSeq, Node Control/Rebirth)."""


def build_config(plant_config: PlantConfig) -> SparkplugConfig | None:
    """The edge node's config, or None when the plant has no `sparkplug` section."""
    section: dict[str, Any] | None = plant_config.sections.get("sparkplug")
    if not section:
        return None
    settings = parse(SparkplugSettings, section)
    wanted = None if settings.signals is None else set(settings.signals)
    metrics: dict[str, Metric] = {}
    for signal in plant_config.signals:
        if wanted is not None and signal.name not in wanted:
            continue
        metrics[signal.name] = Metric(
            signal.name, FIRST_ALIAS + len(metrics), _device_of(signal, settings.devices),
            settings.deadbands.get(signal.name, settings.deadband), signal.unit, signal.description)
    edge = settings.edge_node_id or plant_config.node_id
    return SparkplugConfig(settings, settings.client_id or f"petra-sparkplug-{edge}", settings.group_id, edge,
                           metrics, tuple(d.name for d in settings.devices), plant_config.node_id)
