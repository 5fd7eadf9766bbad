"""A real PETRA with an `opcua:` section on a free loopback port, its users and PKI, and asyncua clients of it
(the peer of tests/opcua/test_server_*.py)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from asyncua import Client, ua
from asyncua.crypto import cert_gen
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from petra.config.loader import load_config
from petra.security import user_changes
from petra.security.roles import Role
from tests.harness import RunningPlant, free_port
from tests.helpers import run_apart

PASSWORD = "correct horse battery"
USERS = {"vera": Role.VIEWER, "otto": Role.OPERATOR, "erin": Role.ENGINEER, "ada": Role.ADMIN}

SIGNALS: list[dict[str, Any]] = [
    {"name": "tank1.level", "type": "float", "initial": 42.5, "unit": "m", "description": "Tank 1 level"},
    {"name": "tank1.setpoint", "type": "float", "initial": 50.0, "unit": "%", "min": 0, "max": 100},
    {"name": "tank1.pump", "type": "bool", "initial": False},
    {"name": "batch", "type": "int", "initial": 7},
    {"name": "recipe", "type": "string", "initial": "PA-12"},
    {"name": "tuning", "type": "float", "initial": 1.0, "writable_by": "engineer"},
    {"name": "line.speed", "type": "float", "initial": 0.0, "group": "line", "unit": "m/s"},
]


def plant_data(port: int, users_file: Path, pki_dir: Path, **opcua: Any) -> dict[str, Any]:
    return {
        "node_id": "opcua-test",
        "scan_time_ms": 50,
        "security": {"users_file": str(users_file), "max_failed_auth_attempts": 3},
        "signals": SIGNALS,
        "blocks": [{"name": "gen", "type": "DATA_GENERATOR", "inputs": {"enable": "tank1.pump"},
                    "outputs": {"count_out": "count"}}],
        "opcua": {"host": "127.0.0.1", "port": port, "pki_dir": str(pki_dir), **opcua},
    }


@dataclass
class ClientCert:
    cert: Path
    key: Path
    uri: str


def make_client_cert(directory: Path, name: str = "test-client") -> ClientCert:
    """A client application certificate (URI in its SAN, as asyncua's client needs) and its key."""
    directory.mkdir(parents=True, exist_ok=True)
    uri = f"urn:petra-tests:{name}"
    key = cert_gen.generate_private_key()
    from cryptography import x509

    cert = cert_gen.generate_self_signed_app_certificate(
        key, name, {"organizationName": "tests"},
        [x509.UniformResourceIdentifier(uri), x509.DNSName(socket.gethostname()), x509.DNSName("localhost")],
        extended=[ExtendedKeyUsageOID.CLIENT_AUTH], days=30)
    cert_file, key_file = directory / f"{name}.der", directory / f"{name}.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    key_file.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return ClientCert(cert_file, key_file, uri)


@dataclass
class Opcua:
    """A started PETRA serving OPC-UA at `url`; `client(...)` opens a connected asyncua client."""

    directory: Path
    url: str
    running: RunningPlant
    audit: Path
    pki_dir: Path
    trusted: ClientCert

    @property
    def namespace_uri(self) -> str:
        return "urn:petra:signals"

    def actor(self) -> Any:
        ref = self.running.lookup("petra/services/opcua")
        assert ref is not None
        return ref

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until the (re)started server listens: it starts in the background, the plant does not wait."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ref = self.running.lookup("petra/services/opcua")
            if ref is not None:
                try:
                    if ref.proxy().endpoints().get(timeout=5)["opcua"] is not None:
                        return
                except Exception:  # restarting: ask again
                    pass
            time.sleep(0.05)
        raise AssertionError(f"the OPC-UA server did not start within {timeout} s")

    def audit_events(self) -> list[dict[str, Any]]:
        import json

        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line.strip()]

    @contextlib.asynccontextmanager
    async def client(self, user: str | None = "otto", password: str = PASSWORD, cert: ClientCert | None = None,
                     secure: bool = True, timeout: float = 10.0) -> AsyncIterator[Client]:
        client = Client(self.url, timeout=timeout, watchdog_intervall=30.0)  # a loaded CI machine is slow
        chosen = cert or self.trusted
        if secure:
            client.application_uri = chosen.uri
            await client.set_security(SecurityPolicyBasic256Sha256, str(chosen.cert), str(chosen.key),
                                      mode=ua.MessageSecurityMode.SignAndEncrypt)
        if user is not None:
            client.set_user(user)
            client.set_password(password)
        await client.connect()
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                await client.disconnect()

    async def ns(self, client: Client) -> int:
        return int(await client.get_namespace_index(self.namespace_uri))


def add_users(users_file: Path, users: dict[str, Role]) -> None:
    for name, role in users.items():
        user_changes.add_user(users_file, name, role, PASSWORD, lambda *a, **k: None, "uid:0")


@contextmanager
def serving(tmp_path: Path, users: dict[str, Role] | None = USERS, **opcua: Any) -> Iterator[Opcua]:
    """PETRA with `plant_data` (`opcua` keys over its opcua section) and `users`; one trusted client cert."""
    users_file = tmp_path / "users.yaml"
    if users:
        add_users(users_file, users)
    pki_dir = tmp_path / "pki"
    trusted = make_client_cert(tmp_path / "clients")
    (pki_dir / "trusted").mkdir(parents=True)
    (pki_dir / "trusted" / trusted.cert.name).write_bytes(trusted.cert.read_bytes())
    port = free_port()
    config_path = tmp_path / "plant.yaml"
    config_path.write_text(yaml.safe_dump(plant_data(port, users_file, pki_dir, **opcua), sort_keys=False,
                                          allow_unicode=True))
    audit = tmp_path / "audit.log"
    with RunningPlant(load_config(config_path), control_socket=tmp_path / "c.sock", config_path=config_path,
                      audit_log=audit) as running:
        served = Opcua(tmp_path, f"opc.tcp://127.0.0.1:{port}/petra", running, audit, pki_dir, trusted)
        served.wait_ready()
        yield served


def run(coro: Any, timeout: float = 60.0) -> Any:
    """Run a test's client coroutine to its end (each test its own loop)."""
    return run_apart(asyncio.wait_for(coro, timeout))
