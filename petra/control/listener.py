"""What the control API's TCP listener serves with: its TLS context, and whether it may open at all.

TLS (`tcp_tls`), decided in this order:

1. `control.tcp.cert_file` and `key_file`: that certificate (a real one; README, "Users, roles and TLS");
2. else `control.tcp.self_signed: true`, or `self_signed` left unset while `security.require_tls` is set
   or the listener's host is reachable from other machines (not loopback): a self-signed certificate
   PETRA makes at first start in `control.tcp.self_signed_dir` and reuses (`petra.security.selfsigned`),
   its SHA-256 fingerprint logged and audited, so nothing crosses the network in plain text by default;
3. else plain HTTP, which only a loopback listener gets unasked; `self_signed: false` beyond loopback is
   plain HTTP the file asked for, warned about at start, and refused with `security.require_tls`.

Every context is TLS 1.2 or later and restricted to `security.allowed_cipher_suites`
(`petra.control.server.tls_context`).

A way in (`no_way_in`): a TCP caller must be able to authenticate, with a token of `control.tcp.tokens` or a
user (or user token) of the users file. With neither, the TCP listener does not open: the plant and the
Unix socket (local admin) run, and the log says, at the config's `control.tcp`, what to add. It is checked
whenever the control actor starts, so after `petra user add` a restart of ``petra/services/control`` (or of
PETRA) opens it. It does not stop PETRA: a control actor restarted while the users file happens to be empty
must not take the plant down with it. A running listener stays open when the last user is removed; its
callers are then refused like any caller without credentials.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from petra.config.errors import ConfigError
from petra.config.model import PlantConfig
from petra.config.yaml_source import parse_yaml
from petra.control import server
from petra.control.http_host import PlaintextRefused, is_loopback
from petra.control.settings import TcpSettings
from petra.security.tls import cipher_policy, configured_suites
from petra.security.users import UsersFile, UsersFileError

if TYPE_CHECKING:
    from petra.security.selfsigned import SelfSigned

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListenerTls:
    """The TCP listener's TLS context (None: plain HTTP) and the self-signed pair it uses, if any."""

    context: ssl.SSLContext | None
    self_signed: SelfSigned | None = None


def wants_self_signed(config: PlantConfig, tcp: TcpSettings) -> bool:
    """Whether the listener is served with PETRA's self-signed certificate (see the module's docstring)."""
    if tcp.cert_file:
        return False
    if tcp.self_signed is not None:
        return tcp.self_signed
    return config.security.require_tls or not is_loopback(tcp.host)


def tcp_tls(config: PlantConfig, tcp: TcpSettings) -> ListenerTls:
    """The TLS the listener serves with; PlaintextRefused when `security.require_tls` forbids plain HTTP."""
    suites = configured_suites(config)
    if tcp.cert_file:
        assert tcp.key_file is not None  # the schema requires key_file with cert_file
        return ListenerTls(server.tls_context(tcp.cert_file, tcp.key_file, suites))
    if wants_self_signed(config, tcp):
        from petra.security.selfsigned import ensure_self_signed, key_type_for  # cryptography: ~14 MB, only here

        pair = ensure_self_signed(Path(tcp.self_signed_dir), tcp.host,
                                  key_type=key_type_for(cipher_policy(suites).openssl))
        return ListenerTls(server.tls_context(str(pair.cert_file), str(pair.key_file), suites), pair)
    if config.security.require_tls:
        raise PlaintextRefused("security.require_tls is set but control.tcp.self_signed is false and there is no "
                               "cert_file and key_file: refusing to serve the control API over plain TCP")
    if not is_loopback(tcp.host):
        log.warning("control API on plain HTTP on %s (control.tcp.self_signed: false): tokens, passwords and "
                    "session cookies cross the network readable by anyone on the way", tcp.host)
    return ListenerTls(None)


def describe(pair: SelfSigned, listener: str = "control API", section: str = "control.tcp") -> str:
    """One log line about a self-signed pair: made or reused, where, its names and fingerprint (`listener`
    and `section` name whose it is, for another listener that takes its TLS from `tcp_tls`)."""
    what = f"made a self-signed certificate ({pair.reason})" if pair.created else "using the self-signed certificate"
    return (f"{listener} TLS: {what} {pair.cert_file} for {', '.join(pair.names)}, valid until "
            f"{pair.not_after:%Y-%m-%d}, SHA-256 fingerprint {pair.fingerprint}; clients must pin it "
            f"(or install a real certificate: {section}.cert_file and key_file)")


def users_file_entries(config: PlantConfig) -> int:
    """How many users and user tokens `security.users_file` holds (an absent file: 0; an unusable one: 0,
    and the log says why)."""
    try:
        found = UsersFile.load(config.security.users_file)
    except UsersFileError as exc:
        log.error("control API: the users file cannot be used, so nobody can log in over TCP:\n%s", exc)
        return 0
    return len(found.users) + len(found.tokens)


def no_way_in(config: PlantConfig, tcp: TcpSettings, config_tokens: int, users: int) -> str | None:
    """Why the TCP listener must not open (nobody could authenticate), located at `control.tcp`; None if it may.

    `config_tokens` counts `control.tcp.tokens`, `users` the users and user tokens of the users file.
    """
    if config_tokens or users:
        return None
    message = (f"no way in over TCP: control.tcp has no tokens and the users file {config.security.users_file} "
               "has no users; add the first one with `petra user add NAME --role admin` (or give "
               "control.tcp.tokens), then restart petra/services/control (petra-ctl restart) or PETRA; "
               "the Unix socket serves meanwhile")
    return f"{_where(config, ('control', 'tcp'))}: control.tcp: {message}"


def _where(config: PlantConfig, path: tuple[str, ...]) -> str:
    """``file:line:column`` of `path` in the config's file (read again: only on this error's path)."""
    if config.source is None:
        return "<config>"
    try:
        doc = parse_yaml(config.source.read_text(), str(config.source), os.environ, only=())
    except (OSError, UnicodeDecodeError, ConfigError):
        return str(config.source)
    line, column = doc.position(path, key=True)
    return f"{config.source}:{line}:{column}"
