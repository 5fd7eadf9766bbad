"""The `opcua` section's settings: one declaration for its schema, defaults and typed model.

`opcua:` serves every signal as an OPC-UA variable (`petra.opcua.actor`). Secure by default: only the
SignAndEncrypt policies listed in `security_policies` are offered (None only when listed), clients log in
with PETRA's users (anonymous only with `allow_anonymous`, and then as a viewer), and client application
certificates must be in `<pki_dir>/trusted` (an unknown one lands in `<pki_dir>/rejected`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

from petra.config.settings import setting

POLICIES: tuple[str, ...] = (
    "Basic256Sha256_SignAndEncrypt", "Basic256Sha256_Sign",
    "Aes256Sha256RsaPss_SignAndEncrypt", "Aes256Sha256RsaPss_Sign",
    "Aes128Sha256RsaOaep_SignAndEncrypt", "Aes128Sha256RsaOaep_Sign",
    "None",
)
"""The security policies (with their message security mode) the server can offer; asyncua's names."""
DEFAULT_POLICIES = ("Basic256Sha256_SignAndEncrypt", "Aes256Sha256RsaPss_SignAndEncrypt")
DEFAULT_NAMESPACE = "urn:petra:signals"


@dataclass(frozen=True)
class OpcuaSettings:
    """OPC-UA server: every signal a typed variable, client writes through PETRA's roles, secure by default."""

    host: str | None = setting(None, doc="The address it listens on (default 127.0.0.1, or the endpoint's host; "
                                         "0.0.0.0 serves every interface).", minLength=1)
    port: int | None = setting(None, doc="The TCP port (default 4840, or the endpoint's port; 0: any free port).",
                               minimum=0, maximum=65535)
    endpoint: str | None = setting(None, doc="Alternatively the whole endpoint URL, e.g. opc.tcp://0.0.0.0:4840/petra "
                                             "(host and port, when given too, win).", pattern=r"^opc\.tcp://")
    application_uri: str | None = setting(None, doc="The server's ApplicationUri (also in its certificate's "
                                                    "subjectAltName); default urn:<hostname>:petra.", minLength=1)
    namespace_uri: str = setting(DEFAULT_NAMESPACE, doc="The namespace of the signals' nodes (ns=<index>;s=<name>).",
                                 minLength=1)
    pki_dir: str = setting("./data/opcua/pki", doc="The server's certificate (own/), trusted client certificates "
                                                   "(trusted/) and rejected ones (rejected/, for an admin to move).")
    cert_file: str | None = setting(None, doc="The server's own certificate (DER or PEM; needs key_file) instead "
                                              "of the self-signed one made in pki_dir/own.")
    key_file: str | None = None
    security_policies: tuple[str, ...] = setting(
        DEFAULT_POLICIES, doc="The security policies offered; \"None\" (no signing, no encryption) only when listed.",
        minItems=1, uniqueItems=True, schema={"type": "array", "items": {"type": "string"}})
    allow_anonymous: bool = setting(False, doc="Let clients in without a user (always as viewer: read and browse).")
    signals: tuple[str, ...] = setting(("*",), doc="The signals served: names or shell patterns (default all).",
                                       minItems=1, schema={"type": "array", "items": {"type": "string",
                                                                                      "minLength": 1}})
    int_type: Literal["Int64", "Int32"] = setting("Int64", doc="The OPC-UA type of PETRA's int signals.",
                                                  enum=["Int64", "Int32"])
    max_sessions: int = setting(50, doc="Sessions open at once; past it CreateSession answers BadTooManySessions.",
                                minimum=1, maximum=10000)
    max_subscriptions: int = setting(200, doc="Subscriptions in the whole server (BadTooManySubscriptions past it).",
                                     minimum=1, maximum=100000)
    max_monitored_items: int = setting(100_000, doc="Monitored items in the whole server (BadTooManyMonitoredItems "
                                                    "past it).", minimum=1, maximum=10_000_000)
    max_message_bytes: int = setting(16 * 1024 * 1024, doc="The largest request or response message.", unit="bytes",
                                     minimum=65536, maximum=256 * 1024 * 1024)
    session_timeout_s: float = setting(600.0, doc="The longest session timeout a client may ask for.", unit="s",
                                       minimum=5, maximum=86400)

    def bind(self) -> tuple[str, int, str]:
        """(host, port, path) of the endpoint: host and port when set, else the endpoint URL's, else defaults."""
        url = urlparse(self.endpoint) if self.endpoint else None
        host = self.host or (url.hostname if url is not None and url.hostname else None) or "127.0.0.1"
        port = self.port
        if port is None:
            port = (url.port if url is not None and url.port is not None else None) or 4840
        path = (url.path if url is not None and url.path not in ("", "/") else "") or "/petra"
        return host, port, path
