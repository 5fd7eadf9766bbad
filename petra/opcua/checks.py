"""Whole-plant checks of the `opcua` section, each a located error (file:line: what was expected).

- `endpoint`: an opc.tcp URL whose port (when it has one) is a number from 1 to 65535;
- `security_policies`: known names only (with a did-you-mean); "None" listed is a warning (no signing, no
  encryption: passwords and values cross the network in clear);
- `cert_file` and `key_file`: files that exist and can be read;
- `allow_anonymous` with "None": a warning (anyone on the network can read the plant).
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from petra.config.context import CheckContext, section
from petra.config.errors import near_miss
from petra.opcua.settings import POLICIES


def check(ctx: CheckContext) -> None:
    """The endpoint parses, the policies are known, the certificate files exist."""
    opcua = section(ctx.data, "opcua")
    endpoint = opcua.get("endpoint")
    if isinstance(endpoint, str) and endpoint.startswith("opc.tcp://"):
        _endpoint(ctx, endpoint)
    policies = opcua.get("security_policies")
    if isinstance(policies, list):
        for i, name in enumerate(policies):
            if not isinstance(name, str):
                continue
            if name not in POLICIES:
                typo = near_miss(name, list(POLICIES))
                hint = f" (did you mean '{typo}'?)" if typo else ""
                ctx.error(("opcua", "security_policies", i), f"unknown security policy '{name}'{hint}: expected "
                                                               f"one of {', '.join(POLICIES)}")
            elif name == "None":
                ctx.warn(("opcua", "security_policies", i), "\"None\" offers an endpoint without signing or "
                                                            "encryption: user names, passwords and values cross "
                                                            "the network in clear")
        if opcua.get("allow_anonymous") is True and "None" in policies:
            ctx.warn(("opcua", "allow_anonymous"), "with the \"None\" policy, anyone who reaches the port reads "
                                                   "the plant without a certificate or a user", key=True)
    for key in ("cert_file", "key_file"):
        path = opcua.get(key)
        if isinstance(path, str) and path:
            if not os.path.isfile(path):
                ctx.error(("opcua", key), f"{key} '{path}' does not exist (expected a readable certificate file; "
                                          "leave cert_file and key_file out for a self-signed certificate made "
                                          "in pki_dir)")
            elif not os.access(path, os.R_OK):
                ctx.error(("opcua", key), f"{key} '{path}' cannot be read by this user")


def _endpoint(ctx: CheckContext, endpoint: str) -> None:
    try:
        url = urlparse(endpoint)
        port = url.port
    except ValueError:
        ctx.error(("opcua", "endpoint"), f"bad port in '{endpoint}': expected opc.tcp://HOST:PORT/PATH with a port "
                                         "from 1 to 65535")
        return
    if not url.hostname:
        ctx.error(("opcua", "endpoint"), f"no host in '{endpoint}': expected opc.tcp://HOST:PORT/PATH")
    elif port == 0:
        ctx.error(("opcua", "endpoint"), f"bad port in '{endpoint}': expected a port from 1 to 65535")
