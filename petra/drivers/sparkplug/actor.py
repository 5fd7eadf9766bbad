"""The Sparkplug B edge node actor: one MQTT session per bdSeq, births, data by exception, commands, STATE.

Threads: paho's network thread runs the callbacks and only tells this actor
what happened (connected, lost, a STATE or command message); changes are
published in the thread that reports them (`ChangeBus`), under `_out_lock`,
which also orders ``seq``; this actor's thread makes sessions, sends births,
runs commands (a write waits for the owning group's answer) and the
store-and-forward steps.

Sessions: every MQTT session gets the next ``bdSeq`` (kept in the state
directory) and a will that is the NDEATH carrying it (QoS 1, not retained). A
lost session is not resumed by paho with the old will: the client is dropped
and a new session (next bdSeq) connects. Births (seq 0 for the NBIRTH, then the
DBIRTHs) and data are QoS 0 and not retained. A rebirth request
(``Node Control/Rebirth``) sends the births again in the same session, same
bdSeq. A graceful stop publishes the NDEATH (QoS 1, waited for) before it
disconnects.

Primary host: with ``primary_host_id`` the node subscribes to its STATE and
sends births only while it is online; when it goes offline the node publishes
its NDEATH, disconnects and connects a new session that waits for the host.
Whenever live reporting stops (host offline, session lost) and the plant has a
WAL, a store-and-forward range opens (`forward.py`); the next birth closes it
and its samples follow the birth, flagged is_historical, in WAL order, read
through the node's own WAL cursor (``sparkplug``), which follows the head while
the node reports live.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import pykka
from paho.mqtt.enums import CallbackAPIVersion

from petra import paths
from petra.drivers.mqtt.codec import passes_deadband
from petra.drivers.sparkplug import births, forward
from petra.drivers.sparkplug import payload as sp
from petra.drivers.sparkplug.commands import Catalogue, parse_command
from petra.drivers.sparkplug.metrics import SparkplugMetrics
from petra.drivers.sparkplug.sequence import NodeState, Sequence
from petra.drivers.sparkplug.settings import SparkplugConfig
from petra.drivers.sparkplug.state import HostWatch, StateError, parse_state, state_topics
from petra.messages import SignalsChanged
from petra.plant import Plant
from petra.rate_limited_log import RateLimitedLog
from petra.security.roles import Principal
from petra.security.tls import client_context, configured_suites
from petra.values import Quality
from petra.wiring import Wiring
from supervision import SupervisedActor

log = logging.getLogger(__name__)

WAL_TIMEOUT_S = 5.0
BACKFILL_GRACE_S = 0.2
"""After a birth, how long changes stamped before it may still be on their way into the WAL's queue."""
FOLLOW_S = 5.0
"""How often the WAL cursor is moved to the head while the node reports live and nothing is pending."""


@dataclass(frozen=True, slots=True)
class _Connected:
    session: int
    failed: str | None = None


@dataclass(frozen=True, slots=True)
class _Lost:
    session: int
    reason: str


@dataclass(frozen=True, slots=True)
class _Message:
    session: int
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class _Backfill:
    start: bool = False


@dataclass(frozen=True, slots=True)
class _Follow:
    pass


def _us(seconds: float) -> int:
    return round(seconds * 1e6)


class SparkplugNode(SupervisedActor):
    """``sparkplug:<edge_node_id>`` under ``services``."""

    def __init__(self, plant: Plant, config: SparkplugConfig, wiring: Wiring) -> None:
        super().__init__()
        self.plant = plant
        self.config = config
        self.wiring = wiring
        s = config.settings
        self.metrics = SparkplugMetrics(plant.metrics.registry, f"{config.group_id}/{config.edge_node_id}")
        self.host = HostWatch()
        self.need_host = s.primary_host_id is not None
        self.state_topics = state_topics(s.primary_host_id) if s.primary_host_id else ()
        self.has_wal = bool(plant.config.sections.get("storage"))
        table = plant.table
        self.catalogue = Catalogue(config, {n: table.types[table.index[n]] for n in config.metrics
                                            if n in table.index})
        self._slots = frozenset(table.index[n] for n in config.metrics if n in table.index)
        self._owners = {table.owners[slot] for slot in self._slots}
        self._out_lock = threading.Lock()
        self._seq = Sequence()
        self._born = False  # under _out_lock: births sent in this session, live data flows
        self._live_from_us = 0  # under _out_lock: changes stamped before the last birth are not live data
        self._last: dict[str, tuple[Any, int]] = {}
        self.client: mqtt.Client | None = None
        self.session = 0
        self.bdseq = -1
        self.connected = False
        self.state: NodeState | None = None
        self.forwarder: forward.Forwarder | None = None
        self._bus_subscriber: Any = None
        self._rlog = RateLimitedLog(log)
        self._backfill_timer: threading.Timer | None = None
        self._follow_timer: threading.Timer | None = None
        self._stopping = False
        self._gathered: dict[str, list[tuple[str, Any, int, float]]] = {}  # under _out_lock (coalesce_ms)
        self._gather_wake = threading.Event()
        self._gatherer: threading.Thread | None = None
        self._network: threading.Thread | None = None
        self.principal = Principal(f"sparkplug:{s.host_identity}", config.host_role, "sparkplug",
                                   f"{s.broker_host}:{s.broker_port}")

    # -- life cycle ----------------------------------------------------------------------------------

    def on_start(self) -> None:
        self.state = NodeState(self.config.settings.state_dir)
        self.forwarder = forward.Forwarder(self.config, self.state, self._wal(), self._send_historical,
                                           self.metrics.lost.inc)
        self.metrics.pending.set(1 if self.state.pending else 0)
        if self.need_host and not self.has_wal:
            log.warning("%s: no storage section, so nothing is kept while primary host '%s' is offline",
                        self.config.driver_id, self.config.settings.primary_host_id)
        if self.config.settings.coalesce_ms > 0:
            self._gatherer = threading.Thread(target=self._gather_loop, name=f"{self.config.driver_id}-gather",
                                              daemon=True)
            self._gatherer.start()
        self._bus_subscriber = self.plant.bus.subscribe(self._on_change)
        self._new_session()

    def release(self) -> None:
        self._stopping = True
        if self._bus_subscriber is not None:
            self.plant.bus.unsubscribe(self._bus_subscriber)
            self._bus_subscriber = None
        for timer in (self._backfill_timer, self._follow_timer):
            if timer is not None:
                timer.cancel()
        self._gather_wake.set()
        if self._gatherer is not None:
            self._gatherer.join(timeout=5)
        self._end_session(graceful=True)
        self.metrics.connected.set(0)

    def check_health(self) -> None:
        network = self._network
        if network is not None and not network.is_alive() and self.client is not None:
            self.metrics.errors.inc()
            raise RuntimeError(f"{self.config.driver_id}: paho's network thread is not running")
        if self._gatherer is not None and not self._gatherer.is_alive() and not self._stopping:
            raise RuntimeError(f"{self.config.driver_id}: the coalescing thread is not running")

    def status(self) -> dict[str, object]:
        return {"driver": self.config.driver_id, "connected": self.connected, "born": self._born,
                "bdseq": self.bdseq, "host_online": self.host.online, "pending": self.state.pending
                if self.state else None}

    def _new_session(self) -> None:
        assert self.state is not None
        s = self.config.settings
        self.session += 1
        session = self.session
        self.bdseq = self.state.next_bdseq()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.config.client_id, clean_session=True,
                             protocol=mqtt.MQTTv311)
        if s.username:
            client.username_pw_set(s.username, s.password or None)
        if s.tls is not None:
            client.tls_set_context(client_context(
                s.tls.ca_file, s.tls.cert_file, s.tls.key_file, configured_suites(self.plant.config),
                verify_hostname=not s.tls.insecure))
            client.tls_insecure_set(s.tls.insecure)
        client.will_set(self.config.topic("NDEATH"), births.node_death(self.bdseq, time.time()), qos=1, retain=False)
        client.reconnect_delay_set(1, max(1, round(s.reconnect_max_s)))
        client.max_inflight_messages_set(1000)
        client.on_socket_open = _set_nodelay
        client.on_connect = lambda c, u, flags, reason, p: self._on_connect(session, c, reason)
        client.on_connect_fail = lambda c, u: self._tell(_Connected(session, "broker unreachable"))
        client.on_disconnect = lambda c, u, f, reason, p: self._tell(_Lost(session, str(reason)))
        client.on_message = lambda c, u, message: self._tell(_Message(session, message.topic,
                                                                      bytes(message.payload)))
        self.client = client
        client.connect_async(s.broker_host, s.broker_port, keepalive=s.keepalive_s)
        client.loop_start()
        self._network = getattr(client, "_thread", None)  # paho forgets it when the thread ends
        if self._network is not None:
            self._network.name = f"{self.config.driver_id}-paho"  # petra.threads: a Sparkplug node's, not a bridge's
        log.info("%s: session %d (bdSeq %d) connecting to %s:%d", self.config.driver_id, session, self.bdseq,
                 s.broker_host, s.broker_port)

    def _end_session(self, graceful: bool) -> None:
        """Drop the current client; `graceful`: publish the NDEATH first (and wait for it)."""
        client, self.client = self.client, None
        if client is None:
            return
        with self._out_lock:
            self._flush_gathered()
            was_connected = self.connected
            self._born = False
            self.connected = False
        if graceful and was_connected:
            info = client.publish(self.config.topic("NDEATH"), births.node_death(self.bdseq, time.time()), qos=1,
                                  retain=False)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=2.0)
            self.metrics.sent("NDEATH")
        self._network = None
        client.disconnect()
        client.loop_stop()

    def _tell(self, message: object) -> None:
        with contextlib.suppress(pykka.ActorDeadError):
            self.actor_ref.tell(message)

    # -- paho's network thread ------------------------------------------------------------------------

    def _on_connect(self, session: int, client: mqtt.Client, reason: Any) -> None:
        if reason.is_failure:
            self._tell(_Connected(session, str(reason)))
            return
        topics = [(self.config.topic("NCMD"), 1), (self.config.topic("DCMD") + "/+", 1)]
        topics += [(topic, 1) for topic in self.state_topics]
        client.subscribe(topics)
        self._tell(_Connected(session))

    # -- the actor thread -----------------------------------------------------------------------------

    def on_receive(self, message: object) -> object:
        if isinstance(message, _Message):
            if message.session == self.session:
                self._handle_message(message.topic, message.payload)
        elif isinstance(message, _Connected):
            self._handle_connected(message)
        elif isinstance(message, _Lost):
            self._handle_lost(message)
        elif isinstance(message, _Backfill):
            self._backfill(message.start)
        elif isinstance(message, _Follow):
            self._follow()
        else:
            return super().on_receive(message)
        return None

    def _handle_connected(self, event: _Connected) -> None:
        if event.session != self.session:
            return
        if event.failed is not None:
            self.metrics.errors.inc()
            self._rlog.warning("connect", "%s: cannot connect: %s", self.config.driver_id, event.failed)
            return
        with self._out_lock:
            self.connected = True
        self.metrics.connected.set(1)
        log.info("%s: connected (session %d, bdSeq %d)", self.config.driver_id, self.session, self.bdseq)
        if not self.need_host or self.host.online:
            self._birth()

    def _handle_lost(self, event: _Lost) -> None:
        if event.session != self.session or self._stopping:
            return
        self.metrics.errors.inc()
        self.metrics.connected.set(0)
        self._rlog.warning("lost", "%s: session %d lost (%s); a new session follows", self.config.driver_id,
                           self.session, event.reason)
        self._stop_live()
        self._end_session(graceful=False)
        self._new_session()

    def _handle_message(self, topic: str, payload: bytes) -> None:
        if topic in self.state_topics:
            self._handle_state(payload)
            return
        node_cmd = self.config.topic("NCMD")
        device_prefix = self.config.topic("DCMD") + "/"
        if topic == node_cmd:
            self._command(payload, "")
        elif topic.startswith(device_prefix):
            self._command(payload, topic[len(device_prefix):])

    def _handle_state(self, payload: bytes) -> None:
        try:
            state = parse_state(payload)
        except StateError as exc:
            self.metrics.errors.inc()
            self._rlog.warning("state", "%s: ignored a STATE message: %s", self.config.driver_id, exc)
            return
        if state is None or not self.host.update(state):
            return
        self.metrics.host_online.set(1 if state.online else 0)
        log.info("%s: primary host '%s' is %s", self.config.driver_id, self.config.settings.primary_host_id,
                 "online" if state.online else "offline")
        if state.online:
            if self.connected and not self._born:
                self._birth()
        elif self.connected:
            # Sparkplug 3.0: the host went away, so the node says it is dead and waits for it in a new session.
            self._stop_live()
            self._end_session(graceful=True)
            self._new_session()

    def _stop_live(self) -> None:
        with self._out_lock:
            self._flush_gathered()
            was_born, self._born = self._born, False
        if not was_born or not self.has_wal or self.state is None:
            return
        if self._follow_timer is not None:
            self._follow_timer.cancel()
            self._follow_timer = None
        if self.state.pending is None:
            self._commit_head()  # when the WAL is restarting the cursor stays where it last followed
        forward.open_range(self.state, _us(time.time()))
        self.metrics.pending.set(1)

    # -- births and data ------------------------------------------------------------------------------

    def _birth(self) -> None:
        client = self.client
        if client is None:
            return
        table = self.plant.table
        with self._out_lock:
            now = time.time()
            self._live_from_us = _us(now)
            out = births.node_birth(self.config, table, self.bdseq, self._seq.reset(), now)
            client.publish(self.config.topic("NBIRTH"), out.SerializeToString(), qos=0, retain=False)
            self.metrics.sent("NBIRTH")
            for device in self.config.devices:
                out = births.device_birth(self.config, table, device, self._seq.next(), now)
                client.publish(self.config.topic("DBIRTH", device), out.SerializeToString(), qos=0, retain=False)
                self.metrics.sent("DBIRTH")
            self._last = {name: (table.values[table.index[name]], table.quality[table.index[name]])
                          for name in self.config.metrics if name in table.index}
            self._born = True
        self.metrics.births.inc()
        log.info("%s: born (bdSeq %d, %d metric(s), %d device(s))", self.config.driver_id, self.bdseq,
                 len(self.config.metrics), len(self.config.devices))
        if self.state is not None and forward.close_range(self.state, self._live_from_us):
            self._start_timer(BACKFILL_GRACE_S + 2 * self.plant.scan_time_s, True)
        elif self.has_wal and self._follow_timer is None:
            self._follow_timer = self._timer(FOLLOW_S, _Follow())

    def _on_change(self, event: SignalsChanged) -> None:
        """In the reporting thread: NDATA/DDATA of this event's changes that pass their deadband."""
        if event.owner not in self._owners:
            return
        with self._out_lock:
            if not self._born:
                return
            per_device: dict[str, list[tuple[str, Any, int, float]]] = {}
            metrics = self.config.metrics
            live_from = self._live_from_us
            for change in event.only(self._slots):
                if _us(change.timestamp) < live_from:
                    continue
                metric = metrics[change.name]
                quality = int(change.quality)
                if not passes_deadband(self._last.get(change.name), change.value, quality, metric.deadband):
                    continue
                previous = self._last.get(change.name)
                self._last[change.name] = (change.value, quality)
                if previous is not None and previous[1] != Quality.GOOD and quality == Quality.GOOD:
                    quality = -1  # good again: say so (births._metric sends the Quality property)
                per_device.setdefault(metric.device, []).append((change.name, change.value, quality,
                                                                  change.timestamp))
            if not per_device:
                return
            if self._gatherer is None:
                for device, changes in per_device.items():
                    self._publish_data(device, changes, historical=False)
                return
            wake = not self._gathered
            for device, changes in per_device.items():
                self._gathered.setdefault(device, []).extend(changes)
        if wake:
            self._gather_wake.set()

    def _gather_loop(self) -> None:
        """`coalesce_ms`: the first change of a quiet period starts the window; its end sends what came."""
        window = self.config.settings.coalesce_ms / 1000
        while not self._stopping:
            self._gather_wake.wait()
            self._gather_wake.clear()
            if self._stopping:
                return
            time.sleep(window)
            with self._out_lock:
                self._flush_gathered()

    def _flush_gathered(self) -> None:
        """Under _out_lock: what `coalesce_ms` gathered, one message per device (split at the limit)."""
        if not self._gathered:
            return
        gathered, self._gathered = self._gathered, {}
        if not self._born:
            return
        limit = self.config.settings.max_metrics_per_message
        for device, changes in gathered.items():
            for start in range(0, len(changes), limit):
                self._publish_data(device, changes[start:start + limit], historical=False)

    def _publish_data(self, device: str, changes: list[tuple[str, Any, int, float]], historical: bool) -> None:
        """Under _out_lock."""
        client = self.client
        if client is None:
            return
        kind = "DDATA" if device else "NDATA"
        out = births.data(self.config, self.plant.table, [(n, v, Quality.GOOD if q == -1 else q, t)
                                                          for n, v, q, t in changes],
                          self._seq.next(), time.time(), historical)
        if not historical:
            for metric, (_, _, q, _) in zip(out.metrics, changes, strict=True):
                if q == -1:
                    sp.add_properties(metric, [("Quality", sp.INT32, 192)])
        client.publish(self.config.topic(kind, device), out.SerializeToString(), qos=0, retain=False)
        self.metrics.sent(kind)

    # -- store and forward ----------------------------------------------------------------------------

    def _wal(self) -> Any:
        from petra.storage.tier_actor import WalClient

        return WalClient(self.registry, paths.WAL, timeout=WAL_TIMEOUT_S)

    def _follow(self) -> None:
        """Every FOLLOW_S while the node is born: with nothing pending, what the WAL holds has been sent live."""
        self._follow_timer = None
        with self._out_lock:
            born = self._born
        if not born or self._stopping:
            return
        if self.state is not None and self.state.pending is None:
            self._commit_head()
        self._follow_timer = self._timer(FOLLOW_S, _Follow())

    def _commit_head(self) -> None:
        wal = self._wal()
        try:
            wal.commit(forward.CONSUMER, wal.head())
        except Exception as exc:  # the WAL restarting or full: the next follow moves it
            self._rlog.warning("follow", "%s: WAL cursor not moved (%s)", self.config.driver_id, exc)

    def _send_historical(self, device: str, changes: list[tuple[str, Any, int, float]]) -> None:
        with self._out_lock:
            if not self._born:
                raise _NotBorn
            self._publish_data(device, changes, historical=True)
        self.metrics.historical.inc(len(changes))

    def _start_timer(self, delay: float, start: bool) -> None:
        self._backfill_timer = self._timer(delay, _Backfill(start=start))

    def _timer(self, delay: float, message: object) -> threading.Timer:
        timer = threading.Timer(delay, lambda: self._tell(message))
        timer.name = f"{self.config.driver_id}-timer"
        timer.daemon = True
        timer.start()
        return timer

    def _backfill(self, start: bool) -> None:
        if self.state is None or self.forwarder is None or self.state.pending is None:
            self.metrics.pending.set(0)
            return
        with self._out_lock:
            born = self._born
        if not born:
            return  # the next birth starts it again
        try:
            if start:
                forward.set_until(self.state, self._wal().flush())
            more = self.forwarder.step()
        except _NotBorn:
            return
        except (TimeoutError, pykka.ActorDeadError, pykka.Timeout, OSError) as exc:
            self._rlog.warning("wal", "%s: WAL not readable (%s); store and forward retries", self.config.driver_id,
                               exc)
            self._start_timer(1.0, start)
            return
        if more:
            self._tell(_Backfill())
        else:
            self.metrics.pending.set(0 if self.state.pending is None else 1)
            if self.state.pending is None:
                log.info("%s: store and forward caught up", self.config.driver_id)
                if self._follow_timer is None:
                    self._follow_timer = self._timer(FOLLOW_S, _Follow())

    # -- commands ---------------------------------------------------------------------------------------

    def _command(self, data: bytes, device: str) -> None:
        from petra.control.remote_write import WriteRefused, write_signal

        command = parse_command(data, device, self.catalogue, self.bdseq)
        where = f"DCMD/{device}" if device else "NCMD"
        for reason, message in command.refusals:
            self.metrics.refused(reason)
            self._rlog.warning(f"cmd:{reason}", "%s: %s refused (%s): %s", self.config.driver_id, where, reason,
                               message)
        if command.rebirth:
            log.info("%s: rebirth requested by the host", self.config.driver_id)
            self._birth()
        runtime = self.wiring.control
        for name, value in command.writes:
            if runtime is None:
                self.metrics.refused("unavailable")
                continue
            try:
                write_signal(runtime, name, value, self.principal, "sparkplug", message=where)
            except WriteRefused as exc:
                self.metrics.refused(exc.kind)
                self._rlog.warning(f"cmd:{exc.kind}", "%s: %s write to '%s' refused (%s): %s",
                                   self.config.driver_id, where, name, exc.kind, exc)
            else:
                self.metrics.written.inc()


class _NotBorn(Exception):
    """The session ended while historical data was being sent: the next birth resumes it."""


def _set_nodelay(_client: mqtt.Client, _userdata: object, sock: Any) -> None:
    """paho leaves Nagle on: small messages would wait for the next packet."""
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
