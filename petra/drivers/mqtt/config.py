"""The `mqtt:` section's settings (`MqttSettings`: its schema and defaults) and the bridge's resolved config.

`MqttSettings` is the one declaration of the YAML keys. `MqttConfig` is what the
bridge actor runs with: the settings with the defaults that depend on other
keys resolved once (client id, status and command topics, which signals are
published and how). Times are in seconds, as their key names say. No I/O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from petra.config.model import PlantConfig
from petra.config.schema_builders import array, signal_ref
from petra.config.settings import parse, setting
from petra.values import DataType


@dataclass(frozen=True)
class TlsConfig:
    """Broker TLS: the CA that signed the broker's certificate, an optional client pair."""

    ca_file: str | None = setting(None, doc="CA certificate (PEM) that signed the broker's certificate.")
    cert_file: str | None = setting(None, doc="Client certificate (PEM).")
    key_file: str | None = setting(None, doc="Client key (PEM).")
    insecure: bool = setting(False, doc="Skip host name verification (testing only).")


@dataclass(frozen=True)
class Subscription:
    """One topic filter written into a fixed signal or a signal named by a topic level."""

    topic: str = setting(doc="Topic filter; + and # wildcards allowed.", minLength=1)
    signal: str | None = setting(None, doc="The signal the payload is written to.", minLength=1)
    signal_from_topic_segment: int | None = setting(
        None, doc="For wildcard topics: the signal name is this topic level (0 = first).", minimum=0)
    value_path: str | None = setting(None, doc="Dotted path into a JSON payload, e.g. temperature.value.")
    data_type: DataType = setting(default=DataType.FLOAT)
    qos: int = setting(0, minimum=0, maximum=2)


@dataclass(frozen=True)
class PublishSetting:
    """One entry of `publish_signals`: a signal and what it overrides of the section's defaults."""

    signal: str = setting(doc="The signal to publish under <topic_prefix>/<signal>.", minLength=1)
    deadband: float | None = setting(
        None, doc="Numeric changes smaller than this are not published; default publish_deadband.", minimum=0)
    qos: int | None = setting(None, doc="QoS of this signal's messages; default qos.", minimum=0, maximum=2)
    retain: bool | None = setting(None, doc="Retain this signal's messages; default retain.")


@dataclass(frozen=True)
class PublishGroup:
    """One entry of `publish_groups`: a JSON object composed of several signals, published on one topic."""

    topic: str = setting(doc="Topic the object is published to, as written (not under topic_prefix).", minLength=1)
    fields: dict[str, str] = setting(
        doc="JSON key -> the signal whose value it carries, in this order; a value of bad quality is null.",
        schema={"type": "object", "additionalProperties": signal_ref(""), "minProperties": 1})
    on: tuple[str, ...] | None = setting(
        None, doc="Signals whose change sends the object; default: every signal in fields.",
        schema=array(signal_ref(""), minItems=1))
    qos: int | None = setting(None, doc="QoS of the group's messages; default qos.", minimum=0, maximum=2)
    retain: bool | None = setting(None, doc="Retain the group's messages; default retain.")


@dataclass(frozen=True)
class MqttSettings:
    """MQTT client: publishes signals, writes subscribed topics into signals."""

    broker_host: str = setting(doc="Host name or IP of the broker.", minLength=1)
    broker_port: int = setting(1883, minimum=1, maximum=65535)
    client_id: str | None = setting(None, doc="MQTT client id; defaults to petra-<node_id>.")
    topic_prefix: str = setting("petra", doc="Prefix of the topics PETRA publishes.")
    username: str | None = None
    password: str | None = None
    tls: TlsConfig | None = None
    keepalive_s: int = setting(60, unit="s", minimum=1, maximum=65535)
    clean_session: bool = setting(True)
    qos: int = setting(1, doc="QoS of published values.", minimum=0, maximum=2)
    retain: bool = setting(False)
    publish_on_change: bool = setting(True, doc="Publish a signal when it changes (else every scan).")
    publish_deadband: float = setting(0.0, doc="Numeric changes smaller than this are not published.", minimum=0)
    status_topic: str | None = setting(None, doc="Online/offline (last will) topic; default <prefix>/status.")
    command_topic: str | None = setting(None, doc="Writes to signals arrive here; default <prefix>/cmd/+.")
    writable_signals: frozenset[str] = setting(frozenset(), doc="Signals the command topic may write.",
                                               schema=array(signal_ref("")))
    buffer_max_messages: int = setting(10000, doc="Messages kept while the broker is down.", minimum=0)
    subscriptions: tuple[Subscription, ...] = setting(())
    publish_signals: tuple[PublishSetting, ...] | None = setting(
        None, doc="Signals to publish, with per-signal deadband, QoS and retain. Absent: every signal "
                  "except those written by MQTT subscriptions, with the section's defaults.")
    publish_groups: tuple[PublishGroup, ...] = setting(
        (), doc="Composite messages: one JSON object of several signals per change of a trigger signal.")
    payload_format: Literal["json", "plain"] = setting(
        "json", doc='Published payloads: {"value","quality","ts"} or the bare value.')
    reconnect_max_s: float = setting(10.0, unit="s", doc="Longest wait between reconnect attempts (doubles from "
                                     "0.1 s).", minimum=0.1)


@dataclass(frozen=True)
class Published:
    """How one signal is published: deadband (0 = every change), QoS and retain."""

    signal: str
    deadband: float
    qos: int
    retain: bool


@dataclass(frozen=True)
class Group:
    """How one composite message is built and sent: `fields` are (JSON key, signal) in order."""

    topic: str
    fields: tuple[tuple[str, str], ...]
    on: frozenset[str]
    qos: int
    retain: bool


@dataclass(frozen=True)
class MqttConfig:
    """Everything the MQTT bridge actor needs: `MqttSettings` with the other-key defaults resolved."""

    broker_host: str
    broker_port: int
    client_id: str
    topic_prefix: str
    username: str | None
    password: str | None
    tls: TlsConfig | None
    keepalive_s: int
    clean_session: bool
    qos: int
    retain: bool
    publish_on_change: bool
    publish_deadband: float
    status_topic: str
    command_topic: str
    writable_signals: frozenset[str]
    buffer_max_messages: int
    subscriptions: tuple[Subscription, ...]
    published: dict[str, Published]
    groups: tuple[Group, ...]
    payload_format: str
    reconnect_max_s: float
    reconnect_min_s: float = 0.1
    """Not a setting: where the reconnect back-off starts."""

    @property
    def driver_id(self) -> str:
        """The child id and metrics label, e.g. ``mqtt:petra-node1``."""
        return f"mqtt:{self.client_id}"

    def topic_of(self, signal: str) -> str:
        return f"{self.topic_prefix}/{signal}" if self.topic_prefix else signal


def subscribed_signals(section: dict[str, Any]) -> set[str]:
    """Signals written by subscriptions with a fixed `signal` (segment ones are dynamic)."""
    return {s["signal"] for s in section.get("subscriptions", []) if "signal" in s}


def build_config(plant_config: PlantConfig) -> MqttConfig | None:
    """The bridge's config, or None when the plant has no `mqtt` section."""
    section: dict[str, Any] | None = plant_config.sections.get("mqtt")
    if not section:
        return None
    settings = parse(MqttSettings, section)
    prefix = settings.topic_prefix.rstrip("/")
    if settings.publish_signals is not None:
        published = {
            p.signal: Published(
                p.signal,
                settings.publish_deadband if p.deadband is None else p.deadband,
                settings.qos if p.qos is None else p.qos,
                settings.retain if p.retain is None else p.retain,
            )
            for p in settings.publish_signals
        }
    else:
        incoming = {s.signal for s in settings.subscriptions if s.signal is not None}
        published = {
            s.name: Published(s.name, settings.publish_deadband, settings.qos, settings.retain)
            for s in plant_config.signals
            if s.name not in incoming and s.group != "mqtt"
        }
    username = settings.username or None
    shared = {f.name: getattr(settings, f.name) for f in dataclasses.fields(MqttConfig) if hasattr(settings, f.name)}
    return MqttConfig(**{
        **shared,
        "client_id": settings.client_id or f"petra-{plant_config.node_id}",
        "topic_prefix": prefix,
        "username": username,
        "password": (settings.password or None) if username else None,
        "status_topic": settings.status_topic or f"{prefix}/status",
        "command_topic": settings.command_topic or f"{prefix}/cmd/+",
        "published": published,
        "groups": tuple(
            Group(g.topic, tuple(g.fields.items()), frozenset(g.on if g.on is not None else g.fields.values()),
                  settings.qos if g.qos is None else g.qos, settings.retain if g.retain is None else g.retain)
            for g in settings.publish_groups),
    })
