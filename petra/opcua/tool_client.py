"""The asyncua client behind `petra opcua ...` (petra.opcua.tool parses the options).

One connection per run: the endpoints are asked for first (GetEndpoints over an
unsecured channel, which every server answers), so that a policy or a user token
the server does not offer, or a server certificate that is not the trusted one,
is refused with a clear message before any session is opened.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import getpass
import json
import os
import struct
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from asyncua import Client, Node, ua
from asyncua.crypto import security_policies, uacrypto

MODES = {"Sign": ua.MessageSecurityMode.Sign, "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt}
POLICIES = ("Basic256Sha256", "Aes256Sha256RsaPss", "Aes128Sha256RsaOaep")
CONDITION_FIELDS = ("ConditionName", "ActiveState/Id", "AckedState/Id", "ConfirmedState/Id",
                    "ShelvingState/CurrentState", "SuppressedOrShelved", "Retain", "Comment", "NodeId")
"""Fields of a condition event printed after the base event's."""
INTEGER_TYPES = {
    ua.VariantType.SByte: "b", ua.VariantType.Byte: "B", ua.VariantType.Int16: "h", ua.VariantType.UInt16: "H",
    ua.VariantType.Int32: "i", ua.VariantType.UInt32: "I", ua.VariantType.Int64: "q", ua.VariantType.UInt64: "Q",
}
TRUE = frozenset({"true", "1", "on", "yes"})
FALSE = frozenset({"false", "0", "off", "no"})


class ToolError(Exception):
    """Something to tell the user on stderr; exit status `status`."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def run(args: argparse.Namespace) -> int:
    action = ACTIONS[args.opcua_command]
    try:
        return asyncio.run(action(args))
    except ToolError as exc:
        print(f"petra opcua: {exc}", file=sys.stderr)
        return exc.status
    except ua.UaStatusCodeError as exc:
        print(f"petra opcua: {args.endpoint} refused the request: {_status(exc.code)}", file=sys.stderr)
        return 1
    except (OSError, TimeoutError, ua.UaError) as exc:
        print(f"petra opcua: {args.endpoint}: {_reason(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


# -- connecting -----------------------------------------------------------------------------------


def parse_policy(text: str | None, has_cert: bool) -> tuple[str, ua.MessageSecurityMode]:
    """`None`, or `<Policy>_<Mode>` as PETRA's opcua.security_policies names them."""
    if text is None:
        text = "Basic256Sha256_SignAndEncrypt" if has_cert else "None"
    if text == "None":
        return "None", ua.MessageSecurityMode.None_
    policy, _, mode = text.partition("_")
    if policy not in POLICIES or mode not in MODES:
        known = ", ".join(f"{p}_{m}" for p in POLICIES for m in MODES)
        raise ToolError(f"unknown --policy {text!r}: None or one of {known}", 2)
    return policy, MODES[mode]


def _policy_uri(policy: str) -> str:
    if policy == "None":
        return str(security_policies.SecurityPolicyNone.URI)
    return str(getattr(security_policies, f"SecurityPolicy{policy}").URI)


def _describe(endpoint: ua.EndpointDescription) -> str:
    policy = endpoint.SecurityPolicyUri.rsplit("#", 1)[-1]
    mode = endpoint.SecurityMode.name.rstrip("_")
    return policy if policy == "None" else f"{policy}_{mode}"


def _password(args: argparse.Namespace) -> str | None:
    if args.user is None:
        return None
    if args.password is not None:
        return str(args.password)
    env = os.environ.get(args.password_env)
    if env is not None:
        return env
    if sys.stdin.isatty():
        return getpass.getpass(f"password for {args.user}: ")
    raise ToolError(f"--user {args.user} needs --password or ${args.password_env}", 2)


def _cert_uri(cert_path: str) -> str | None:
    cert = uacrypto.x509_from_der(_der(Path(cert_path)))
    try:
        from cryptography import x509

        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    except Exception:
        return None
    return str(uris[0]) if uris else None


def _der(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ToolError(f"cannot read {path}: {exc.strerror or exc}", 2) from None
    if b"-----BEGIN" in data:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        try:
            return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
        except ValueError as exc:
            raise ToolError(f"{path}: not a PEM certificate ({exc})", 2) from None
    return data


def _thumbprint(der: bytes) -> str:
    import hashlib

    return hashlib.sha1(der, usedforsecurity=False).hexdigest()  # what OPC-UA tools show


def _first_cert(chain: bytes) -> bytes:
    """The leaf of a DER chain (an endpoint's ServerCertificate may carry the issuers after it)."""
    if len(chain) < 4 or chain[0] != 0x30:
        return chain
    length = chain[1]
    if length < 0x80:
        return chain[:2 + length]
    count = length & 0x7F
    return chain[:2 + count + int.from_bytes(chain[2:2 + count], "big")]


@contextlib.asynccontextmanager
async def connected(args: argparse.Namespace) -> AsyncIterator[Client]:
    """A session with the server as the options say, closed on exit; ToolError with the reason otherwise."""
    url = args.endpoint
    if not url.startswith("opc.tcp://"):
        raise ToolError(f"--endpoint {url!r}: expected opc.tcp://host:port", 2)
    if bool(args.cert) != bool(args.key):
        raise ToolError("--cert and --key go together", 2)
    policy, mode = parse_policy(args.policy, bool(args.cert))
    if policy != "None" and not args.cert:
        raise ToolError(f"--policy {args.policy} needs the client's --cert and --key", 2)
    password = _password(args)
    probe = Client(url, timeout=args.timeout)
    try:
        endpoints = await probe.connect_and_get_server_endpoints()
    except (OSError, TimeoutError) as exc:
        raise ToolError(f"cannot reach {url}: {_reason(exc)}") from None
    except ua.UaStatusCodeError as exc:
        raise ToolError(f"{url} refused to list its endpoints: {_status(exc.code)}") from None
    uri = _policy_uri(policy)
    chosen = next((e for e in endpoints if e.SecurityPolicyUri == uri and e.SecurityMode == mode), None)
    offered = ", ".join(sorted({_describe(e) for e in endpoints})) or "none"
    if chosen is None:
        shown = "None" if policy == "None" else f"{policy}_{mode.name}"
        raise ToolError(f"{url} offers no endpoint with security {shown} (it offers: {offered})")
    server_der = _first_cert(bytes(chosen.ServerCertificate or b""))
    if args.trust_server:
        trusted = _der(Path(args.trust_server))
        if server_der != trusted:
            got = _thumbprint(server_der) if server_der else "no certificate"
            raise ToolError(f"{url} presents certificate {got}, not the trusted {args.trust_server} "
                            f"({_thumbprint(trusted)}); refused")
    tokens = {t.TokenType for t in chosen.UserIdentityTokens or []}
    wanted = ua.UserTokenType.UserName if args.user else ua.UserTokenType.Anonymous
    if tokens and wanted not in tokens:
        if wanted == ua.UserTokenType.Anonymous:
            raise ToolError(f"{url} does not accept anonymous clients on this endpoint: give --user")
        raise ToolError(f"{url} does not accept a user name and password on this endpoint")

    # asyncua probes the server every watchdog_intervall with that as its timeout (1 s by default): a server
    # busy for a second would end the session; the request timeout is the patience the user asked for
    client = Client(url, timeout=args.timeout, watchdog_intervall=args.timeout)
    if args.user:
        client.set_user(args.user)
        client.set_password(password or "")
    if policy != "None":
        cert_uri = _cert_uri(args.cert)
        if cert_uri:
            client.application_uri = cert_uri
        try:
            await client.set_security(getattr(security_policies, f"SecurityPolicy{policy}"), args.cert, args.key,
                                      server_certificate=server_der, mode=mode)
        except (OSError, ValueError) as exc:
            raise ToolError(f"cannot use --cert/--key: {_reason(exc)}", 2) from None
    try:
        await client.connect()
    except ua.UaStatusCodeError as exc:
        with contextlib.suppress(Exception):
            await client.disconnect()
        status = ua.StatusCode(ua.UInt32(exc.code))
        if status.name.startswith("BadCertificate") or status.name == "BadSecurityChecksFailed":
            raise ToolError(f"{url} refused the client certificate {args.cert}: {_status(status)}; a server keeps "
                            f"refused certificates for an administrator to trust (PETRA: move it from "
                            f"pki/rejected to pki/trusted)") from None
        who = f"user {args.user!r}" if args.user else "an anonymous client"
        raise ToolError(f"{url} refused {who}: {_status(exc.code)}") from None
    except (OSError, TimeoutError, ua.UaError) as exc:
        with contextlib.suppress(Exception):
            await client.disconnect()
        hint = " (is the client certificate trusted by the server?)" if policy != "None" else ""
        raise ToolError(f"cannot open a session with {url}: {_reason(exc)}{hint}") from None
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()  # asyncio's "Connect call failed (...)" hides the reason
    return str(exc) or type(exc).__name__


def _code(dv: ua.DataValue) -> ua.StatusCode:
    return dv.StatusCode if dv.StatusCode is not None else ua.StatusCode()


def _status(code: int | ua.StatusCode) -> str:
    status = code if isinstance(code, ua.StatusCode) else ua.StatusCode(ua.UInt32(code))
    return status.name if status.is_good() else f"{status.name} ({status.doc.rstrip('.')})"


async def _namespace(client: Client, ns: str | None) -> int | None:
    if ns is None:
        return None
    if ns.isdigit():
        return int(ns)
    try:
        return int(await client.get_namespace_index(ns))
    except ValueError:
        raise ToolError(f"the server has no namespace {ns!r}") from None


def parse_node(text: str, ns: int | None) -> ua.NodeId:
    """A NodeId string (`ns=2;s=x`, `i=2253`), or with a namespace index a plain name (`tank1.level`)."""
    head = text.split("=", 1)[0]
    if "=" in text and head in ("ns", "i", "s", "g", "b", "nsu"):
        try:
            return ua.NodeId.from_string(text)
        except (ValueError, ua.UaError) as exc:
            raise ToolError(f"not a NodeId: {text!r} ({exc})", 2) from None
    if ns is None:
        raise ToolError(f"not a NodeId: {text!r} (give ns=<index>;s=<name>, or --ns with a plain name)", 2)
    return ua.NodeId(ua.String(text), ua.Int16(ns))


def _emit(args: argparse.Namespace, record: dict[str, Any], text: str) -> None:
    print(json.dumps(record, default=str) if args.json else text, flush=True)


def _time(value: dt.datetime | None) -> str:
    return "-" if value is None else value.isoformat(timespec="milliseconds")


def _type_name(datatype: ua.NodeId) -> str:
    if datatype.NamespaceIndex == 0 and isinstance(datatype.Identifier, int):
        return str(ua.ObjectIdNames.get(datatype.Identifier, datatype.to_string()))
    return datatype.to_string()


# -- browse ---------------------------------------------------------------------------------------


async def browse(args: argparse.Namespace) -> int:
    async with connected(args) as client:
        start = client.get_node(parse_node(args.node, await _namespace(client, args.ns)))
        try:
            name = (await start.read_browse_name()).to_string()
        except ua.UaStatusCodeError as exc:
            raise ToolError(f"{args.node}: {_status(exc.code)}") from None
        _emit(args, {"node": start.nodeid.to_string(), "browse_name": name, "depth": 0},
              f"{name}  [{start.nodeid.to_string()}]")
        await _browse(args, client, start, 1)
    return 0


async def _browse(args: argparse.Namespace, client: Client, node: Node, depth: int) -> None:
    if depth > args.depth:
        return
    refs = await node.get_references(refs=ua.ObjectIds.HierarchicalReferences, direction=ua.BrowseDirection.Forward)
    shown = refs[:args.max_children]
    values: list[ua.DataValue | None] = [None] * len(shown)
    if args.values:
        variables = [i for i, r in enumerate(shown) if r.NodeClass == ua.NodeClass.Variable]
        if variables:
            read = await client.read_attributes([client.get_node(shown[i].NodeId) for i in variables])
            for i, read_value in zip(variables, read, strict=True):
                values[i] = read_value
    indent = "  " * depth
    for ref, dv in zip(shown, values, strict=True):
        nodeid = ref.NodeId.to_string()
        record: dict[str, Any] = {"node": nodeid, "browse_name": ref.BrowseName.to_string(),
                                  "class": ref.NodeClass.name, "depth": depth}
        text = f"{indent}{ref.BrowseName.to_string()}  [{nodeid}] {ref.NodeClass.name}"
        if dv is not None:
            record.update(value=_plain(dv.Value.Value if dv.Value else None), status=_status(_code(dv)))
            text += f" = {_shown(dv.Value.Value if dv.Value else None)} ({_code(dv).name})"
        _emit(args, record, text)
        if ref.NodeClass in (ua.NodeClass.Object, ua.NodeClass.Variable):
            await _browse(args, client, client.get_node(ref.NodeId), depth + 1)
    if len(refs) > len(shown):
        _emit(args, {"more": len(refs) - len(shown), "depth": depth},
              f"{indent}... {len(refs) - len(shown)} more (raise --max-children)")


# -- read -----------------------------------------------------------------------------------------


async def _unit(node: Node) -> str | None:
    try:
        eu = await (await node.get_child("0:EngineeringUnits")).read_value()
    except (ua.UaStatusCodeError, ua.UaError):
        return None
    text = getattr(getattr(eu, "DisplayName", None), "Text", None)
    return str(text) if text else None


async def read(args: argparse.Namespace) -> int:
    async with connected(args) as client:
        ns = await _namespace(client, args.ns)
        nodes = [client.get_node(parse_node(text, ns)) for text in args.nodes]
        values = await client.read_attributes(nodes, ua.AttributeIds.Value)
        types = await client.read_attributes(nodes, ua.AttributeIds.DataType)
        failed = 0
        for text, node, dv, dtype in zip(args.nodes, nodes, values, types, strict=True):
            nodeid = node.nodeid.to_string()
            status = _code(dv)
            if not status.is_good() and (dv.Value is None or dv.Value.Value is None):
                failed += 1
                _emit(args, {"node": nodeid, "status": status.name}, f"{text}: {_status(status)}")
                continue
            variant = dv.Value
            value = variant.Value if variant is not None else None
            vtype = variant.VariantType.name if variant is not None else "Null"
            datatype = _type_name(dtype.Value.Value) if dtype.Value is not None and dtype.Value.Value else vtype
            unit = await _unit(node)
            record = {"node": nodeid, "value": _plain(value), "type": datatype, "variant": vtype,
                      "status": status.name, "source_timestamp": dv.SourceTimestamp,
                      "server_timestamp": dv.ServerTimestamp, "unit": unit}
            _emit(args, record, f"{text} = {_shown(value)}{' ' + unit if unit else ''}  {datatype}  {status.name}  "
                                f"source {_time(dv.SourceTimestamp)}  server {_time(dv.ServerTimestamp)}")
        return 1 if failed else 0


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, ua.LocalizedText):
        return value.Text
    if isinstance(value, ua.NodeId | ua.QualifiedName):
        return value.to_string()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _shown(value: Any) -> str:
    plain = _plain(value)
    return json.dumps(plain, default=str) if isinstance(plain, str | list) else str(plain)


# -- write ----------------------------------------------------------------------------------------


def coerce(text: str, vtype: ua.VariantType) -> Any:
    """The value `text` names as an OPC-UA `vtype`; ToolError when it is not one."""
    if vtype == ua.VariantType.Boolean:
        low = text.strip().lower()
        if low in TRUE or low in FALSE:
            return low in TRUE
        raise ToolError(f"{text!r} is not a Boolean (true/false, 1/0, on/off)", 2)
    if vtype in INTEGER_TYPES:
        try:
            value = int(text, 0)
        except ValueError:
            raise ToolError(f"{text!r} is not a whole number for {vtype.name}", 2) from None
        try:
            struct.pack("<" + INTEGER_TYPES[vtype], value)
        except struct.error:
            raise ToolError(f"{value} does not fit in {vtype.name}", 2) from None
        return value
    if vtype in (ua.VariantType.Double, ua.VariantType.Float):
        try:
            return float(text)
        except ValueError:
            raise ToolError(f"{text!r} is not a number for {vtype.name}", 2) from None
    if vtype in (ua.VariantType.String, ua.VariantType.LocalizedText):
        return text if vtype == ua.VariantType.String else ua.LocalizedText(text)
    if vtype == ua.VariantType.DateTime:
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            raise ToolError(f"{text!r} is not an ISO 8601 time", 2) from None
    raise ToolError(f"writing a {vtype.name} is not supported by this tool", 2)


def _variant_type(name: str) -> ua.VariantType:
    try:
        return ua.VariantType[name]
    except KeyError:
        raise ToolError(f"unknown --type {name!r} (e.g. Boolean, Int32, Int64, Double, String)", 2) from None


async def write(args: argparse.Namespace) -> int:
    pairs = []
    for item in args.assignments:
        node_text, sep, value_text = item.rpartition("=")
        if not sep or not node_text:
            raise ToolError(f"{item!r}: expected NODE=VALUE", 2)
        pairs.append((node_text, value_text))
    forced = _variant_type(args.variant_type) if args.variant_type else None
    async with connected(args) as client:
        ns = await _namespace(client, args.ns)
        nodes = [client.get_node(parse_node(node_text, ns)) for node_text, _ in pairs]
        vtypes: list[ua.VariantType] = []
        if forced is not None:
            vtypes = [forced] * len(nodes)
        else:
            for (node_text, _), dv in zip(pairs, await client.read_attributes(nodes, ua.AttributeIds.DataType),
                                          strict=True):
                datatype = dv.Value.Value if dv.Value is not None else None
                if not _code(dv).is_good() or datatype is None:
                    raise ToolError(f"{node_text}: {_status(_code(dv))}")
                if datatype.NamespaceIndex != 0 or not isinstance(datatype.Identifier, int) or not (
                        1 <= datatype.Identifier <= 25):
                    raise ToolError(f"{node_text}: data type {_type_name(datatype)} is not a built-in type; "
                                    "give --type")
                vtypes.append(ua.VariantType(datatype.Identifier))
        datavalues = [ua.DataValue(ua.Variant(coerce(text, vt), vt)) for (_, text), vt in zip(pairs, vtypes,
                                                                                             strict=True)]
        try:
            results = await client.write_values(nodes, [dv for dv in datavalues], raise_on_partial_error=False)
        except ua.UaStatusCodeError as exc:
            raise ToolError(f"the write was refused: {_status(exc.code)}") from None
        failed = 0
        for (node_text, value_text), vt, status in zip(pairs, vtypes, results, strict=True):
            failed += not status.is_good()
            _emit(args, {"node": node_text, "value": value_text, "type": vt.name, "status": status.name},
                  f"{node_text} := {value_text} ({vt.name}): {_status(status)}")
        return 1 if failed else 0


# -- subscribe and events -------------------------------------------------------------------------


class _Until:
    """Counts notifications; `done` is set after `count` of them."""

    def __init__(self, count: int | None) -> None:
        self.count = count
        self.seen = 0
        self.done = asyncio.Event()

    def tick(self) -> None:
        self.seen += 1
        if self.count is not None and self.seen >= self.count:
            self.done.set()

    async def wait(self, seconds: float | None) -> None:
        with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
            await asyncio.wait_for(self.done.wait(), seconds)


class _DataHandler:
    def __init__(self, args: argparse.Namespace, names: dict[str, str], until: _Until) -> None:
        self.args, self.names, self.until = args, names, until

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        if self.until.done.is_set():
            return
        dv = data.monitored_item.Value
        nodeid = node.nodeid.to_string()
        status = _code(dv).name if dv is not None else "Good"
        source = dv.SourceTimestamp if dv is not None else None
        _emit(self.args, {"node": nodeid, "value": _plain(val), "status": status, "source_timestamp": source},
              f"{_time(source)}  {self.names.get(nodeid, nodeid)} = {_shown(val)}  {status}")
        self.until.tick()

    def status_change_notification(self, status: Any) -> None:
        print(f"petra opcua: subscription status {status}", file=sys.stderr, flush=True)


async def subscribe(args: argparse.Namespace) -> int:
    until = _Until(args.count)
    async with connected(args) as client:
        ns = await _namespace(client, args.ns)
        nodes = [client.get_node(parse_node(text, ns)) for text in args.nodes]
        names = {n.nodeid.to_string(): text for n, text in zip(nodes, args.nodes, strict=True)}
        sub = await client.create_subscription(args.interval_ms, _DataHandler(args, names, until))
        handles = await sub.subscribe_data_change(nodes)
        refused = 0
        for text, handle in zip(args.nodes, handles, strict=True):
            if isinstance(handle, ua.StatusCode):
                refused += 1
                print(f"petra opcua: {text}: {_status(handle)}", file=sys.stderr)
        if refused == len(nodes):
            raise ToolError("no node could be monitored")
        await until.wait(args.seconds)
        with contextlib.suppress(Exception):
            await sub.delete()
    return 1 if refused else 0


def event_fields(event: Any) -> dict[str, Any]:
    """An event's fields as plain values, by the names the select clauses gave them."""
    fields: dict[str, Any] = {}
    for name, value in vars(event).items():
        if name in ("server_handle", "select_clauses", "event_fields", "data_types", "emitting_node",
                    "internal_properties") or name.startswith("_"):
            continue
        fields[name] = _plain(value)
    event_type = getattr(event, "EventType", None)
    if isinstance(event_type, ua.NodeId):
        fields["EventType"] = _type_name(event_type)
    return fields


class _EventHandler:
    def __init__(self, args: argparse.Namespace, until: _Until) -> None:
        self.args, self.until = args, until

    def event_notification(self, event: Any) -> None:
        if self.until.done.is_set():
            return
        fields = event_fields(event)
        text = (f"{_time(fields.get('Time'))}  {fields.get('EventType')}  severity {fields.get('Severity')}  "
                f"{fields.get('SourceName')}: {fields.get('Message')}")
        extra = [f"{name}={_shown(fields[name])}" for name in CONDITION_FIELDS if fields.get(name) is not None]
        if extra:
            text += "\n    " + "  ".join(extra)
        _emit(self.args, fields, text)
        self.until.tick()

    def status_change_notification(self, status: Any) -> None:
        print(f"petra opcua: subscription status {status}", file=sys.stderr, flush=True)


async def events(args: argparse.Namespace) -> int:
    until = _Until(args.count)
    async with connected(args) as client:
        source = client.get_node(parse_node(args.node, await _namespace(client, args.ns)))
        sub = await client.create_subscription(args.interval_ms, _EventHandler(args, until))
        types = [client.get_node(ua.ObjectIds.BaseEventType), client.get_node(ua.ObjectIds.AlarmConditionType)]
        try:
            await sub.subscribe_events(source, types)
        except ua.UaStatusCodeError as exc:
            raise ToolError(f"{args.node}: events refused: {_status(exc.code)}") from None
        if args.refresh:
            if sub.subscription_id is None:
                raise ToolError("the server created no subscription")
            await condition_refresh(client, sub.subscription_id)
        await until.wait(args.seconds)
        with contextlib.suppress(Exception):
            await sub.delete()
    return 0


async def condition_refresh(client: Client, subscription_id: int) -> None:
    """ConditionRefresh (Part 9): the server replays its retained conditions between RefreshStart and End."""
    try:
        await client.get_node(ua.ObjectIds.ConditionType).call_method(
            ua.NodeId(ua.Int32(ua.ObjectIds.ConditionType_ConditionRefresh)),
            ua.Variant(subscription_id, ua.VariantType.UInt32))
    except ua.UaStatusCodeError as exc:
        raise ToolError(f"ConditionRefresh refused: {_status(exc.code)}") from None


ACTIONS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "browse": browse, "read": read, "write": write, "subscribe": subscribe, "events": events,
}


def application_uri(name: str) -> str:
    """The ApplicationUri of a client certificate made by `petra opcua cert` (also its SAN URI)."""
    import socket

    return f"urn:{socket.gethostname()}:petra:{name}"


def make_cert(args: argparse.Namespace) -> int:
    """`petra opcua cert`: a self-signed client application certificate (OPC 10000-6 6.2.2) and its key."""
    import socket

    from asyncua.crypto import cert_gen
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import ExtendedKeyUsageOID

    out = Path(args.out)
    cert_file, key_file = out / f"{args.name}.der", out / f"{args.name}.pem"
    if not args.force and (cert_file.exists() or key_file.exists()):
        print(f"petra opcua: {cert_file} or {key_file} exists (--force replaces them)", file=sys.stderr)
        return 1
    host = socket.gethostname()
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key, args.name, {"organizationName": "PETRA"},
        [x509.UniformResourceIdentifier(application_uri(args.name)), x509.DNSName(host)],
        extended=[ExtendedKeyUsageOID.CLIENT_AUTH], days=args.days)
    try:
        out.mkdir(parents=True, exist_ok=True)
        cert_file.write_bytes(cert.public_bytes(Encoding.DER))
        key_file.touch(mode=0o600)
        key_file.chmod(0o600)
        key_file.write_bytes(cert_gen.dump_private_key_as_pem(key))
    except OSError as exc:
        print(f"petra opcua: cannot write to {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    der = cert_file.read_bytes()
    print(f"certificate {cert_file} (thumbprint {_thumbprint(der)}, {application_uri(args.name)})")
    print(f"key         {key_file} (mode 600)")
    print(f"trust it on the server: copy {cert_file.name} into its pki/trusted folder")
    return 0
