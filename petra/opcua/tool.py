"""`petra opcua browse|read|write|subscribe|events`: an OPC-UA client for operators checking a server.

    petra opcua browse    --endpoint opc.tcp://host:4840 [--node ns=2;s=tank1] [--depth 2]
    petra opcua read      --endpoint URL NODE...                 value, type, status, timestamps, unit
    petra opcua write     --endpoint URL NODE=VALUE...           typed by the node's DataType; status per node
    petra opcua subscribe --endpoint URL NODE... [--interval-ms 100] [--count N] [--seconds S]
    petra opcua events    --endpoint URL [--node i=2253] [--refresh] [--count N] [--seconds S]
    petra opcua cert      --out DIR [--name NAME] [--days N]   a client application certificate and key

Every action takes --user/--password (or PETRA_OPCUA_PASSWORD), --policy (`None`, or
`Basic256Sha256_SignAndEncrypt`, `Aes256Sha256RsaPss_Sign`, ... as PETRA's `opcua.security_policies`
names them), --cert/--key (the client's application certificate; its URI becomes the client's
ApplicationUri) and --trust-server FILE (refuse a server whose certificate is not that one).
PETRA's server wants SignAndEncrypt and a trusted client certificate by default: make one with
`petra opcua cert --out DIR`, copy the .der it prints into the server's `pki/trusted` folder (or
move it from `pki/rejected` after a first refused attempt), then pass --cert/--key.
It works with any OPC-UA server, PETRA's or another. NODE is an OPC-UA NodeId string
(`ns=2;s=tank1.level`, `i=2253`) or, with --ns, a PETRA signal name (`tank1.level`).

Exit status: 0 when everything was done, 1 when the server refused something or could not be
reached (the reason on stderr), 2 for usage errors. Only this module's `register` is imported by
`petra --help`; the asyncua client loads when an action runs (petra.opcua.tool_client).
"""

from __future__ import annotations

import argparse

PASSWORD_ENV = "PETRA_OPCUA_PASSWORD"


def register(sub: argparse._SubParsersAction) -> None:
    opcua = sub.add_parser("opcua", help="browse, read, write, subscribe to and follow events of an OPC-UA server")
    actions = opcua.add_subparsers(dest="opcua_command", metavar="ACTION", required=True)

    p = actions.add_parser("browse", help="print the address space as a tree")
    _common(p)
    p.add_argument("--node", default="i=85", help="where to start (default i=85, the Objects folder)")
    p.add_argument("--depth", type=_positive_int, default=2, help="levels below --node (default 2)")
    p.add_argument("--max-children", type=_positive_int, default=1000,
                   help="children shown per node; the rest are counted (default 1000)")
    p.add_argument("--values", action="store_true", help="also read each variable's value")
    p.set_defaults(handler=_run)

    p = actions.add_parser("read", help="read variables: value, type, status, timestamps, unit")
    _common(p)
    p.add_argument("nodes", nargs="+", metavar="NODE")
    p.set_defaults(handler=_run)

    p = actions.add_parser("write", help="write values in one request; prints each node's status")
    _common(p)
    p.add_argument("assignments", nargs="+", metavar="NODE=VALUE")
    p.add_argument("--type", dest="variant_type", metavar="TYPE",
                   help="write this OPC-UA type (Boolean, Int32, Int64, Double, Float, String, ...) instead of "
                        "the node's DataType")
    p.set_defaults(handler=_run)

    p = actions.add_parser("subscribe", help="print data changes of variables")
    _common(p)
    p.add_argument("nodes", nargs="+", metavar="NODE")
    p.add_argument("--interval-ms", type=_positive_float, default=100.0, help="publishing interval (default 100)")
    _until(p)
    p.set_defaults(handler=_run)

    p = actions.add_parser("events", help="print events (alarms and conditions included) of a node")
    _common(p)
    p.add_argument("--node", default="i=2253", help="the event notifier (default i=2253, the Server object)")
    p.add_argument("--refresh", action="store_true",
                   help="call ConditionRefresh first: the retained conditions (active or unacknowledged alarms)")
    p.add_argument("--interval-ms", type=_positive_float, default=100.0, help="publishing interval (default 100)")
    _until(p)
    p.set_defaults(handler=_run)

    p = actions.add_parser("cert", help="make a client application certificate (URI and host in its SAN) and key")
    p.add_argument("--out", required=True, help="directory for NAME.der (the certificate) and NAME.pem (the key)")
    p.add_argument("--name", default="petra-opcua-tool", help="application name (default petra-opcua-tool)")
    p.add_argument("--days", type=_positive_int, default=730, help="validity in days (default 730)")
    p.add_argument("--force", action="store_true", help="replace an existing pair")
    p.set_defaults(handler=_cert)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--endpoint", required=True, help="opc.tcp://host:port[/path]")
    p.add_argument("--user", help="user name (default: anonymous)")
    p.add_argument("--password", help=f"password (default: ${PASSWORD_ENV}; asked for when a terminal is attached)")
    p.set_defaults(password_env=PASSWORD_ENV)  # tool_client reads it from here: it must not import this module
    p.add_argument("--policy", default=None,
                   help="security policy and mode, e.g. Basic256Sha256_SignAndEncrypt (default: that one when "
                        "--cert is given, else None)")
    p.add_argument("--cert", help="client application certificate (PEM or DER)")
    p.add_argument("--key", help="the certificate's private key (PEM or DER)")
    p.add_argument("--trust-server", metavar="FILE",
                   help="the server certificate to trust; a server presenting another one is refused")
    p.add_argument("--ns", help="namespace URI or index: NODE may then be a plain name (ns=<index>;s=NAME)")
    p.add_argument("--timeout", type=_positive_float, default=10.0, help="request timeout in seconds (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON object per line instead of text")


def _until(p: argparse.ArgumentParser) -> None:
    p.add_argument("--count", type=_positive_int, help="stop after this many notifications")
    p.add_argument("--seconds", type=_positive_float, help="stop after this many seconds (default: until Ctrl-C)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def _run(args: argparse.Namespace) -> int:
    from petra.opcua.tool_client import run

    return run(args)


def _cert(args: argparse.Namespace) -> int:
    from petra.opcua.tool_client import make_cert

    return make_cert(args)
