"""The MQTT driver: a paho-mqtt 2.x bridge between a broker and the plant's signals.

Files as in every driver folder: `config.py` (typed model of the `mqtt:`
section), `codec.py` (pure topic, payload and deadband logic), `buffer.py`
(bounded outbound buffer), `metrics.py`, `network.py` (paho's client with
reads batched per network read and writes from the caller's thread),
`actor.py` (`MqttBridgeActor`),
`children.py` (its place in the tree), `checks.py` (the signals it writes
and reads, its whole-plant checks), `commands.py` (`petra mqtt ...`).
Importing this package loads none of them: `SECTION` names them.
"""

from __future__ import annotations

from petra.section import Section

__all__ = ["SECTION"]

SECTION = Section(
    name="mqtt",
    supervisor="drivers",
    schemas=(("mqtt", "petra.drivers.mqtt.schema:mqtt_schema"),),
    child_specs="petra.drivers.mqtt.children:child_specs",
    model="petra.drivers.mqtt.config:MqttSettings",
    declares="petra.drivers.mqtt.checks:declare",
    checks="petra.drivers.mqtt.checks:check",
    commands="petra.drivers.mqtt.commands:register",
    reads=("security.allowed_cipher_suites",),  # the broker connection's TLS context
)
