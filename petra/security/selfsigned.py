"""A self-signed certificate for a TLS listener that has none configured: made at first start, then reused.

When TLS is required (`security.require_tls`) or asked for (`control.tcp.self_signed`) and no `cert_file`
is configured, PETRA makes a key and a certificate in a directory of its own state
(`control.tcp.self_signed_dir`, default ``./data/tls``) and serves them:

- ``control.key``: the private key, mode 0600 in a 0700 directory; a key file group or others may read
  is refused (`SelfSignedError`), as a world-readable signing key is;
- ``control.crt``: the certificate (PEM), its subject alternative names the listener's host (and, for a
  wildcard host such as 0.0.0.0, this machine's host names), ``localhost``, ``127.0.0.1`` and ``::1``;
  valid for `VALID_DAYS`.

Each file is written to a temporary name, fsynced and renamed (`petra.security.atomic`), so a crash
leaves each file old or new, never a part; a pair that does not match is made anew at the next start.
A later start reuses the pair when the key matches the certificate, the names cover the listener, the key
type suits the cipher list and it is valid for at least `RENEW_BEFORE_DAYS` more; otherwise it
makes a new pair and says why. A new pair keeps the names the old one had, so two listeners that share the
directory (the control API and the web HMI, on different hosts) converge on one certificate instead of
replacing each other's at every start. Either way the caller logs the SHA-256 fingerprint, which is what a client
pins (`openssl x509 -in control.crt -noout -fingerprint -sha256` prints the same).

The key is RSA 2048 unless the allowed cipher suites are all ECDSA suites (then ECDSA P-256): an RSA
certificate cannot complete an ECDSA-only handshake, and the other way round.

This is a stop-gap: a client cannot tell this certificate from an attacker's unless it pins the
fingerprint. Installing a real one is `cert_file` and `key_file` (README, "Users, roles and TLS").
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from petra.security.atomic import atomic_write

log = logging.getLogger(__name__)

VALID_DAYS = 825
"""How long a new certificate is valid: the longest span clients such as Apple's accept for a server
certificate, and long enough that a plant does not see its fingerprint change often."""
RENEW_BEFORE_DAYS = 30
"""A certificate with fewer days left than this is replaced at start (with a new fingerprint, logged)."""
RSA_BITS = 2048
ALWAYS_NAMES = ("localhost", "127.0.0.1", "::1")
"""Names every self-signed certificate carries, so local clients (petra-ctl --url, a browser on the box)
can check the name."""


class SelfSignedError(RuntimeError):
    """The self-signed pair cannot be made or used (an unsafe key file, a directory PETRA cannot write)."""


@dataclass(frozen=True)
class SelfSigned:
    """A usable self-signed pair and what a client needs to trust it."""

    cert_file: Path
    key_file: Path
    fingerprint: str
    """SHA-256 of the certificate (DER), as colon-separated hex pairs, upper case (OpenSSL's format)."""
    names: tuple[str, ...]
    """Its subject alternative names."""
    not_after: dt.datetime
    created: bool
    """Made by this call (False: an existing pair was reused)."""
    reason: str = ""
    """Why a new pair was made ("" when reused)."""


def subject_names(host: str) -> tuple[str, ...]:
    """The names a certificate for a listener on `host` needs: the host (for a wildcard, this machine's
    names), then `ALWAYS_NAMES`; no duplicates, in that order."""
    names: list[str] = []
    if host in ("", "0.0.0.0", "::"):
        names += [socket.gethostname(), socket.getfqdn()]
    else:
        names.append(host)
    names += ALWAYS_NAMES
    return tuple(dict.fromkeys(n.strip("[]").lower() for n in names if n))


def key_type_for(openssl_suites: Iterable[str]) -> str:
    """``"ec"`` when every listed TLS 1.2 suite (OpenSSL names) is an ECDSA suite, else ``"rsa"``."""
    suites = list(openssl_suites)
    return "ec" if suites and all("ECDSA" in s for s in suites) else "rsa"


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of `cert`'s DER encoding, ``AB:CD:...``."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def ensure_self_signed(directory: Path, host: str, *, key_type: str = "rsa", stem: str = "control",
                       now: Callable[[], dt.datetime] | None = None) -> SelfSigned:
    """The pair in `directory` for a listener on `host`: reused when still right, else made anew."""
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    names = subject_names(host)
    cert_file, key_file = directory / f"{stem}.crt", directory / f"{stem}.key"
    reason = _unusable(cert_file, key_file, names, key_type, clock())
    if reason is None:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        return SelfSigned(cert_file, key_file, fingerprint(cert), _sans(cert), cert.not_valid_after_utc, False)
    names = tuple(dict.fromkeys((*names, *_names_on_disk(cert_file))))  # listeners sharing the directory converge
    cert = _make(directory, cert_file, key_file, names, key_type, clock())
    return SelfSigned(cert_file, key_file, fingerprint(cert), names, cert.not_valid_after_utc, True, reason)


def _names_on_disk(cert_file: Path) -> tuple[str, ...]:
    """The names of the certificate at `cert_file`, () when there is none that loads."""
    try:
        return _sans(x509.load_pem_x509_certificate(cert_file.read_bytes()))
    except (OSError, ValueError):
        return ()


def _unusable(cert_file: Path, key_file: Path, names: tuple[str, ...], key_type: str,
              now: dt.datetime) -> str | None:
    """Why the pair on disk cannot be reused, or None when it can. An unsafe key file raises."""
    if not cert_file.exists() and not key_file.exists():
        return "none yet"
    if not cert_file.exists() or not key_file.exists():
        return f"only {(cert_file if cert_file.exists() else key_file).name} exists"
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        raise SelfSignedError(f"self-signed key {key_file} may be read by group or others (mode {mode:04o}): "
                              f"a key others have read cannot prove this server; remove it and {cert_file.name} "
                              "to have PETRA make a new pair, or chmod 600 it if nobody else could have read it")
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except ValueError as exc:
        return f"the existing pair does not load ({exc})"
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
            != cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo):
        return "the key does not match the certificate"
    if ("ec" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa") != key_type:
        return f"the allowed cipher suites need an {key_type.upper()} key"
    missing = [n for n in names if n not in _sans(cert)]
    if missing:
        return f"it does not name {', '.join(missing)}"
    if cert.not_valid_after_utc - now < dt.timedelta(days=RENEW_BEFORE_DAYS):
        return f"it expires on {cert.not_valid_after_utc:%Y-%m-%d}"
    return None


def _sans(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    dns = [str(n).lower() for n in extension.get_values_for_type(x509.DNSName)]
    ips = [str(n) for n in extension.get_values_for_type(x509.IPAddress)]
    return (*dns, *ips)


def _make(directory: Path, cert_file: Path, key_file: Path, names: tuple[str, ...], key_type: str,
          now: dt.datetime) -> x509.Certificate:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        ec.generate_private_key(ec.SECP256R1()) if key_type == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PETRA (self-signed)")])
    alternative: list[x509.GeneralName] = []
    for name in names:
        try:
            alternative.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternative.append(x509.DNSName(name))
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))  # a client clock a little behind still accepts it
            .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=key_type == "rsa",
                                         content_commitment=False, data_encipherment=False, key_agreement=False,
                                         key_cert_sign=False, crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write(key_file, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        atomic_write(cert_file, cert.public_bytes(serialization.Encoding.PEM))
    except OSError as exc:
        raise SelfSignedError(f"cannot write the self-signed certificate into {directory}: {exc}") from None
    return cert
