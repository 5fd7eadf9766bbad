"""Options that are valid on their own but have no effect where they are given: said, never ignored.

The schema checks each option alone; some only mean something together with
another (`length` with a string, `word_order` with a 32- or 64-bit value,
`compression_level` with zstd). A file that sets one where it does nothing
gets a located warning saying so (and `petra check --strict` refuses it), the
same promise `petra.config.unenforced` keeps for options PETRA cannot enforce
yet.
"""

from __future__ import annotations

from typing import Any

from petra.config.context import CheckContext, mappings, section

_MODBUS_WIDE = frozenset({"int32", "uint32", "int64", "float32", "float64"})
_MODBUS_BIT_TABLES = frozenset({"coil", "discrete_input"})


def check_ignored(ctx: CheckContext) -> None:
    """Warn for every option set where it has no effect."""
    data = ctx.data if isinstance(ctx.data, dict) else {}
    _s7(ctx, data.get("s7"))
    _modbus(ctx, data.get("modbus"))
    _storage(ctx, section(data, "storage"), "storage" in data)
    mqtt = section(data, "mqtt")
    if mqtt.get("password") and not mqtt.get("username"):
        ctx.warn(("mqtt", "password"), "has no effect without mqtt.username: MQTT sends a password only "
                 "together with a user name", key=True)
    tcp = section(section(data, "control"), "tcp")
    if tcp.get("cert_file"):
        for key in ("self_signed", "self_signed_dir"):
            if key in tcp:
                ctx.warn(("control", "tcp", key), "has no effect with cert_file: the configured certificate is "
                         "served", key=True)
    alarms = section(data, "alarms")
    for index, contact in mappings(alarms.get("contacts")):
        if "priority" in contact:
            ctx.warn(("alarms", "contacts", index, "priority"), "has no effect: the order of the contacts in "
                     "alarms.escalation_chains decides who is notified first", key=True)
    for index, alarm in mappings(alarms.get("alarms")):
        if "description" in alarm:
            ctx.warn(("alarms", "alarms", index, "description"), "is not shown anywhere yet (not in petra-ctl "
                     "alarms, the control API or notifications); use message_template for what people read",
                     key=True)


def _s7(ctx: CheckContext, value: Any) -> None:
    plcs = [(("s7",), value)] if isinstance(value, dict) else [(("s7", i), p) for i, p in mappings(value)]
    for base, plc in plcs:
        for index, mapping in mappings(plc.get("mappings")):
            if "length" in mapping and mapping.get("data_type") != "string":
                ctx.warn((*base, "mappings", index, "length"), "has no effect: length is only used with "
                         "data_type string", key=True)


def _modbus(ctx: CheckContext, connections: Any) -> None:
    for conn_index, conn in mappings(connections):
        rtu = conn.get("transport") == "rtu"
        if rtu:
            for key in ("host", "port"):
                if key in conn:
                    ctx.warn(("modbus", conn_index, key), "has no effect with transport rtu (the bus is "
                             "serial.port)", key=True)
        elif "serial" in conn:
            ctx.warn(("modbus", conn_index, "serial"), "has no effect unless transport is rtu", key=True)
        for index, mapping in mappings(conn.get("mappings")):
            path = ("modbus", conn_index, "mappings", index)
            data_type, bits = mapping.get("data_type"), mapping.get("table") in _MODBUS_BIT_TABLES
            if "length" in mapping and data_type != "string":
                ctx.warn((*path, "length"), "has no effect: length is only used with data_type string", key=True)
            if "word_order" in mapping and (bits or data_type not in _MODBUS_WIDE):
                ctx.warn((*path, "word_order"), f"has no effect with data_type {data_type}: word_order orders "
                         "the registers of a 32- or 64-bit value", key=True)
            if "byte_order" in mapping and bits:
                ctx.warn((*path, "byte_order"), f"has no effect on a {mapping.get('table')}, which holds one bit",
                         key=True)


def _storage(ctx: CheckContext, storage: dict[str, Any], has_storage: bool) -> None:
    local = section(storage, "local")
    if "compression_level" in local and local.get("compression", "zstd") != "zstd":
        ctx.warn(("storage", "local", "compression_level"), f"has no effect with compression "
                 f"{local.get('compression')}: only zstd takes a level", key=True)
    remote = section(storage, "remote")
    if "url" in remote and "host" in remote:
        ctx.warn(("storage", "remote", "url"), "has no effect: storage.remote.host (and port) are given and win",
                 key=True)
    if has_storage:
        return
    for index, signal in mappings(ctx.data.get("signals") if isinstance(ctx.data, dict) else None):
        if signal.get("history") not in (None, False):
            ctx.warn(("signals", index, "history"), "has no effect: there is no storage section, so no signal "
                     "is recorded", key=True)
