"""The paho 2.2 internals `petra.drivers.mqtt.network.BridgeClient` overrides or reads are still what it expects.

pyproject pins paho-mqtt to the minor version these were read from; this test is
the loud failure for whoever moves that pin.
"""

from __future__ import annotations

import inspect
import re

import paho.mqtt.client as mqtt

OVERRIDDEN = ("_handle_publish", "_create_socket", "_packet_queue", "loop_read", "loop_write")
CALLED = ("_packet_write",)
READ = ("_in_packet", "_out_packet", "_protocol", "_sock", "_ssl", "_sockpairW", "_msgtime_mutex",
        "_last_bytes_received")


def test_the_methods_the_bridge_client_overrides_or_calls_exist() -> None:
    missing = [name for name in OVERRIDDEN + CALLED if not callable(getattr(mqtt.Client, name, None))]
    assert not missing, f"paho no longer has {missing}: petra/drivers/mqtt/network.py must follow"
    parameters = list(inspect.signature(mqtt.Client._packet_queue).parameters)
    assert parameters == ["self", "command", "packet", "mid", "qos", "info"]


def test_the_attributes_it_reads_exist_with_the_packet_shapes_it_builds() -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    assert [name for name in READ if not hasattr(client, name)] == []
    assert {"command", "packet"} <= set(client._in_packet)
    assert callable(mqtt.time_func)  # the clock BridgeClient stamps _last_bytes_received with, as paho does
    # BridgeClient._packet_queue appends paho's own out-packet dict: the same keys paho builds.
    source = inspect.getsource(mqtt.Client._packet_queue)
    built = set(re.findall(r'"(\w+)":', source.split("self._out_packet.append")[0]))
    assert built == {"command", "mid", "qos", "pos", "to_process", "packet", "info"}
