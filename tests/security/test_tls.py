"""security.allowed_cipher_suites on a real TLS handshake over loopback."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest

from petra.security.tls import IANA_TO_OPENSSL, apply_cipher_suites, cipher_policy, openssl_cipher_names
from tests.peers.certificates import self_signed


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> tuple[str, str] | ssl.SSLError:
    """(cipher, version) the two contexts agree on over 127.0.0.1, or the client's error."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port)) as raw:
            try:
                with client.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    cipher, version, _ = tls.cipher()
                    tls.sendall(b"x")
                    return cipher, version
            except ssl.SSLError as exc:
                return exc
    finally:
        thread.join(5)
        listener.close()


def contexts(certificate: tuple[Path, Path]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = certificate
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def test_a_server_restricted_to_one_tls12_suite_negotiates_only_that_suite(certificate):
    server, client = contexts(certificate)
    assert apply_cipher_suites(server, ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]) == []
    assert handshake(server, client) == ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2")  # not TLS 1.3's suites


def test_a_client_offering_only_other_suites_is_refused(certificate):
    server, client = contexts(certificate)
    apply_cipher_suites(server, ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"])
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    client.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384")
    assert isinstance(handshake(server, client), ssl.SSLError)


def test_listing_a_tls13_suite_says_which_tls13_suites_cannot_be_excluded(certificate):
    server, client = contexts(certificate)
    warnings = apply_cipher_suites(server, ["TLS_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"])
    assert len(warnings) == 1
    assert "cannot be restricted" in warnings[0]
    assert "TLS_AES_128_GCM_SHA256" in warnings[0] and "TLS_CHACHA20_POLY1305_SHA256" in warnings[0]
    _cipher, version = handshake(server, client)  # type: ignore[misc]
    assert version == "TLSv1.3"


def test_an_unknown_name_is_an_error_not_a_wider_list():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(ValueError, match="TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265"):
        apply_cipher_suites(context, ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265"])
    assert cipher_policy(["ECDHE-RSA-AES128-GCM-SHA256"]).openssl == ("ECDHE-RSA-AES128-GCM-SHA256",)


def test_the_common_iana_names_map_to_ciphers_this_openssl_knows():
    known = openssl_cipher_names()
    for name in ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                 "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384",
                 "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"):
        assert IANA_TO_OPENSSL[name] in known, name
