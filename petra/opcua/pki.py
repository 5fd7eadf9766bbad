"""The server's application certificate and its trust list, as Ignition and UaExpert lay them out.

```
<pki_dir>/own/cert.der         the server's certificate (self-signed at first start: URI and host in its SAN)
<pki_dir>/private/key.pem      its RSA key (0600)
<pki_dir>/trusted/*.der|pem    client application certificates an administrator trusts
<pki_dir>/rejected/*.der       the ones that tried and were refused, for an administrator to move to trusted/
```

A self-signed certificate is made anew when its ApplicationUri or its host names no longer match the
settings (UaExpert refuses a server whose certificate's URI differs from the ApplicationUri, or whose
subjectAltName does not name the host it connected to), and when it expires within 30 days.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)

RENEW_BEFORE = dt.timedelta(days=30)
VALID_DAYS = 3650
MAX_REJECTED = 1000
"""Rejected certificates kept; past it the oldest go (a client trying new certificates cannot fill the disk)."""


@dataclass(frozen=True)
class ServerPair:
    cert_file: Path
    key_file: Path
    fingerprint: str
    created: bool
    reason: str = ""


def host_names(host: str) -> tuple[str, ...]:
    """The names a client may use for a server bound to `host`: the host itself, this machine's name, loopback."""
    names = [host] if host not in ("0.0.0.0", "::", "") else []
    names += [socket.gethostname(), "localhost", "127.0.0.1"]
    return tuple(dict.fromkeys(n for n in names if n))


def default_application_uri() -> str:
    return f"urn:{socket.gethostname()}:petra"


def folders(pki_dir: Path) -> None:
    for sub in ("own", "private", "trusted", "rejected"):
        (pki_dir / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(pki_dir / "private", 0o700)


def ensure_server_pair(pki_dir: Path, application_uri: str, names: tuple[str, ...],
                       now: Callable[[], dt.datetime] | None = None) -> ServerPair:
    """The self-signed pair in `pki_dir`, reused while its URI, names and dates are still right."""
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    folders(pki_dir)
    cert_file, key_file = pki_dir / "own" / "cert.der", pki_dir / "private" / "key.pem"
    reason = _unusable(cert_file, key_file, application_uri, names, clock())
    if reason is None:
        return ServerPair(cert_file, key_file, fingerprint(load_certificate(cert_file)), False)
    from asyncua.crypto import cert_gen

    key = cert_gen.generate_private_key()
    sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(application_uri)]
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    cert = cert_gen.generate_self_signed_app_certificate(
        key, "PETRA OPC-UA server", {"organizationName": "PETRA"}, sans,
        extended=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], days=VALID_DAYS)
    tmp_key = key_file.with_suffix(".tmp")
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(cert_gen.dump_private_key_as_pem(key))
    os.replace(tmp_key, key_file)
    tmp_cert = cert_file.with_suffix(".tmp")
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    os.replace(tmp_cert, cert_file)
    return ServerPair(cert_file, key_file, fingerprint(cert), True, reason)


def _unusable(cert_file: Path, key_file: Path, uri: str, names: tuple[str, ...], now: dt.datetime) -> str | None:
    if not cert_file.is_file() or not key_file.is_file():
        return "none yet"
    try:
        cert = load_certificate(cert_file)
    except ValueError as exc:
        return f"unreadable ({exc})"
    if cert.not_valid_after_utc - RENEW_BEFORE < now:
        return "expires within 30 days"
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "no subjectAltName"
    if uri not in san.get_values_for_type(x509.UniformResourceIdentifier):
        return f"its ApplicationUri is not {uri}"
    have = {*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))}
    missing = [n for n in names if n not in have]
    return f"it does not name {', '.join(missing)}" if missing else None


def load_certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def fingerprint_der(der: bytes) -> str:
    """SHA-256 of a DER certificate, as `fingerprint` gives it."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return digest.finalize().hex()


def common_name(cert: x509.Certificate) -> str:
    found = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = found[0].value if found else "unnamed"
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:64] or "unnamed"


class TrustList:
    """The client certificates in `trusted/` (read again when the folder changes); refusals go to `rejected/`."""

    def __init__(self, pki_dir: Path) -> None:
        self.trusted_dir = pki_dir / "trusted"
        self.rejected_dir = pki_dir / "rejected"
        self._stamp: tuple[float, int] | None = None
        self._trusted: frozenset[str] = frozenset()

    def trusted(self) -> frozenset[str]:
        """SHA-256 fingerprints of the certificates in `trusted/`."""
        try:
            st = self.trusted_dir.stat()
            entries = list(self.trusted_dir.iterdir())
        except OSError:
            return frozenset()
        stamp = (st.st_mtime, len(entries))
        if stamp != self._stamp:
            found = set()
            for entry in entries:
                if entry.suffix.lower() in (".der", ".pem", ".crt", ".cer") and entry.is_file():
                    try:
                        found.add(fingerprint(load_certificate(entry)))
                    except (OSError, ValueError):
                        log.warning("OPC-UA: %s in the trust list is not a certificate; ignored", entry)
            self._trusted, self._stamp = frozenset(found), stamp
        return self._trusted

    def is_trusted(self, cert: x509.Certificate) -> bool:
        return fingerprint(cert) in self.trusted()

    def reject(self, cert: x509.Certificate) -> Path:
        """Keep `cert` in `rejected/` as `<CN> [<sha1>].der` (once), for an administrator to move."""
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        thumb = cert.fingerprint(hashes.SHA1()).hex()  # the OPC-UA thumbprint names the file
        path = self.rejected_dir / f"{common_name(cert)} [{thumb}].der"
        if not path.exists():
            old = sorted(self.rejected_dir.glob("*.der"), key=lambda p: p.stat().st_mtime)
            for stale in old[:max(0, len(old) - MAX_REJECTED + 1)]:
                stale.unlink(missing_ok=True)
            path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
        return path
