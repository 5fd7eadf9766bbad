"""Cross-checks of the alarm, driver and notification sections.

They record which signals the drivers write (MQTT subscriptions, S7 and Modbus
mappings that read from the device) and which signals alarms and actions read,
and check references between sections (escalation chains, unique ids).
"""

from __future__ import annotations

from typing import Any

from petra.config.context import CheckContext, Writer, mappings, section
from petra.config.errors import Path_, did_you_mean, near_miss
from petra.config.ignored import check_ignored
from petra.config.unenforced import check_unenforced
from petra.values import DataType

S7_TYPES = {
    "bool": DataType.BOOL, "byte": DataType.INT, "word": DataType.INT, "int": DataType.INT,
    "dword": DataType.INT, "dint": DataType.INT, "real": DataType.FLOAT, "lreal": DataType.FLOAT,
    "string": DataType.STRING,
}
MODBUS_TYPES = {
    "bool": DataType.BOOL, "int16": DataType.INT, "uint16": DataType.INT, "int32": DataType.INT,
    "uint32": DataType.INT, "int64": DataType.INT, "float32": DataType.FLOAT, "float64": DataType.FLOAT,
    "string": DataType.STRING,
}
_READ_ONLY_TABLES = ("discrete_input", "input_register")
_BIT_TABLES = ("coil", "discrete_input")


def check_sections(ctx: CheckContext) -> None:
    """Run every section check; each tolerates malformed input (the schema reports it)."""
    check_alarms(ctx)
    check_storage(ctx)
    check_mqtt(ctx)
    check_s7(ctx)
    check_modbus(ctx)
    check_twilio(ctx)
    check_unenforced(ctx)
    check_ignored(ctx)


def _unique(ctx: CheckContext, items: Any, key: str, base: Path_, what: str) -> list[str]:
    seen: dict[str, Path_] = {}
    for index, item in mappings(items):
        value = item.get(key)
        if not isinstance(value, str):
            continue
        path = (*base, index, key)
        if value in seen:
            ctx.error(path, f"duplicate {what} '{value}' (first on line {ctx.line_of(seen[value])})")
        else:
            seen[value] = path
    return list(seen)


def _read_signal(ctx: CheckContext, item: dict[str, Any], key: str, path: Path_) -> None:
    if key in item:
        signal = ctx.signal_name(item[key], (*path, key))
        if signal is not None:
            ctx.read(signal, (*path, key))


def check_alarms(ctx: CheckContext) -> None:
    alarms = section(ctx.data, "alarms")
    alarm_ids = _unique(ctx, alarms.get("alarms"), "id", ("alarms", "alarms"), "alarm id")
    contact_ids = _unique(ctx, alarms.get("contacts"), "id", ("alarms", "contacts"), "contact id")
    first_of: dict[str, int] = {}
    for index, alarm in mappings(alarms.get("alarms")):
        path = ("alarms", "alarms", index)
        if first_of.setdefault(str(alarm.get("id")), index) == index:
            _alarm_state_signals(ctx, alarm, path)
        _read_signal(ctx, alarm, "signal", path)
        _read_signal(ctx, alarm, "suppress_when", path)
        if isinstance(alarm.get("setpoint"), str):
            _read_signal(ctx, alarm, "setpoint", path)
    for index, contact in mappings(alarms.get("contacts")):
        if contact.get("preferred_method") in ("sms", "call") and "phone" not in contact:
            ctx.error(("alarms", "contacts", index, "preferred_method"),
                      f"preferred_method {contact['preferred_method']} needs a phone number")
        if contact.get("preferred_method") == "email" and "email" not in contact:
            ctx.error(("alarms", "contacts", index, "preferred_method"),
                      "preferred_method email needs an email address")
    chains = alarms.get("escalation_chains")
    if not isinstance(chains, dict):
        return
    for alarm_id, contacts in chains.items():
        path = ("alarms", "escalation_chains", alarm_id)
        if alarm_id not in alarm_ids:
            hint = did_you_mean(alarm_id, alarm_ids)
            ctx.error(path, f"escalation chain for unknown alarm '{alarm_id}'{hint}", key=True)
        if not isinstance(contacts, list):
            continue
        for position, contact in enumerate(contacts):
            if not isinstance(contact, str) or contact in contact_ids:
                continue
            typo = near_miss(contact, contact_ids)
            if typo is not None:  # a misspelt step would silently never notify anyone
                ctx.error((*path, position), f"contact '{contact}' is not defined under alarms.contacts "
                                             f"(did you mean '{typo}'?)")
                continue
            ctx.warn((*path, position), f"contact '{contact}' is not defined under alarms.contacts"
                                        f"{did_you_mean(contact, contact_ids)}; it will be skipped")


ALARM_STATE_SIGNALS = {"active": DataType.BOOL, "acked": DataType.BOOL, "state": DataType.STRING}
"""The implicit signals `alarm.<id>.<field>` each alarm writes (group "alarms")."""
ALARM_SUMMARY_SIGNALS = {"alarms.flood": DataType.BOOL, "alarms.active_count": DataType.INT,
                         "alarms.unacked_count": DataType.INT}


def _alarm_state_signals(ctx: CheckContext, alarm: dict[str, Any], path: Path_) -> None:
    """Each alarm's state is visible as signals that logic, MQTT and OPC UA can read."""
    alarm_id = alarm.get("id")
    if not isinstance(alarm_id, str) or ctx.signal_name(alarm_id, (*path, "id")) is None:
        return
    if not ctx.writers.keys() & ALARM_SUMMARY_SIGNALS.keys():
        for name, dtype in ALARM_SUMMARY_SIGNALS.items():
            ctx.write(name, Writer("the alarm runtime", ("alarms",), dtype, "alarms"))
    for field, dtype in ALARM_STATE_SIGNALS.items():
        ctx.write(f"alarm.{alarm_id}.{field}", Writer(f"alarm '{alarm_id}'", (*path, "id"), dtype, "alarms"))


STORAGE_SIGNALS = {"storage.wal_full": DataType.BOOL}
"""Internal alarm signals of the storage subsystem (group "storage"), e.g. for an alarm on a full WAL."""


def check_storage(ctx: CheckContext) -> None:
    if not isinstance(ctx.data.get("storage"), dict):
        return
    for name, dtype in STORAGE_SIGNALS.items():
        ctx.write(name, Writer("the storage subsystem", ("storage",), dtype, "storage"))


def check_mqtt(ctx: CheckContext) -> None:
    mqtt = section(ctx.data, "mqtt")
    for index, sub in mappings(mqtt.get("subscriptions")):
        path = ("mqtt", "subscriptions", index)
        topic = sub.get("topic")
        has_signal, has_segment = "signal" in sub, "signal_from_topic_segment" in sub
        if has_signal and has_segment:
            ctx.error((*path, "signal_from_topic_segment"),
                      "give either signal or signal_from_topic_segment, not both")
        elif not has_signal and not has_segment:
            ctx.error(path, "missing required key 'signal' "
                            "(or 'signal_from_topic_segment' for wildcard topics)")
        segment = sub.get("signal_from_topic_segment")
        if (isinstance(segment, int) and isinstance(topic, str) and not topic.endswith("#")
                and segment >= len(topic.split("/"))):
            ctx.error((*path, "signal_from_topic_segment"),
                      f"topic '{topic}' has only {len(topic.split('/'))} levels (counted from 0)")
        signal = ctx.signal_name(sub.get("signal"), (*path, "signal"))
        if signal is None:
            continue
        try:
            dtype = DataType(sub.get("data_type", "float"))
        except ValueError:
            dtype = None
        ctx.write(signal, Writer(f"mqtt subscription '{topic}'", (*path, "signal"), dtype, "mqtt"))
    writable = mqtt.get("writable_signals")
    if isinstance(writable, list):
        for index, name in enumerate(writable):
            signal = ctx.signal_name(name, ("mqtt", "writable_signals", index))
            if signal is not None:
                ctx.read(signal, ("mqtt", "writable_signals", index))
    for index, item in mappings(mqtt.get("publish_signals")):
        _read_signal(ctx, item, "signal", ("mqtt", "publish_signals", index))


def _type_of(table: dict[str, DataType], data_type: Any) -> DataType | None:
    return table.get(data_type) if isinstance(data_type, str) else None


def _scaled(dtype: DataType | None, factor: Any, offset: Any) -> DataType | None:
    """Integer registers scaled by a non-trivial factor or offset become floats."""
    if dtype is DataType.INT and (factor not in (None, 1) or offset not in (None, 0)):
        return DataType.FLOAT
    return dtype


def _driver_mapping(ctx: CheckContext, mapping: dict[str, Any], path: Path_, what: str,
                    dtype: DataType | None, group: str) -> None:
    direction = mapping.get("direction", "read")
    signal = ctx.signal_name(mapping.get("signal"), (*path, "signal"))
    if signal is None:
        return
    if direction in ("read", "read_write"):
        ctx.write(signal, Writer(what, (*path, "signal"), dtype, group))
    else:
        ctx.read(signal, (*path, "signal"))


def check_s7(ctx: CheckContext) -> None:
    data = ctx.data if isinstance(ctx.data, dict) else {}
    s7 = data.get("s7")
    if isinstance(s7, dict):
        plcs: list[tuple[Path_, dict[str, Any]]] = [(("s7",), s7)]
    else:
        _unique(ctx, s7, "name", ("s7",), "PLC name")
        plcs = [(("s7", index), plc) for index, plc in mappings(s7)]
    for base, plc in plcs:
        label = plc.get("name") or plc.get("ip")
        for index, mapping in mappings(plc.get("mappings")):
            path = (*base, "mappings", index)
            scale = section(mapping, "scale")
            raw_type = _type_of(S7_TYPES, mapping.get("data_type"))
            dtype = _scaled(raw_type, scale.get("factor"), scale.get("offset"))
            if mapping.get("data_type") != "bool" and mapping.get("bit", 0) not in (0, None):
                ctx.error((*path, "bit"), "bit is only used with data_type bool")
            _driver_mapping(ctx, mapping, path, f"s7 mapping of PLC '{label}'", dtype, "s7")


def check_modbus(ctx: CheckContext) -> None:
    data = ctx.data if isinstance(ctx.data, dict) else {}
    _unique(ctx, data.get("modbus"), "name", ("modbus",), "modbus connection name")
    for conn_index, conn in mappings(data.get("modbus")):
        for index, mapping in mappings(conn.get("mappings")):
            path = ("modbus", conn_index, "mappings", index)
            table, data_type = mapping.get("table"), mapping.get("data_type")
            if table in _READ_ONLY_TABLES and mapping.get("direction", "read") != "read":
                ctx.error((*path, "direction"), f"{table} is read-only; direction must be read")
            if table in _BIT_TABLES and data_type not in (None, "bool"):
                ctx.error((*path, "data_type"), f"a {table} holds one bit: data_type must be bool")
            if data_type == "string" and "length" not in mapping:
                ctx.error(path, "data_type string needs 'length' (number of registers)")
            dtype = _scaled(_type_of(MODBUS_TYPES, data_type), mapping.get("scale"), mapping.get("offset"))
            _driver_mapping(ctx, mapping, path, f"modbus mapping of connection '{conn.get('name')}'", dtype,
                            "modbus")


def check_twilio(ctx: CheckContext) -> None:
    twilio = section(ctx.data, "twilio")
    _unique(ctx, twilio.get("actions"), "name", ("twilio", "actions"), "action name")
    for index, action in mappings(twilio.get("actions")):
        _read_signal(ctx, action, "trigger_signal", ("twilio", "actions", index))
