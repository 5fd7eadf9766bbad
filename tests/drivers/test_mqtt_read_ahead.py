"""`ReadAhead`: paho's small reads served from one big recv, on a real socket pair."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from petra.drivers.mqtt.network import ReadAhead


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    right.setblocking(False)
    yield left, right
    left.close()
    right.close()


def publish_packet(topic: bytes, payload: bytes) -> bytes:
    """An MQTT 3.1.1 QoS 0 PUBLISH: command byte, remaining length (one byte here), topic, payload."""
    body = len(topic).to_bytes(2, "big") + topic + payload
    assert len(body) < 128
    return bytes([0x30, len(body)]) + body


def read_packet(sock: ReadAhead) -> bytes:
    """Read one packet the way paho does: the command byte, the length byte, then the rest."""
    command = sock.recv(1)
    length = sock.recv(1)
    rest = b""
    while len(rest) < length[0]:
        rest += sock.recv(length[0] - len(rest))
    return command + length + rest


def test_packets_of_one_network_read_come_from_memory_and_pending_says_how_much_is_left(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    left, right = pair
    packets = [publish_packet(b"t/%d" % i, b"%d" % (i * 1000)) for i in range(3)]
    left.sendall(b"".join(packets))
    sock = ReadAhead(right)
    assert read_packet(sock) == packets[0]  # the first recv took all three
    assert sock.pending() == len(packets[1]) + len(packets[2])
    assert read_packet(sock) == packets[1]
    assert read_packet(sock) == packets[2]
    assert sock.pending() == 0
    with pytest.raises(BlockingIOError):  # nothing buffered, nothing on the socket: as a plain socket says
        sock.recv(1)


def test_a_packet_split_across_two_network_reads_is_read_whole(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    packet = publish_packet(b"plant/temperature", b"21.5" * 10)
    sock = ReadAhead(right)
    left.sendall(packet[:9])
    assert sock.recv(1) == packet[:1]
    assert sock.recv(1) == packet[1:2]
    assert sock.recv(packet[1]) == packet[2:9]  # only what arrived: paho asks again for the rest
    left.sendall(packet[9:])
    assert sock.recv(packet[1] - 7) == packet[9:]
    assert sock.pending() == 0


def test_the_end_of_the_stream_reads_empty_and_other_calls_go_to_the_socket(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    left, right = pair
    sock = ReadAhead(right)
    assert sock.fileno() == right.fileno()
    assert sock.getsockname() == right.getsockname()
    left.close()
    assert sock.recv(1) == b""
