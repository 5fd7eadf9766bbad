"""The MQTT bridge actor: subscriptions in, publish on change out, remote writes, status topic.

Threads: paho's network thread (``loop_start``) owns the socket, runs the
callbacks and routes what arrives (the in path's state is that thread's alone);
publishing runs in the thread that reports the change (the out path's state is
behind one lock); this actor's own thread handles connects, disconnects, the
status and the probes. Whatever is raised in the network thread or while
publishing fails the bridge, and its supervisor restarts it: an exception from
a callback (or from a call paho makes in one, such as a subscribe it refuses,
or from publishing) is logged with its traceback, counted in
``petra_driver_errors`` and fails the actor at once; a network thread that ends
any other way is found by the liveness probe (`check_health`). paho itself
would leave the thread dead and forget it, and the bridge "running" unconnected.

* In: the messages of one network read are decoded in the network thread and
  go to the owning signal groups as one `UpdateSignals` each (`network.py`), so
  the batch grows with the load (1 message at a trickle, thousands in a flood)
  and no other thread stands between the socket and the signal group. A batch
  is split into frames that hold at most one value per signal: a signal's next
  value starts the next frame, and the group applies and announces each frame as
  its own change, so every value is its own change event (an event task
  triggered by it runs for it, in the group's thread) and one message's values
  stay together. A group already 10,000 batches behind gets no more: that batch
  is dropped and counted as errors.
* A payload that cannot be decoded is logged (rate-limited), counted in
  ``petra_driver_errors`` and turns its signal BAD (the last value is kept).
* Connection lost: every signal the bridge writes turns BAD; each turns GOOD
  again with its next message after the reconnect (retained topics deliver one
  right away). paho reconnects with doubling back-off (0.1 s .. ``reconnect_max_s``)
  and this actor re-subscribes on every connect, so neither a clean nor a
  persistent session loses its subscriptions. Bad credentials are refused by the
  broker the same way: logged, counted, retried with the same back-off.
* Out: changes arrive from the `ChangeBus` and are published in the reporting
  thread (a chain's, a signal group's), written to the socket at once rather than
  handed to paho's thread (`BridgeClient.writing_here`); signals in `published` go out under
  ``<topic_prefix>/<signal>`` when they pass their deadband; each publish group
  whose trigger signals an event carries sends one JSON object of its fields (the
  event's values for the slots it carries, the table's for the others). While disconnected
  they wait in a bounded drop-oldest `OutboundBuffer`, sent in order on reconnect.
* Status: ``online`` (retained) on each connect; the broker's last will
  publishes ``offline`` (retained) when the connection dies, and a normal stop
  publishes it itself.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import pykka
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from petra import deferred
from petra.drivers.mqtt import codec
from petra.drivers.mqtt.buffer import OutboundBuffer, Outgoing
from petra.drivers.mqtt.config import Group, MqttConfig, Subscription
from petra.drivers.mqtt.metrics import DriverMetrics
from petra.drivers.mqtt.network import BridgeClient
from petra.messages import SignalsChanged, SignalUpdate, UpdateSignals
from petra.owners import Owner
from petra.paths import group_path
from petra.plant import Plant
from petra.rate_limited_log import RateLimitedLog
from petra.security.tls import client_context, configured_suites
from petra.signal_io import SignalWriter
from petra.values import Quality
from supervision import SupervisedActor

log = logging.getLogger(__name__)

_TOPIC_CACHE_MAX = 10_000
_TOPIC_CACHE_MAX_CHARS = 1_000_000
"""A topic may be 64 KiB long: the cache is bounded in characters too, not only in topics."""
GROUP_BACKLOG_MAX = 10_000
"""Batches a signal group may have waiting before the bridge drops the next (a batch holds at most BATCH_MAX
values)."""
BATCH_MAX = 4096
"""Values in one batch to a group: a flood's network read is split so that no batch grows without bound."""


class NetworkThreadDied(RuntimeError):
    """paho's network thread is not running: the liveness probe fails the bridge with it."""


@dataclass(frozen=True, slots=True)
class _Connected:
    session_present: bool


@dataclass(frozen=True, slots=True)
class _Disconnected:
    reason: str


@dataclass(frozen=True, slots=True)
class _ConnectFailed:
    reason: str


@dataclass(frozen=True, slots=True)
class _PublishAll:
    """Periodic publish of every published signal (``publish_on_change: false``)."""


_PUBLISH_ALL = _PublishAll()


class MqttBridgeActor(SupervisedActor):
    """One broker connection of the plant (``mqtt:<client_id>`` under ``drivers``)."""

    def __init__(self, plant: Plant, config: MqttConfig) -> None:
        super().__init__()
        self.plant = plant
        self.config = config
        self.metrics = DriverMetrics(plant.metrics.registry, config.driver_id)
        self.buffer = OutboundBuffer(config.buffer_max_messages)
        self.connected = False
        self.ever_connected = False
        self.client: BridgeClient | None = None
        self._network: threading.Thread | None = None
        self.writer: SignalWriter | None = None
        self._received: list[tuple[str, bytes]] = []
        self._targets: dict[str, list[tuple[Subscription, str, Owner]]] = {}
        self._targets_chars = 0
        self._in_log = RateLimitedLog(log)  # the network thread's: the in path
        self._out_lock = threading.Lock()
        self._out_log = RateLimitedLog(log)  # under _out_lock: the out path
        self._written: set[str] = {s.signal for s in config.subscriptions if s.signal}
        self._last_published: dict[str, tuple[Any, int]] = {}
        self._bus_subscriber: Any = None
        self._stop_ticker = threading.Event()
        self._rlog = RateLimitedLog(log)
        self._down_logged = True  # the first "connected" is always logged
        table = plant.table
        self._published_owners = {
            table.owners[table.index[name]] for name in config.published if name in table.index
        }
        self._published_slots = frozenset(table.index[name] for name in config.published if name in table.index)
        self._groups = [_GroupPlan.of(group, table.index) for group in config.groups]
        self._published_owners.update(
            table.owners[slot] for group in self._groups for slot in group.on_slots)

    # -- life cycle ----------------------------------------------------------------------------

    def on_start(self) -> None:
        self.writer = SignalWriter(self.plant, self.registry, self.config.driver_id)
        self._mark_bad(self._written)
        if self.config.published or self._groups:
            if self.config.publish_on_change:
                self._bus_subscriber = self.plant.bus.subscribe(self._guarded(self._on_change))
            else:
                threading.Thread(target=self._ticker, name=f"{self.config.driver_id}-ticker", daemon=True).start()
        self.client = self._make_client()
        cfg = self.config
        self.client.connect_async(cfg.broker_host, cfg.broker_port, keepalive=cfg.keepalive_s)
        self.client.loop_start()
        # paho sets its _thread back to None when the thread ends, however it ends: keep our own reference.
        self._network = getattr(self.client, "_thread", None)
        log.info("%s: connecting to %s:%d", cfg.driver_id, cfg.broker_host, cfg.broker_port)

    def _after_exit(self) -> None:
        self._stop_ticker.set()
        if self._bus_subscriber is not None:
            self.plant.bus.unsubscribe(self._bus_subscriber)
        client = self.client
        if client is not None:
            if self.connected:
                info = client.publish(self.config.status_topic, b"offline", qos=1, retain=True)
                with contextlib.suppress(RuntimeError, ValueError):
                    info.wait_for_publish(timeout=1.0)
            client.disconnect()
            client.loop_stop()
        self.metrics.connected.set(0)
        self._mark_bad(self._written)

    def status(self) -> dict[str, object]:
        """Connection state for operators and tests, with the size of each structure outside input feeds
        (every one has a cap, whatever is published)."""
        return {"driver": self.config.driver_id, "connected": self.connected, "buffered": len(self.buffer),
                "topic_cache": len(self._targets), "topic_cache_chars": sum(map(len, list(self._targets))),
                "log_keys": len(self._rlog) + len(self._in_log) + len(self._out_log),
                "inbox": len(self._received)}

    def check_health(self) -> None:
        if self._network is not None and not self._network.is_alive():
            self.metrics.errors.inc()
            raise NetworkThreadDied(f"{self.config.driver_id}: paho's network thread is not running")

    def _make_client(self) -> BridgeClient:
        cfg = self.config
        client = BridgeClient(
            CallbackAPIVersion.VERSION2, client_id=cfg.client_id, clean_session=cfg.clean_session,
            protocol=mqtt.MQTTv311,
        )
        if cfg.username:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls is not None:
            client.tls_set_context(client_context(
                cfg.tls.ca_file, cfg.tls.cert_file, cfg.tls.key_file, configured_suites(self.plant.config),
                verify_hostname=not cfg.tls.insecure))
            client.tls_insecure_set(cfg.tls.insecure)
        client.will_set(cfg.status_topic, b"offline", qos=1, retain=True)
        # paho annotates the delays as int, but only compares and doubles them: 0.1 s works as meant.
        client.reconnect_delay_set(cfg.reconnect_min_s, cfg.reconnect_max_s)  # type: ignore[arg-type]
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(max(cfg.buffer_max_messages, 1000))
        client.on_socket_open = self._guarded(_set_nodelay)
        client.on_connect = self._guarded(self._on_connect)
        client.on_connect_fail = self._guarded(self._on_connect_fail)
        client.on_disconnect = self._guarded(self._on_disconnect)
        client.on_message = self._guarded(self._on_message)
        client.on_fast_message = self._receive  # appends to a list: nothing to guard
        client.on_read_done = self._guarded(self._on_read_done)
        return client

    def _guarded(self, callback: Callable[..., None]) -> Callable[..., None]:
        """`callback` as paho's network thread runs it: whatever it raises fails the bridge, visibly."""
        def run(*args: Any) -> None:
            try:
                callback(*args)
            except Exception as exc:
                self.metrics.errors.inc()
                log.error("%s: %s in paho's network thread: %s; the bridge fails and is restarted",
                          self.config.driver_id, type(exc).__name__, exc, exc_info=exc)
                self.fail(exc)
        return run

    # -- paho's network thread: connection events are told to the actor; messages are routed here -------

    def _on_connect(self, client: mqtt.Client, _userdata: object, flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self._tell(_ConnectFailed(str(reason)))
            return
        topics = [(s.topic, s.qos) for s in self.config.subscriptions]
        if self.config.writable_signals:
            topics.append((self.config.command_topic, 1))
        if topics:
            client.subscribe(topics)
        client.publish(self.config.status_topic, b"online", qos=1, retain=True)
        self._tell(_Connected(bool(flags.session_present)))

    def _tell(self, message: object) -> None:
        with contextlib.suppress(pykka.ActorDeadError):  # paho may call back while we stop
            self.actor_ref.tell(message)

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: object) -> None:
        self._tell(_ConnectFailed("broker unreachable"))

    def _on_disconnect(self, _client: mqtt.Client, _userdata: object, _flags: Any, reason: Any, _p: Any) -> None:
        self._tell(_Disconnected(str(reason)))

    def _receive(self, topic: str, payload: bytes) -> None:
        """A QoS 0 message (`BridgeClient.on_fast_message`): routed with the rest of its network read."""
        self._received.append((topic, payload))

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        # QoS 1 and 2. paho types the payload bytes | bytearray; a received one is bytes.
        self._received.append((message.topic, message.payload))  # type: ignore[arg-type]

    def _on_read_done(self) -> None:
        if self._received:
            batch, self._received = self._received, []
            with deferred.batch():  # what the read's changes publish (in this thread) leaves in one write
                self._route(batch)

    def _ticker(self) -> None:
        while not self._stop_ticker.wait(self.plant.scan_time_s):
            self._tell(_PUBLISH_ALL)

    # -- the actor thread ------------------------------------------------------------------------

    def on_receive(self, message: object) -> object:
        if isinstance(message, _Connected):
            self._handle_connected(message)
        elif isinstance(message, _Disconnected):
            self._handle_disconnected(message.reason)
        elif isinstance(message, _ConnectFailed):
            self.metrics.errors.inc()
            self._rlog.warning("connect", "%s: cannot connect to %s:%d: %s", self.config.driver_id,
                               self.config.broker_host, self.config.broker_port, message.reason)
        elif isinstance(message, _PublishAll):
            self._publish_all()
        else:
            return super().on_receive(message)
        return None

    def _handle_connected(self, event: _Connected) -> None:
        if self.ever_connected:
            self.metrics.reconnects.inc()
        self.ever_connected = True
        self.metrics.connected.set(1)
        if self._down_logged:  # the log must not end on a "lost" line while the broker is back
            log.info("%s: connected to %s:%d (session present: %s)", self.config.driver_id,
                     self.config.broker_host, self.config.broker_port, event.session_present)
            self._down_logged = False
        with self._writing_here(), self._out_lock:
            self.connected = True
            self._drain_buffer()

    def _handle_disconnected(self, reason: str) -> None:
        if not self.connected:
            return
        with self._out_lock:
            self.connected = False
        self.metrics.connected.set(0)
        self.metrics.errors.inc()
        self._down_logged = self._rlog.warning(
            "down", "%s: connection lost (%s); %d signal(s) bad until their next message", self.config.driver_id,
            reason, len(self._written))
        self._mark_bad(self._written)

    def _mark_bad(self, names: set[str]) -> None:
        if self.writer is None:
            return
        known = [n for n in list(names) if n in self.plant.table.index]  # list(): the network thread adds to it
        if known:
            self.writer.mark_bad(known)

    # -- in (the network thread): route the messages of one network read ------------------------------

    def _route(self, batch: list[tuple[str, bytes]]) -> None:
        cfg = self.config
        self.metrics.messages_in.inc(len(batch))
        table = self.plant.table
        command_filter = cfg.command_topic if cfg.writable_signals else None
        targets_of = self._targets
        decode = codec.decode
        batches: dict[Owner, _Batch] = {}
        for topic, payload in batch:
            try:
                if command_filter is not None and codec.topic_matches(command_filter, topic):
                    self._command(topic, payload)
                    continue
                targets = targets_of.get(topic)
                if targets is None:
                    targets = self._resolve(topic)
            except Exception as exc:  # one message, whatever it holds, is one counted error and no more
                self.metrics.errors.inc()
                self._in_log.warning("message", "%s: cannot handle the message on '%s': %s", cfg.driver_id,
                                     topic[:200], exc)
                continue
            for sub, name, owner in targets:
                try:
                    update = SignalUpdate(name, decode(payload, sub.data_type, sub.value_path))
                except codec.PayloadError as exc:
                    self.metrics.errors.inc()
                    self._in_log.warning(f"payload:{name}", "%s: bad payload on '%s' for signal '%s': %s",
                                         cfg.driver_id, topic[:200], name, exc)
                    update = SignalUpdate(name, table.values[table.index[name]], Quality.BAD)
                pending = batches.get(owner)
                if pending is None:
                    batches[owner] = pending = _Batch()
                elif len(pending.updates) >= BATCH_MAX:
                    self._deliver(owner, pending)
                    batches[owner] = pending = _Batch()
                pending.add(update)
        for owner, pending in batches.items():
            self._deliver(owner, pending)

    def _deliver(self, owner: Owner, pending: _Batch) -> None:
        """Deliver the owning group its batch (applied in this thread while the group is idle), unless it is too
        far behind (then the batch is dropped, counted)."""
        updates = pending.updates
        ref = self.registry.get(group_path(owner.name))
        deliver = self.plant.deliver.get(owner.name)
        lost = ref is None or deliver is None
        if ref is not None and deliver is not None:
            backlog = ref.actor_inbox.qsize()  # type: ignore[attr-defined]  # pykka's is a queue.Queue
            if backlog >= GROUP_BACKLOG_MAX:
                self.metrics.errors.inc(len(updates))
                self._in_log.warning("behind", "%s: signal group '%s' has %d batches waiting; dropped %d "
                                     "message value(s)", self.config.driver_id, owner.name, backlog, len(updates))
                return
            try:
                deliver(UpdateSignals(tuple(updates), self.config.driver_id, tuple(pending.frames)))
            except pykka.ActorDeadError:
                lost = True
        if lost:
            self.metrics.errors.inc(len(updates))
            self._in_log.warning("lost", "%s: signal group not reachable for %s", self.config.driver_id,
                                 [u.name for u in updates[:5]])

    def _resolve(self, topic: str) -> list[tuple[Subscription, str, Owner]]:
        """The (subscription, signal, its owner) a topic feeds; unknown signal names are counted once."""
        table = self.plant.table
        targets: list[tuple[Subscription, str, Owner]] = []
        for sub in self.config.subscriptions:
            if not codec.topic_matches(sub.topic, topic):
                continue
            if sub.signal is not None:
                slot = table.index.get(sub.signal)
                if slot is not None:
                    targets.append((sub, sub.signal, table.owners[slot]))
                continue
            try:
                name = codec.segment(topic, sub.signal_from_topic_segment or 0)
            except codec.TopicError as exc:
                self.metrics.errors.inc()
                self._in_log.warning(f"topic:{sub.topic}", "%s: %s", self.config.driver_id, exc)
                continue
            slot = table.index.get(name)
            if slot is None or table.owners[slot].is_chain:
                self.metrics.errors.inc()
                why = "no such signal" if slot is None else "it is written by block logic"
                self._in_log.warning(f"topic:{sub.topic}", "%s: topic '%s' names signal '%s' but %s; ignored",
                                     self.config.driver_id, topic, name, why)
                continue
            targets.append((sub, name, table.owners[slot]))
            self._written.add(name)
        if len(self._targets) >= _TOPIC_CACHE_MAX or self._targets_chars + len(topic) > _TOPIC_CACHE_MAX_CHARS:
            self._targets.clear()
            self._targets_chars = 0
        self._targets[topic] = targets
        self._targets_chars += len(topic)
        return targets

    def _command(self, topic: str, payload: bytes) -> None:
        cfg = self.config
        table = self.plant.table
        try:
            name, raw = codec.command_target(cfg.command_topic, topic, payload)
        except codec.PayloadError as exc:
            self.metrics.errors.inc()
            self._in_log.warning("command", "%s: bad command on '%s': %s", cfg.driver_id, topic[:200], exc)
            return
        slot = table.index.get(name)
        if (name not in cfg.writable_signals or slot is None or not table.specs[slot].writable
                or table.owners[slot].is_chain):
            self.metrics.refused.inc()
            self._in_log.warning("refused", "%s: refused remote write to '%s' on '%s': not in "
                               "writable_signals (or not writable)", cfg.driver_id, name[:200], topic[:200])
            return
        try:
            value = codec.to_value(raw, table.types[slot])
        except codec.PayloadError as exc:
            self.metrics.errors.inc()
            self._in_log.warning(f"command:{name}", "%s: bad value for '%s' on '%s': %s", cfg.driver_id,
                               name, topic, exc)
            return
        assert self.writer is not None
        self.writer.write([SignalUpdate(name, value)])

    # -- out (the reporting thread, under _out_lock): publish on change -------------------------------

    def _on_change(self, event: SignalsChanged) -> None:
        if event.owner not in self._published_owners:  # a set test: most of a big plant's events end here
            return
        with self._writing_here(), self._out_lock:
            for change in event.only(self._published_slots):
                self._publish(change.name, change.value, change.quality, change.timestamp)
            if self._groups:
                self._publish_groups(event)

    def _publish_all(self) -> None:
        table = self.plant.table
        with self._writing_here(), self._out_lock:
            for name in self.config.published:
                slot = table.index.get(name)
                if slot is not None:
                    self._send(name, table.values[slot], Quality(table.quality[slot]), table.timestamps[slot])
            for group in self._groups:
                self._send_group(group, {})

    def _writing_here(self) -> contextlib.AbstractContextManager[None]:
        """This thread writes what it publishes inside (`BridgeClient.writing_here`)."""
        client = self.client
        return client.writing_here() if client is not None else contextlib.nullcontext()

    def _publish(self, name: str, value: Any, quality: Quality, timestamp: float) -> None:
        options = self.config.published.get(name)
        if options is None:
            return
        if not codec.passes_deadband(self._last_published.get(name), value, quality, options.deadband):
            return
        self._send(name, value, quality, timestamp)

    def _send(self, name: str, value: Any, quality: Quality, timestamp: float) -> None:
        options = self.config.published[name]
        self._last_published[name] = (value, quality)
        out = Outgoing(self.config.topic_of(name), codec.encode(value, quality, timestamp, self.config.payload_format),
                       options.qos, options.retain)
        if not self.connected:
            self._buffer(out)
            return
        self._transmit(out)

    def _publish_groups(self, event: SignalsChanged) -> None:
        """One message per group that `event` triggers, with the event's values for the slots it carries."""
        carried: dict[int, tuple[Any, int]] | None = None
        for group in self._groups:
            if group.on_slots.isdisjoint(event.slots):
                continue
            if carried is None:  # later columns of a slot win: the event's last value of it
                carried = dict(zip(event.slots, zip(event.values, event.qualities, strict=True), strict=True))
            self._send_group(group, carried)

    def _send_group(self, group: _GroupPlan, carried: dict[int, tuple[Any, int]]) -> None:
        table = self.plant.table
        fields: list[tuple[str, Any, int]] = []
        for key, slot in group.fields:
            if slot is None:
                fields.append((key, None, Quality.BAD))
                continue
            value, quality = carried.get(slot) or (table.values[slot], table.quality[slot])
            fields.append((key, value, quality))
        out = Outgoing(group.topic, codec.encode_object(fields), group.qos, group.retain)
        if not self.connected:
            self._buffer(out)
            return
        self._transmit(out)

    def _transmit(self, out: Outgoing) -> bool:
        """Hand one message to paho; False when it had to go back to the buffer."""
        assert self.client is not None
        rc = self.client.publish(out.topic, out.payload, qos=out.qos, retain=out.retain).rc
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self.metrics.messages_out.inc()
            return True
        if rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            if out.qos == 0:  # QoS 1/2 stay in paho's own queue and go out after the reconnect
                self._buffer(out)
                return False
            self.metrics.messages_out.inc()
            return True
        self.metrics.dropped.inc()  # MQTT_ERR_QUEUE_SIZE: paho's bounded queue is full
        return True

    def _buffer(self, out: Outgoing) -> None:
        dropped = self.buffer.push(out)
        if dropped:
            self.metrics.dropped.inc(dropped)
            self._out_log.warning("buffer", "%s: outbound buffer full (%d); dropping the oldest messages",
                               self.config.driver_id, self.buffer.max_messages)
        self.metrics.buffer_depth.set(len(self.buffer))

    def _drain_buffer(self) -> None:
        sent = 0
        while self.connected:
            out = self.buffer.pop()
            if out is None:
                break
            if not self._transmit(out):
                break
            sent += 1
        self.metrics.buffer_depth.set(len(self.buffer))
        if sent:
            log.info("%s: sent %d buffered message(s)", self.config.driver_id, sent)


class _Batch:
    """One group's share of a network read: its updates, split into frames so that no frame holds two values
    of one signal (a signal's next value starts the next frame: each value is its own change)."""

    __slots__ = ("_names", "frames", "updates")

    def __init__(self) -> None:
        self.updates: list[SignalUpdate] = []
        self.frames: list[int] = []
        self._names: set[str] = set()

    def add(self, update: SignalUpdate) -> None:
        if update.name in self._names:
            self.frames.append(len(self.updates))
            self._names = set()
        self._names.add(update.name)
        self.updates.append(update)


@dataclass(frozen=True, slots=True)
class _GroupPlan:
    """A publish group resolved to table slots (None: a signal the table does not have, published null)."""

    topic: str
    fields: tuple[tuple[str, int | None], ...]
    on_slots: frozenset[int]
    qos: int
    retain: bool

    @classmethod
    def of(cls, group: Group, index: dict[str, int]) -> _GroupPlan:
        on = frozenset(index[name] for name in group.on if name in index)
        return cls(group.topic, tuple((key, index.get(name)) for key, name in group.fields), on,
                   group.qos, group.retain)


def _set_nodelay(_client: mqtt.Client, _userdata: object, sock: Any) -> None:
    """paho leaves Nagle on: small messages would wait for the next packet (ms of latency)."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
