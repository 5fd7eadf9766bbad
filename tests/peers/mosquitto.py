"""A real Mosquitto broker on loopback for tests and benchmarks.

`Mosquitto` writes its own config under a temporary directory: a plain listener
(password file when `auth`), optionally a TLS listener with a self-signed
certificate made by openssl (SAN 127.0.0.1/localhost; it is its own CA).
`stop()` and `start()` keep the ports, so a test can restart the broker under a
connected client. `mosquitto` is the session-scoped pytest fixture.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peers.certificates import self_signed

BINARY = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
USER, PASSWORD = "petra", "s3cret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"mosquitto did not open port {port} within {timeout} s")


class Mosquitto:
    """One broker process; ports and files survive `stop()`/`start()`."""

    def __init__(self, auth: bool = True, tls: bool = False, max_queued_messages: int = 1000,
                 directory: Path | None = None) -> None:
        self.dir = Path(directory or tempfile.mkdtemp(prefix="petra-mosquitto-"))
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.auth = auth
        self.username, self.password = (USER, PASSWORD) if auth else (None, None)
        self.ca_file = self.dir / "cert.pem" if tls else None
        self.process: subprocess.Popen[bytes] | None = None
        self.log_file = self.dir / "mosquitto.log"
        lines = ["user root", "persistence false", "log_dest stderr", "log_type error", "log_type warning",
                 f"max_queued_messages {max_queued_messages}", "per_listener_settings false",
                 f"allow_anonymous {'false' if auth else 'true'}", f"listener {self.port} 127.0.0.1"]
        if auth:
            passwd = self.dir / "passwd"
            subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), USER, PASSWORD], check=True,
                           capture_output=True)
            lines.insert(0, f"password_file {passwd}")
        if tls:
            self_signed(self.dir)
            lines += [f"listener {self.tls_port} 127.0.0.1", f"certfile {self.dir / 'cert.pem'}",
                      f"keyfile {self.dir / 'key.pem'}"]
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> Mosquitto:
        log = self.log_file.open("ab")
        self.process = subprocess.Popen([BINARY, "-c", str(self.conf)], stdout=log, stderr=log)
        log.close()
        try:
            _wait_port(self.port)
            if self.tls_port:
                _wait_port(self.tls_port)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"mosquitto failed to start: {self.log_file.read_text()[-2000:]}") from None
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Mosquitto]:
    """A session broker with a password file and a TLS listener."""
    if not Path(BINARY).exists():
        pytest.skip("mosquitto is not installed (apt-get install -y mosquitto mosquitto-clients)")
    broker = Mosquitto(auth=True, tls=True).start()
    try:
        yield broker
    finally:
        broker.close()


class MqttPeer:
    """A paho client standing in for sensors and consumers: publishes, collects what it hears."""

    def __init__(self, broker: Mosquitto, topics: tuple[str, ...] = (), client_id: str = "") -> None:
        import threading

        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.topics = topics
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if broker.username:
            self.client.username_pw_set(broker.username, broker.password)
        self.client.reconnect_delay_set(0.02, 0.2)
        self.client.on_socket_open = lambda _c, _u, sock: sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        if not self.connected.wait(5):
            raise RuntimeError("test peer could not connect")

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if not reason.is_failure:
            for topic in self.topics:
                client.subscribe(topic, qos=1)
            self.connected.set()

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def publish(self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)

    def payloads(self, topic: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
