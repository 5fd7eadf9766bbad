"""`security.allowed_cipher_suites` applied to an `ssl.SSLContext`: one list, every TLS door.

The config names suites as IANA does (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`,
what scanners and compliance lists print); OpenSSL names them otherwise
(`ECDHE-RSA-AES128-GCM-SHA256`), and either is accepted. TLS 1.2 suites map
onto `SSLContext.set_ciphers`. TLS 1.3 suites cannot be restricted from
Python's `ssl` (it has no binding for OpenSSL's `SSL_CTX_set_ciphersuites`):
so a list without any TLS 1.3 suite caps the context at TLS 1.2, which is the
only way to negotiate nothing but the listed suites, and a list that names
some TLS 1.3 suite leaves all of OpenSSL's TLS 1.3 suites enabled, which
`CipherPolicy.warnings` says in words.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from petra.config.model import PlantConfig

_log = logging.getLogger(__name__)

TLS13_SUITES = (
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
)

IANA_TO_OPENSSL = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256": "AES256-SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_RSA_WITH_AES_128_CCM": "AES128-CCM",
    "TLS_RSA_WITH_AES_256_CCM": "AES256-CCM",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA": "DHE-RSA-AES128-SHA",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA": "DHE-RSA-AES256-SHA",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256": "DHE-RSA-AES128-SHA256",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256": "DHE-RSA-AES256-SHA256",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": "DHE-RSA-AES128-GCM-SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": "DHE-RSA-AES256-GCM-SHA384",
    "TLS_DHE_RSA_WITH_AES_128_CCM": "DHE-RSA-AES128-CCM",
    "TLS_DHE_RSA_WITH_AES_256_CCM": "DHE-RSA-AES256-CCM",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "DHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384": "ECDHE-RSA-AES256-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384": "ECDHE-ECDSA-AES256-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CCM": "ECDHE-ECDSA-AES128-CCM",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CCM": "ECDHE-ECDSA-AES256-CCM",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
}
"""TLS 1.2 (and 1.0/1.1 CBC-SHA) suites by their IANA name, as OpenSSL's ciphers(1) names them."""


def openssl_cipher_names() -> frozenset[str]:
    """Every cipher name this OpenSSL build knows (TLS 1.2 and older), enabled by default or not."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.set_ciphers("ALL:COMPLEMENTOFALL")
    return frozenset(c["name"] for c in context.get_ciphers())


@dataclass(frozen=True)
class CipherPolicy:
    """What an `allowed_cipher_suites` list means for an SSLContext."""

    openssl: tuple[str, ...]
    """TLS 1.2 suites in OpenSSL's names, in the order given."""
    tls13: tuple[str, ...]
    """The TLS 1.3 suites the list names."""
    unknown: tuple[str, ...]
    """Names neither IANA's TLS 1.2/1.3 table nor this OpenSSL knows: a config error."""

    @property
    def caps_at_tls12(self) -> bool:
        """No TLS 1.3 suite listed: TLS 1.3 is switched off so only listed suites can be negotiated."""
        return bool(self.openssl) and not self.tls13

    @property
    def warnings(self) -> list[str]:
        """What the list cannot make true, in words for the log and `petra check`."""
        if not self.tls13:
            return []
        extra = [s for s in TLS13_SUITES[:3] if s not in self.tls13]
        message = (f"TLS 1.3 cipher suites cannot be restricted by Python's ssl: listing {', '.join(self.tls13)} "
                   f"enables TLS 1.3 with all of OpenSSL's TLS 1.3 suites")
        if extra:
            message += f", including the unlisted {', '.join(extra)}"
        return [message]


def cipher_policy(names: Iterable[str]) -> CipherPolicy:
    """Sort an `allowed_cipher_suites` list into OpenSSL TLS 1.2 names, TLS 1.3 names and unknown ones."""
    known = openssl_cipher_names()
    openssl: list[str] = []
    tls13: list[str] = []
    unknown: list[str] = []
    for name in names:
        if name in TLS13_SUITES:
            tls13.append(name)
        elif name in IANA_TO_OPENSSL and IANA_TO_OPENSSL[name] in known:
            openssl.append(IANA_TO_OPENSSL[name])
        elif name in known:
            openssl.append(name)
        else:
            unknown.append(name)
    return CipherPolicy(tuple(dict.fromkeys(openssl)), tuple(dict.fromkeys(tls13)), tuple(unknown))


def apply_cipher_suites(context: ssl.SSLContext, names: Iterable[str]) -> list[str]:
    """Restrict `context` to `names` (an empty list changes nothing); returns the warnings to log.

    Raises ValueError for a name nobody knows, so a typo never widens the list silently.
    """
    policy = cipher_policy(names)
    if policy.unknown:
        raise ValueError(f"unknown cipher suite(s): {', '.join(policy.unknown)}")
    if policy.openssl:
        context.set_ciphers(":".join(policy.openssl))
    elif policy.tls13:  # only TLS 1.3 suites are allowed: no TLS 1.2 handshake at all
        context.minimum_version = ssl.TLSVersion.TLSv1_3
    if policy.caps_at_tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    return policy.warnings


def client_context(cafile: str | None = None, certfile: str | None = None, keyfile: str | None = None,
                   cipher_suites: Iterable[str] = (), *, verify_hostname: bool = True) -> ssl.SSLContext:
    """A client's TLS context (MQTT, SMTP): the system's or `cafile`'s CAs, an optional client
    certificate, TLS 1.2 or later, restricted to `cipher_suites`; the policy's warnings are logged."""
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if certfile:
        context.load_cert_chain(certfile, keyfile)
    context.check_hostname = verify_hostname
    for warning in apply_cipher_suites(context, cipher_suites):
        _log.warning("allowed_cipher_suites: %s", warning)
    return context


def configured_suites(config: PlantConfig) -> list[str]:
    """`security.allowed_cipher_suites` of a config (empty: OpenSSL's defaults)."""
    return list(config.security.allowed_cipher_suites)
