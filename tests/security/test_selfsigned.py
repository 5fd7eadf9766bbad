"""The self-signed certificate PETRA makes when TLS is required and no certificate is configured.

The pure part (`ensure_self_signed`) with an injected clock; then a real PETRA whose control API serves it,
checked by Python's ssl and by `openssl s_client` against the certificate as the only trusted CA.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from petra.config.loader import load_config
from petra.security.selfsigned import (
    RENEW_BEFORE_DAYS,
    VALID_DAYS,
    SelfSignedError,
    ensure_self_signed,
    key_type_for,
    subject_names,
)
from tests.control.conftest import PLANT, write_config
from tests.harness import RunningPlant, free_port

T0 = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)
DUE = T0 + dt.timedelta(days=VALID_DAYS - RENEW_BEFORE_DAYS + 1)


def openssl_fingerprint(cert: Path) -> str:
    out = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256"],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1]


def test_a_first_start_makes_a_key_only_its_owner_can_read_and_a_certificate_for_the_listener(tmp_path):
    directory = tmp_path / "tls"
    pair = ensure_self_signed(directory, "10.0.0.7", now=lambda: T0)
    assert pair.created and pair.reason == "none yet"
    assert (os_mode(directory), os_mode(pair.key_file)) == (0o700, 0o600)
    cert = x509.load_pem_x509_certificate(pair.cert_file.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(n) for n in sans.get_values_for_type(x509.IPAddress)] == ["10.0.0.7", "127.0.0.1", "::1"]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert pair.names == ("10.0.0.7", "localhost", "127.0.0.1", "::1")
    assert cert.not_valid_after_utc == T0 + dt.timedelta(days=VALID_DAYS)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(load_pem_private_key(pair.key_file.read_bytes(), None), rsa.RSAPrivateKey)
    assert pair.fingerprint == openssl_fingerprint(pair.cert_file)  # what an operator compares


def os_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_no_two_installations_share_a_key_there_is_no_built_in_one(tmp_path):
    one = ensure_self_signed(tmp_path / "one", "127.0.0.1", now=lambda: T0)
    two = ensure_self_signed(tmp_path / "two", "127.0.0.1", now=lambda: T0)
    assert one.key_file.read_bytes() != two.key_file.read_bytes() and one.fingerprint != two.fingerprint


def test_later_starts_reuse_the_pair_so_the_fingerprint_clients_pinned_stays(tmp_path):
    first = ensure_self_signed(tmp_path, "10.0.0.7", now=lambda: T0)
    again = ensure_self_signed(tmp_path, "10.0.0.7", now=lambda: T0 + dt.timedelta(days=100))
    assert not again.created and again.fingerprint == first.fingerprint and again.reason == ""


@pytest.mark.parametrize(("change", "reason"), [
    (lambda d: ensure_self_signed(d, "10.0.0.8", now=lambda: T0), "it does not name 10.0.0.8"),
    (lambda d: ensure_self_signed(d, "10.0.0.7", key_type="ec", now=lambda: T0),
     "the allowed cipher suites need an EC key"),
    (lambda d: ensure_self_signed(d, "10.0.0.7", now=lambda: DUE),
     f"it expires on {T0 + dt.timedelta(days=VALID_DAYS):%Y-%m-%d}"),
])
def test_a_pair_that_no_longer_fits_is_made_anew_and_says_why(tmp_path, change, reason):
    first = ensure_self_signed(tmp_path, "10.0.0.7", now=lambda: T0)
    renewed = change(tmp_path)
    assert renewed.created and renewed.reason == reason and renewed.fingerprint != first.fingerprint


def test_two_listeners_on_different_hosts_sharing_the_directory_converge_on_one_certificate(tmp_path):
    ensure_self_signed(tmp_path, "127.0.0.1", now=lambda: T0)
    both = ensure_self_signed(tmp_path, "10.0.0.7", now=lambda: T0)  # the other listener: its name added
    assert both.created and both.names == ("10.0.0.7", "localhost", "127.0.0.1", "::1")
    for host in ("127.0.0.1", "10.0.0.7", "127.0.0.1"):  # later starts of either reuse it
        again = ensure_self_signed(tmp_path, host, now=lambda: T0)
        assert not again.created and again.fingerprint == both.fingerprint


def test_a_renewal_just_before_the_margin_is_not_due_yet(tmp_path):
    first = ensure_self_signed(tmp_path, "10.0.0.7", now=lambda: T0)
    later = T0 + dt.timedelta(days=VALID_DAYS - RENEW_BEFORE_DAYS - 1)
    assert ensure_self_signed(tmp_path, "10.0.0.7", now=lambda: later).fingerprint == first.fingerprint


def test_a_half_pair_or_a_key_of_another_certificate_is_replaced(tmp_path):
    first = ensure_self_signed(tmp_path / "a", "127.0.0.1", now=lambda: T0)
    other = ensure_self_signed(tmp_path / "b", "127.0.0.1", now=lambda: T0)
    first.key_file.write_bytes(other.key_file.read_bytes())
    assert ensure_self_signed(tmp_path / "a", "127.0.0.1", now=lambda: T0).reason == \
        "the key does not match the certificate"
    other.cert_file.unlink()
    assert ensure_self_signed(tmp_path / "b", "127.0.0.1", now=lambda: T0).reason == "only control.key exists"


def test_a_key_others_may_read_is_refused_not_silently_used(tmp_path):
    pair = ensure_self_signed(tmp_path, "127.0.0.1", now=lambda: T0)
    pair.key_file.chmod(0o640)
    with pytest.raises(SelfSignedError, match=r"may be read by group or others \(mode 0640\)"):
        ensure_self_signed(tmp_path, "127.0.0.1", now=lambda: T0)


def test_an_ecdsa_only_cipher_list_gets_an_ec_key_anything_else_rsa(tmp_path):
    assert key_type_for(["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"]) == "ec"
    assert key_type_for(["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"]) == "rsa"
    assert key_type_for([]) == "rsa"
    pair = ensure_self_signed(tmp_path, "127.0.0.1", key_type="ec", now=lambda: T0)
    assert isinstance(load_pem_private_key(pair.key_file.read_bytes(), None), ec.EllipticCurvePrivateKey)


def test_a_wildcard_listener_names_this_machine_and_loopback():
    names = subject_names("0.0.0.0")
    assert names[0] == socket.gethostname().lower() and names[-3:] == ("localhost", "127.0.0.1", "::1")
    assert subject_names("::") == names
    assert subject_names("Plant-7.example") == ("plant-7.example", "localhost", "127.0.0.1", "::1")


# --- a real PETRA ------------------------------------------------------------


def tls_plant(tmp_path: Path, port: int, **tcp: object) -> RunningPlant:
    plant = dict(PLANT, security={"require_tls": True, "users_file": str(tmp_path / "users.yaml")},
                 control={"tcp": {"host": "127.0.0.1", "port": port, "self_signed_dir": str(tmp_path / "tls"),
                                  "tokens": [{"name": "ops", "token": "s3cret", "role": "viewer"}], **tcp}})
    config_path = write_config(tmp_path / "plant.yaml", plant)
    return RunningPlant(load_config(config_path), control_socket=tmp_path / "c.sock", config_path=config_path,
                        audit_log=tmp_path / "audit.log")


def get_status(port: int, cafile: Path) -> int:
    context = ssl.create_default_context(cafile=str(cafile))  # checks the name 127.0.0.1 against the SAN
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        conn.request("GET", "/v1/status", headers={"Authorization": "Bearer s3cret"})
        return conn.getresponse().status
    finally:
        conn.close()


def test_require_tls_without_a_certificate_serves_a_self_signed_one_and_logs_its_fingerprint(tmp_path, caplog):
    port = free_port()
    caplog.set_level(logging.INFO, logger="petra.control")
    with tls_plant(tmp_path, port):
        cert = tmp_path / "tls" / "control.crt"
        fingerprint = openssl_fingerprint(cert)
        assert get_status(port, cert) == 200
        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            plain.request("GET", "/v1/status", headers={"Authorization": "Bearer s3cret"})
            plain.getresponse()  # a plain request is not HTTP to a TLS listener: no answer
        plain.close()
        verified = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(cert), "-verify_ip", "127.0.0.1",
             "-verify_return_error", "-brief"], input="", capture_output=True, text=True, timeout=30)
        assert verified.returncode == 0, verified.stderr
        assert "Verification: OK" in verified.stderr
        for host in ("127.0.0.1", "localhost"):  # the real petra-ctl, trusting only that certificate
            ctl = subprocess.run([sys.executable, "-m", "petra.ctl", "--url", f"https://{host}:{port}", "--token",
                                  "s3cret", "--cacert", str(cert), "--json", "status"],
                                 capture_output=True, text=True, timeout=60)
            assert ctl.returncode == 0 and json.loads(ctl.stdout)["node_id"] == "ctl-test", ctl.stderr
        untrusted = subprocess.run([sys.executable, "-m", "petra.ctl", "--url", f"https://127.0.0.1:{port}",
                                    "--token", "s3cret", "status"], capture_output=True, text=True, timeout=60)
        assert untrusted.returncode == 3 and "not trusted" in untrusted.stderr  # no --cacert: nobody vouches
    made = [r.getMessage() for r in caplog.records if "made a self-signed certificate" in r.getMessage()]
    assert len(made) == 1 and fingerprint in made[0] and "127.0.0.1, localhost" in made[0]
    entries = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    audited = [e for e in entries if e["event"] == "tls.self_signed"]
    assert [e["details"]["fingerprint_sha256"] for e in audited] == [fingerprint]

    caplog.clear()
    with tls_plant(tmp_path, port):  # the next start reuses it: the same fingerprint, nothing new audited
        assert get_status(port, cert) == 200
    assert openssl_fingerprint(cert) == fingerprint
    assert any(f"using the self-signed certificate {cert}" in r.getMessage() and fingerprint in r.getMessage()
               for r in caplog.records)
    entries = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert len([e for e in entries if e["event"] == "tls.self_signed"]) == 1


def test_a_listener_beyond_loopback_gets_tls_without_being_asked_but_loopback_stays_plain(tmp_path):
    from petra.control.listener import wants_self_signed
    from petra.control.settings import TcpSettings

    config = load_config(write_config(tmp_path / "plant.yaml", PLANT))
    assert wants_self_signed(config, TcpSettings(port=1, host="0.0.0.0"))
    assert wants_self_signed(config, TcpSettings(port=1, host="192.168.1.20"))
    assert not wants_self_signed(config, TcpSettings(port=1, host="127.0.0.1"))
    assert wants_self_signed(config, TcpSettings(port=1, host="127.0.0.1", self_signed=True))
    assert not wants_self_signed(config, TcpSettings(port=1, host="0.0.0.0", self_signed=False))
    assert not wants_self_signed(config, TcpSettings(port=1, host="0.0.0.0", cert_file="c", key_file="k"))


def test_a_self_signed_dir_petra_cannot_write_fails_the_start_and_names_it(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    directory = blocker / "tls"  # a directory under a regular file cannot be made, even by root
    with pytest.raises(SelfSignedError, match=f"cannot write the self-signed certificate into {directory}"):
        ensure_self_signed(directory, "127.0.0.1", now=lambda: T0)
