"""A Sparkplug host application for the tests: subscribes ``spBv1.0/#``, decodes with PETRA's proto.

It records every message with its QoS and retain flag (subscribed with QoS 2,
so a message arrives with the QoS it was published with), publishes its own
STATE (retained, QoS 1, 3.0 JSON) and sends NCMD/DCMD.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from petra.drivers.sparkplug import payload as sp


@dataclass
class Received:
    topic: str
    raw: bytes
    qos: int
    retain: bool
    at: float

    @property
    def kind(self) -> str:
        parts = self.topic.split("/")
        return parts[2] if len(parts) > 2 and parts[0] == "spBv1.0" else parts[1] if parts[0] == "spBv1.0" else ""

    @property
    def node(self) -> str:
        parts = self.topic.split("/")
        return parts[3] if len(parts) > 3 else ""

    @property
    def device(self) -> str:
        parts = self.topic.split("/")
        return parts[4] if len(parts) > 4 else ""

    @property
    def payload(self) -> Any:
        return sp.decode(self.raw)


def metric_value(metric: Any) -> Any:
    which = metric.WhichOneof("value")
    if which is None:
        return None
    raw = getattr(metric, which)
    if which == "long_value" and metric.datatype in (0, sp.INT64) and raw >= 1 << 63:
        return raw - (1 << 64)
    return raw


class SparkplugHost:
    """A paho client on `spBv1.0/#`; `host_id` names its STATE topic."""

    def __init__(self, port: int, username: str | None, password: str | None, host_id: str = "scada",
                 client_id: str = "test-host") -> None:
        self.host_id = host_id
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_socket_open = lambda _c, _u, sock: sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self.connected.wait(5):
            raise RuntimeError("test host could not connect")

    def _on_connect(self, client: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe("spBv1.0/#", qos=2)
            self.connected.set()

    def _on_message(self, _c: Any, _u: Any, message: Any) -> None:
        with self.lock:
            self.messages.append(Received(message.topic, bytes(message.payload), message.qos, bool(message.retain),
                                          time.time()))

    def received(self, kind: str | None = None, node: str | None = None, device: str | None = None
                 ) -> list[Received]:
        with self.lock:
            found = list(self.messages)
        return [m for m in found if (kind is None or m.kind == kind) and (node is None or m.node == node)
                and (device is None or m.device == device)]

    def state(self, online: bool) -> None:
        """Publish this host's STATE, retained, QoS 1, as Sparkplug 3.0 hosts do."""
        body = json.dumps({"online": online, "timestamp": int(time.time() * 1000)})
        self.client.publish(f"spBv1.0/STATE/{self.host_id}", body, qos=1, retain=True).wait_for_publish(5)

    def clear_state(self) -> None:
        self.client.publish(f"spBv1.0/STATE/{self.host_id}", b"", qos=1, retain=True).wait_for_publish(5)

    def command(self, group: str, node: str, metrics: list[dict[str, Any]], device: str = "",
                raw: bytes | None = None) -> None:
        """An NCMD (or a DCMD with `device`) of metrics given as {name|alias, datatype, <field>: value}."""
        if raw is None:
            out = sp.Payload(timestamp=int(time.time() * 1000))
            for spec in metrics:
                m = out.metrics.add()
                for key, value in spec.items():
                    setattr(m, key, value)
            raw = out.SerializeToString()
        kind = "DCMD" if device else "NCMD"
        topic = f"spBv1.0/{group}/{kind}/{node}" + (f"/{device}" if device else "")
        self.client.publish(topic, raw, qos=1).wait_for_publish(5)

    def values(self, node: str) -> dict[str, list[tuple[Any, int, bool]]]:
        """Per metric name, every (value, timestamp ms, is_historical) the host saw from `node`, in order,
        aliases resolved from the births."""
        names: dict[int, str] = {}
        out: dict[str, list[tuple[Any, int, bool]]] = {}
        for message in self.received(node=node):
            if message.kind not in ("NBIRTH", "DBIRTH", "NDATA", "DDATA"):
                continue
            for m in message.payload.metrics:
                if m.HasField("name"):
                    names[m.alias] = m.name
                name = m.name if m.HasField("name") else names.get(m.alias, f"alias:{m.alias}")
                if message.kind in ("NDATA", "DDATA"):
                    out.setdefault(name, []).append((metric_value(m), m.timestamp, m.is_historical))
        return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
