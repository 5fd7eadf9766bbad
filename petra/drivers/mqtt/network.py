"""paho's client as the bridge drives it: a network read's packets at once in, writes from the caller's thread out.

In: paho reads one packet with three or more ``recv`` calls (the command byte,
each byte of the remaining length, then the rest) and, for QoS 0, handles one
packet per pass of its loop (a ``select`` each). `ReadAhead` wraps the socket:
one ``recv`` of up to 64 KiB feeds paho's small reads from memory, and its
``pending()`` (which paho already asks of a TLS socket) says more is waiting.
The complete QoS 0 PUBLISH packets at the head of that buffer are parsed
straight off it (`ReadAhead.publishes`: the fixed header, the topic, the
payload) without paho's per-packet state; anything else, or a packet not
complete yet, is left where it starts for paho's own reader.
`BridgeClient.loop_read` handles every complete packet of that read before it
returns and then calls `on_read_done` once, so the bridge hands a network
read's messages to the signal groups as one batch: one message at a trickle,
thousands in a flood. A QoS 0 message (nothing to acknowledge) goes to
`on_fast_message` as its topic and payload, without the objects, locks, debug
formatting and topic decodes paho spends on each `MQTTMessage`; QoS 1 and 2
take paho's own path (its acknowledgements) to ``on_message``.

Out: ``publish`` from another thread queues the packet and wakes paho's network
thread to write it (a byte on paho's socket pair), a thread hand-off per
message; the wake-up's system call also gives the GIL away, and paho's thread
usually takes it and writes the packet itself. Inside `writing_here()` the
packets this thread publishes are queued without that wake-up and written when
it ends, by this thread; `loop_write` takes the same lock, so the network thread
and a caller never interleave packets. Consecutive QoS 0 publishes queued there
become one out-packet (their bytes joined; each one's info is marked published
when it is written), so a batch of them is one ``send``; inside a
`petra.deferred.batch` (a signal group applying a network read's frames) that is
the whole batch's output. What the socket does not take at once is left to
paho's thread (woken then). Over TLS paho's thread writes, as before (see
`writing_here`).

All of it leans on paho 2.x internals (``_create_socket``, ``_handle_publish``,
``_in_packet``, ``_packet_write``, ``_out_packet``); tests/drivers/test_mqtt_network_thread.py runs them against
Mosquitto.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from petra import deferred

READ_SIZE = 64 * 1024
"""Bytes asked of the socket at once (a TLS socket gives at most one record, 16 KiB)."""
MAX_PACKETS_PER_PASS = 4096
"""Packets handled before paho's loop gets its turn (keep-alive, writes) during a flood."""


class ReadAhead:
    """A socket whose small reads are served from one big ``recv``; everything else goes to the socket."""

    def __init__(self, sock: Any, size: int = READ_SIZE) -> None:
        self._sock = sock
        self._size = size
        self._buffer = b""
        self._position = 0

    def recv(self, bufsize: int) -> bytes:
        position, buffer = self._position, self._buffer
        if position >= len(buffer):
            data: bytes = self._sock.recv(max(bufsize, self._size))
            if len(data) <= bufsize:  # all of it wanted (or the end of the stream, b"")
                return data
            buffer, position = data, 0
            self._buffer = data
        end = position + bufsize
        self._position = end
        return buffer[position:end]

    def buffered(self) -> int:
        """Bytes read from the socket that paho has not taken yet."""
        return max(0, len(self._buffer) - self._position)

    def fill(self) -> bool:
        """One ``recv`` into an empty buffer; False when nothing came (would block, the end, an error: paho's
        own next ``recv`` meets the same and handles it)."""
        if self.buffered():
            return True
        try:
            data: bytes = self._sock.recv(self._size)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return False  # the socket is broken: paho's recv will say so
        if not data:
            return False  # the end of the stream: paho's recv gets b"" too
        self._buffer, self._position = data, 0
        return True

    def publishes(self, deliver: Callable[[str, bytes], None], limit: int) -> int:
        """Hand each complete QoS 0 PUBLISH at the head of the buffer to `deliver(topic, payload)`, at most
        `limit`; stops at anything else (another packet, one not complete yet, a topic that is not UTF-8),
        which paho then reads from where this left off. Returns how many were delivered."""
        buffer, position, end = self._buffer, self._position, len(self._buffer)
        count = 0
        while count < limit and position + 4 <= end and buffer[position] & 0xF6 == 0x30:  # PUBLISH, QoS 0
            length, index, shift = 0, position + 1, 0
            while index < end and shift <= 21:
                byte = buffer[index]
                index += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            else:
                break  # incomplete or malformed length: paho's turn
            stop = index + length
            if stop > end or length < 2:
                break
            topic_end = index + 2 + int.from_bytes(buffer[index:index + 2], "big")
            if topic_end > stop:
                break
            try:
                topic = buffer[index + 2:topic_end].decode("utf-8")
            except UnicodeDecodeError:
                break  # paho's path logs it
            self._position = position = stop
            count += 1
            deliver(topic, buffer[topic_end:stop])
        return count

    def pending(self) -> int:
        """What paho's loop asks before it waits in ``select``: ours, and a TLS socket's own."""
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return self.buffered() + int(inner)

    def fileno(self) -> int:
        return int(self._sock.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class BridgeClient(mqtt.Client):
    """`mqtt.Client` with `ReadAhead` reads, a batch callback per network read and `writing_here`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_lock = threading.Lock()
        self._here = threading.local()  # .active: this thread is inside writing_here()
        self.on_read_done: Callable[[], None] | None = None
        """Called in the network thread after the packets of one network read were handled."""
        self.on_fast_message: Callable[[str, bytes], None] | None = None
        """Called in the network thread with (topic, payload) of each QoS 0 message, instead of on_message."""

    def _handle_publish(self) -> MQTTErrorCode:
        fast = self.on_fast_message
        header = self._in_packet["command"]
        if fast is not None and not header & 0x06 and self._protocol != mqtt.MQTTv5:  # QoS 0, MQTT 3.1.1
            packet = self._in_packet["packet"]
            length = int.from_bytes(packet[:2], "big")
            if 0 < length <= len(packet) - 2:
                try:
                    topic = packet[2:2 + length].decode("utf-8")
                except UnicodeDecodeError:
                    pass  # paho's path logs it
                else:
                    fast(topic, bytes(packet[2 + length:]))
                    return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._handle_publish()

    def _create_socket(self) -> Any:
        return ReadAhead(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        sock = self._sock
        fast = self.on_fast_message
        handled = 0
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        reader = sock if isinstance(sock, ReadAhead) and self._protocol != mqtt.MQTTv5 else None
        if fast is not None and reader is not None and not self._in_packet["command"] and reader.fill():
            handled = reader.publishes(fast, MAX_PACKETS_PER_PASS)  # the QoS 0 messages straight off the buffer
            if handled:
                with self._msgtime_mutex:
                    self._last_bytes_received = mqtt.time_func()  # what paho's keep-alive reads
        if not handled or (reader is not None and reader.buffered()):
            rc = super().loop_read(max_packets)
            handled += 1
        while (rc == MQTTErrorCode.MQTT_ERR_SUCCESS and sock is self._sock and isinstance(sock, ReadAhead)
               and sock.buffered() and handled < MAX_PACKETS_PER_PASS):
            if fast is not None and not self._in_packet["command"]:
                count = sock.publishes(fast, MAX_PACKETS_PER_PASS - handled)
                handled += count
                if count and not sock.buffered():
                    break
            rc = super().loop_read(max_packets)
            handled += 1
        done = self.on_read_done
        if done is not None:
            done()
        return rc

    def loop_write(self) -> MQTTErrorCode:
        with self._write_lock:
            return super().loop_write()

    @contextlib.contextmanager
    def writing_here(self) -> Iterator[None]:
        """Publish inside it: this thread writes the packets when it ends, without waking paho's thread.

        Not over TLS: an OpenSSL connection must not be written in one thread while paho's reads it in
        another, so there ``publish`` wakes paho's thread, as it always does.
        """
        if self._ssl or getattr(self._here, "active", False):
            yield
            return
        self._here.active = True
        if deferred.defer(self, self._end_here):  # inside a batch (`petra.deferred`): its end writes
            yield
            return
        try:
            yield
        finally:
            self._end_here()

    def _end_here(self) -> None:
        self._here.active = False
        self._here.merging = None
        self._write_here()

    def _packet_queue(self, command: int, packet: bytes | bytearray, mid: int, qos: int,
                      info: mqtt.MQTTMessageInfo | None = None) -> MQTTErrorCode:
        here = self._here
        if not getattr(here, "active", False):
            return super()._packet_queue(command, packet, mid, qos, info)
        if qos == 0 and command & 0xF0 == mqtt.PUBLISH and info is not None:
            with self._write_lock:  # paho's thread may be writing the packet we would grow
                merging: tuple[dict[str, Any], _Published] | None = getattr(here, "merging", None)
                if merging is not None and self._out_packet and self._out_packet[-1] is merging[0] \
                        and not merging[0]["pos"]:
                    merging[0]["packet"] += packet  # one send for a run of QoS 0 publishes (the module docstring)
                    merging[0]["to_process"] += len(packet)
                    merging[1].add(info)
                    return MQTTErrorCode.MQTT_ERR_SUCCESS
                published = _Published(info)
                out = {"command": command, "mid": mid, "qos": qos, "pos": 0, "to_process": len(packet),
                       "packet": bytearray(packet), "info": published}
                here.merging = (out, published)
                self._out_packet.append(out)  # type: ignore[arg-type]  # paho's _OutPacket, its packet a run
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        self._out_packet.append({"command": command, "mid": mid, "qos": qos, "pos": 0, "to_process": len(packet),
                                 "packet": packet, "info": info})  # paho's own _OutPacket, without the wake-up
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _write_here(self) -> None:
        if not self._out_packet:
            return
        with self._write_lock:
            # Errors are the network thread's to handle: _packet_write puts the packet back, and paho's
            # loop, woken below, meets the same error and reconnects.
            self._packet_write()
        if self._out_packet and self._sockpairW is not None:  # the socket is full or gone: paho's turn
            with contextlib.suppress(OSError):
                self._sockpairW.send(b"0")


class _Published:
    """The `info` of merged QoS 0 publishes: paho marks it published once, each of them is then."""

    __slots__ = ("_infos",)

    def __init__(self, info: mqtt.MQTTMessageInfo) -> None:
        self._infos = [info]

    def add(self, info: mqtt.MQTTMessageInfo) -> None:
        self._infos.append(info)

    def _set_as_published(self) -> None:
        for info in self._infos:
            info._set_as_published()
