"""The typed model of the `mqtt:` section, built from the validated dict (no I/O).

Times are in seconds. Defaults that depend on other keys (client id, status and
command topics, which signals are published) are resolved here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from petra.config.model import PlantConfig
from petra.values import DataType


@dataclass(frozen=True)
class TlsConfig:
    """Broker TLS: the CA that signed the broker's certificate, an optional client pair."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class Subscription:
    """One topic filter written into a fixed signal or a signal named by a topic level."""

    topic: str
    data_type: DataType
    qos: int = 0
    signal: str | None = None
    signal_from_topic_segment: int | None = None
    value_path: str | None = None


@dataclass(frozen=True)
class Published:
    """How one signal is published: deadband (0 = every change), QoS and retain."""

    signal: str
    deadband: float
    qos: int
    retain: bool


@dataclass(frozen=True)
class MqttConfig:
    """Everything the MQTT bridge actor needs."""

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
    payload_format: str = "json"
    reconnect_min_s: float = 0.1
    reconnect_max_s: float = 10.0

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
    prefix = str(section.get("topic_prefix", "petra")).rstrip("/")
    qos, retain = int(section.get("qos", 1)), bool(section.get("retain", False))
    deadband = float(section.get("publish_deadband", 0.0))
    tls_section = section.get("tls")
    tls = None
    if tls_section is not None:
        tls = TlsConfig(
            ca_file=tls_section.get("ca_file"),
            cert_file=tls_section.get("cert_file"),
            key_file=tls_section.get("key_file"),
            insecure=bool(tls_section.get("insecure", False)),
        )
    subscriptions = tuple(
        Subscription(
            topic=s["topic"],
            data_type=DataType(s.get("data_type", "float")),
            qos=int(s.get("qos", 0)),
            signal=s.get("signal"),
            signal_from_topic_segment=s.get("signal_from_topic_segment"),
            value_path=s.get("value_path"),
        )
        for s in section.get("subscriptions", [])
    )
    if "publish_signals" in section:
        published = {
            p["signal"]: Published(
                p["signal"], float(p.get("deadband", deadband)), int(p.get("qos", qos)),
                bool(p.get("retain", retain)),
            )
            for p in section["publish_signals"]
        }
    else:
        incoming = subscribed_signals(section)
        published = {
            s.name: Published(s.name, deadband, qos, retain)
            for s in plant_config.signals
            if s.name not in incoming and s.group != "mqtt"
        }
    username = section.get("username") or None
    return MqttConfig(
        broker_host=section["broker_host"],
        broker_port=int(section.get("broker_port", 1883)),
        client_id=section.get("client_id") or f"petra-{plant_config.node_id}",
        topic_prefix=prefix,
        username=username,
        password=(section.get("password") or None) if username else None,
        tls=tls,
        keepalive_s=int(section.get("keepalive_s", 60)),
        clean_session=bool(section.get("clean_session", True)),
        qos=qos,
        retain=retain,
        publish_on_change=bool(section.get("publish_on_change", True)),
        publish_deadband=deadband,
        status_topic=section.get("status_topic") or f"{prefix}/status",
        command_topic=section.get("command_topic") or f"{prefix}/cmd/+",
        writable_signals=frozenset(section.get("writable_signals", [])),
        buffer_max_messages=int(section.get("buffer_max_messages", 10000)),
        subscriptions=subscriptions,
        published=published,
        payload_format=section.get("payload_format", "json"),
        reconnect_max_s=float(section.get("reconnect_max_s", 10.0)),
    )
