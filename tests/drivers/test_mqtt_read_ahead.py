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


def long_publish(topic: bytes, payload: bytes, command: int = 0x30) -> bytes:
    """A PUBLISH of any size: the remaining length as MQTT's variable-length integer."""
    body = len(topic).to_bytes(2, "big") + topic + payload
    length, encoded = len(body), bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([command]) + bytes(encoded) + body


def test_qos_0_publishes_are_taken_straight_off_the_buffer_up_to_the_first_other_packet(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    left, right = pair
    qos0 = [long_publish(b"t/a", b"1"), long_publish(b"t/b", b"x" * 300), long_publish(b"t/c", b"3", 0x31)]
    qos1 = long_publish(b"t/q1", b"\x00\x07" + b"9", 0x32)  # QoS 1: paho's, with its packet id and PUBACK
    left.sendall(b"".join(qos0) + qos1 + long_publish(b"t/d", b"4"))
    sock = ReadAhead(right)
    got: list[tuple[str, bytes]] = []
    assert sock.fill()
    assert sock.publishes(lambda topic, payload: got.append((topic, payload)), limit=100) == 3
    assert got == [("t/a", b"1"), ("t/b", b"x" * 300), ("t/c", b"3")]  # a retained one too (0x31)
    assert read_packet(sock) == qos1  # paho reads the QoS 1 packet from where it starts
    assert sock.publishes(lambda topic, payload: got.append((topic, payload)), limit=100) == 1
    assert got[-1] == ("t/d", b"4") and sock.buffered() == 0


def test_a_publish_not_complete_yet_or_with_a_bad_topic_is_left_for_paho(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    left, right = pair
    packet = long_publish(b"t/split", b"y" * 200)
    left.sendall(packet[:50])
    sock = ReadAhead(right)
    assert sock.fill()
    assert sock.publishes(lambda *_: None, limit=100) == 0
    assert sock.buffered() == 50  # untouched: paho's reader takes it from the start
    bad = long_publish(b"t/\xff", b"1")
    left2, right2 = socket.socketpair()
    try:
        left2.sendall(bad)
        other = ReadAhead(right2)
        assert other.fill() and other.publishes(lambda *_: None, limit=100) == 0 and other.buffered() == len(bad)
    finally:
        left2.close()
        right2.close()


def test_a_limit_stops_the_batch_and_fill_says_when_nothing_came(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    sock = ReadAhead(right)
    assert not sock.fill()  # nothing on the socket: paho's own recv says so
    left.sendall(b"".join(long_publish(b"t", b"%d" % i) for i in range(10)))
    assert sock.fill()
    got: list[bytes] = []
    assert sock.publishes(lambda _topic, payload: got.append(payload), limit=4) == 4
    assert sock.publishes(lambda _topic, payload: got.append(payload), limit=100) == 6
    assert got == [b"%d" % i for i in range(10)]
