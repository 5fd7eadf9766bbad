"""A batch's QoS 0 publishes leave in one write, in order, all of them (against a real Mosquitto).

Inside `petra.deferred.batch()` (a signal group applying a network read's frames)
the bridge client's publishes are joined into one out-packet and written when
the batch ends: one ``send`` for the batch instead of one per message.
"""

from __future__ import annotations

import itertools
import socket

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from petra import deferred
from petra.drivers.mqtt.network import BridgeClient
from tests.helpers import wait_until
from tests.peers.mosquitto import Mosquitto, MqttPeer, mosquitto  # noqa: F401  (fixture)


@pytest.fixture
def client(mosquitto: Mosquitto):  # noqa: F811
    bridge = BridgeClient(CallbackAPIVersion.VERSION2, client_id="batched-writes", protocol=mqtt.MQTTv311)
    bridge.username_pw_set(mosquitto.username, mosquitto.password)
    bridge.on_socket_open = lambda _c, _u, sock: sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bridge.connect("127.0.0.1", mosquitto.port)
    bridge.loop_start()
    wait_until(bridge.is_connected)
    yield bridge
    bridge.disconnect()
    bridge.loop_stop()


def subscribed(peer: MqttPeer, client: BridgeClient) -> None:
    """Until the peer hears a probe, the broker may not have taken its subscription."""
    probes = itertools.count()
    wait_until(lambda: client.publish("batch/probe", str(next(probes))) and bool(peer.payloads("batch/probe")))


def test_a_batch_of_publishes_is_one_out_packet_written_at_the_end_in_order(
    mosquitto: Mosquitto, client: BridgeClient  # noqa: F811
) -> None:
    peer = MqttPeer(mosquitto, topics=("batch/#",))
    try:
        subscribed(peer, client)
        infos = []
        with deferred.batch():
            for number in range(2000):
                with client.writing_here():  # what the bridge does for each change it publishes
                    infos.append(client.publish("batch/n", str(number).encode(), qos=0))
            assert len(client._out_packet) == 1  # joined, and not written before the batch ends
        wait_until(lambda: len(peer.payloads("batch/n")) == 2000)
        assert [int(p) for p in peer.payloads("batch/n")] == list(range(2000))
        assert all(info.is_published() for info in infos)
    finally:
        peer.close()


def test_qos_1_publishes_inside_a_batch_keep_their_own_packets_and_arrive(
    mosquitto: Mosquitto, client: BridgeClient  # noqa: F811
) -> None:
    peer = MqttPeer(mosquitto, topics=("batch/#",))
    try:
        subscribed(peer, client)
        with deferred.batch():
            for number in range(50):
                with client.writing_here():
                    client.publish("batch/q1", str(number).encode(), qos=1)
                    client.publish("batch/q0", str(number).encode(), qos=0)
        wait_until(lambda: len(peer.payloads("batch/q1")) == 50 and len(peer.payloads("batch/q0")) == 50)
        assert [int(p) for p in peer.payloads("batch/q1")] == list(range(50))
        assert [int(p) for p in peer.payloads("batch/q0")] == list(range(50))
    finally:
        peer.close()
