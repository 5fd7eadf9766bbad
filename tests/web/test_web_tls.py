"""The web listener's TLS follows control.tcp's rules (petra.control.listener): a real certificate, else a
self-signed one PETRA makes, else plain HTTP on loopback only; security.require_tls refuses plain HTTP."""

from __future__ import annotations

import http.client
import json
import socket
import ssl

import pytest
import yaml

from petra.config.loader import load_config
from supervision import StartError
from tests.harness import RunningPlant, free_port
from tests.peers.certificates import self_signed
from tests.security.cheap_hashes import cheap_hashes as cheap_hashes
from tests.web.web_support import USERS, add_users, plant_data, serving


def get(port: int, context: ssl.SSLContext, path: str = "/") -> tuple[int, bytes]:
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def test_a_real_certificate_is_served_and_nothing_in_plain_text(tmp_path):
    cert, key = self_signed(tmp_path)
    with serving(tmp_path, web={"cert_file": str(cert), "key_file": str(key)}) as web:
        context = ssl.create_default_context(cafile=str(cert))
        status, page = get(web.port, context)
        assert status == 200 and b"<html" in page.lower()
        status, body = get(web.port, context, "/v1/session")
        assert status == 401 and "error" in json.loads(body)
        with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
            web.call("GET", "/")  # plain HTTP to the TLS port gets nowhere


def test_self_signed_makes_a_certificate_in_its_own_folder_that_pins_and_is_audited(tmp_path):
    folder = tmp_path / "tls"
    with serving(tmp_path, web={"self_signed": True, "self_signed_dir": str(folder)}) as web:
        made = folder / "control.crt"
        assert made.is_file() and (folder / "control.key").stat().st_mode & 0o077 == 0
        status, _ = get(web.port, ssl.create_default_context(cafile=str(made)))
        assert status == 200
        entries = [json.loads(line) for line in web.audit.read_text().splitlines()]
        made_entries = [e for e in entries if e["event"] == "tls.self_signed"]
        assert len(made_entries) == 1 and made_entries[0]["details"]["listener"] == "web"


def test_require_tls_refuses_a_plain_http_web_listener_and_binds_nothing(tmp_path):
    add_users(tmp_path / "users.yaml", USERS)
    port = free_port()
    data = plant_data(port, tmp_path / "users.yaml")
    data["security"]["require_tls"] = True
    data["web"]["self_signed"] = False
    config_path = tmp_path / "plant.yaml"
    config_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    plant = RunningPlant(load_config(config_path), control_socket=tmp_path / "c.sock", config_path=config_path)
    with pytest.raises(StartError, match=r"require_tls is set but web\.self_signed is false"):
        plant.start()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
