"""A self-signed certificate for loopback peers and PETRA's own TLS listeners (it is its own CA)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def self_signed(directory: Path, prefix: str = "") -> tuple[Path, Path]:
    """`<prefix>cert.pem` and `<prefix>key.pem` in `directory`: RSA 2048, CN localhost, SAN 127.0.0.1 and localhost."""
    cert, key = directory / f"{prefix}cert.pem", directory / f"{prefix}key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key
