"""JSON Schemas of the driver and storage sections: mqtt, storage, s7, modbus.

Defaults given here are filled into `PlantConfig.sections`.
"""

from __future__ import annotations

from petra.config.schema_builders import (
    DATA_TYPES,
    Schema,
    array,
    boolean,
    enum,
    integer,
    name,
    number,
    obj,
    signal_ref,
    string,
)


def mqtt_schema() -> Schema:
    subscription = obj(
        {
            "topic": string("Topic filter; + and # wildcards allowed.", minLength=1),
            "signal": signal_ref("The signal the payload is written to."),
            "signal_from_topic_segment": integer(
                "For wildcard topics: the signal name is this topic level (0 = first).", minimum=0
            ),
            "value_path": string("Dotted path into a JSON payload, e.g. temperature.value."),
            "data_type": enum(DATA_TYPES, default="float"),
            "qos": integer(default=0, minimum=0, maximum=2),
        },
        required=("topic",),
    )
    published = obj(
        {
            "signal": signal_ref("The signal to publish under <topic_prefix>/<signal>."),
            "deadband": number("Numeric changes smaller than this are not published; default publish_deadband.",
                               minimum=0),
            "qos": integer("QoS of this signal's messages; default qos.", minimum=0, maximum=2),
            "retain": boolean("Retain this signal's messages; default retain."),
        },
        required=("signal",),
    )
    return obj(
        {
            "broker_host": string("Host name or IP of the broker.", minLength=1),
            "broker_port": integer(default=1883, minimum=1, maximum=65535),
            "client_id": string("MQTT client id; defaults to petra-<node_id>."),
            "topic_prefix": string("Prefix of the topics PETRA publishes.", default="petra"),
            "username": string(),
            "password": string(),
            "tls": obj(
                {
                    "ca_file": string("CA certificate (PEM) that signed the broker's certificate."),
                    "cert_file": string("Client certificate (PEM)."),
                    "key_file": string("Client key (PEM)."),
                    "insecure": boolean("Skip host name verification (testing only).", default=False),
                },
                dependentRequired={"cert_file": ["key_file"], "key_file": ["cert_file"]},
            ),
            "keepalive_s": integer(default=60, minimum=1, maximum=65535),
            "clean_session": boolean(default=True),
            "qos": integer("QoS of published values.", default=1, minimum=0, maximum=2),
            "retain": boolean(default=False),
            "publish_on_change": boolean("Publish a signal when it changes (else every scan).", default=True),
            "publish_deadband": number("Numeric changes smaller than this are not published.",
                                       default=0.0, minimum=0),
            "status_topic": string("Online/offline (last will) topic; default <prefix>/status."),
            "command_topic": string("Writes to signals arrive here; default <prefix>/cmd/+."),
            "writable_signals": array(signal_ref(""), "Signals the command topic may write.", default=[]),
            "buffer_max_messages": integer("Messages kept while the broker is down.", default=10000,
                                           minimum=0),
            "subscriptions": array(subscription, default=[]),
            "publish_signals": array(
                published,
                "Signals to publish, with per-signal deadband, QoS and retain. Absent: every signal "
                "except those written by MQTT subscriptions, with the section's defaults.",
            ),
            "payload_format": enum(["json", "plain"], 'Published payloads: {"value","quality","ts"} or the '
                                   "bare value.", default="json"),
            "reconnect_max_s": number("Longest wait between reconnect attempts (doubles from 0.1 s).",
                                      default=10.0, minimum=0.1),
        },
        required=("broker_host",),
        description="MQTT client: publishes signals, writes subscribed topics into signals.",
    )


def storage_schema() -> Schema:
    local = obj(
        {
            "data_dir": string(default="./data/local"),
            "max_file_size_mb": integer(default=100, minimum=1),
            "compression": enum(["zstd", "lz4", "snappy", "none"], default="zstd"),
            "compression_level": integer(minimum=1, maximum=22),
            "retention_days": integer(default=7, minimum=0),
            "compact_after_hours": integer(default=24, minimum=0),
            "flush_interval_seconds": number("Write buffered rows as a Parquet part at least this often.",
                                             default=60, minimum=0.01),
        }
    )
    remote = obj(
        {
            "type": enum(["clickhouse"], default="clickhouse"),
            "url": string("HTTP URL, e.g. http://127.0.0.1:8123 (or give host and port)."),
            "host": string(),
            "port": integer("Native protocol port.", default=9000, minimum=1, maximum=65535),
            "database": string(default="petra"),
            "username": string(default="default"),
            "password": string(),
            "batch_size": integer(default=10000, minimum=1),
            "async_insert": boolean(default=False),
            "alternative_hosts": array(string(minLength=1), "Fail-over hosts (host or host:port).",
                                       default=[]),
            "fallback_after_seconds": number("remote_first: rows ClickHouse has not taken this long are "
                                             "written to local Parquet.", default=60, minimum=0),
        },
        anyOf=[{"required": ["url"]}, {"required": ["host"]}],
    )
    wal = obj(
        {
            "wal_dir": string(default="./data/wal"),
            "sync_on_write": boolean(default=True),
            "retention_hours": integer(default=48, minimum=1),
            "map_size_mb": integer(default=256, minimum=1),
            "max_map_size_mb": integer(default=4096, minimum=1),
        }
    )
    s3 = obj(
        {
            "bucket": string(minLength=1),
            "prefix": string(default="petra/"),
            "endpoint": string("For S3-compatible stores, e.g. http://127.0.0.1:9000."),
            "region": string(default="us-east-1"),
            "upload_after_minutes": integer(default=60, minimum=0),
            "delete_local_after_upload": boolean(default=False),
        },
        required=("bucket",),
    )
    history = obj(
        {
            "mode": enum(["on_change", "interval"], default="on_change"),
            "deadband": number(default=0.0, minimum=0),
            "min_interval_ms": integer(default=0, minimum=0),
            "max_interval_ms": integer("Store at least this often even without change.",
                                       default=60000, minimum=0),
        },
        description="Defaults for how every signal is recorded.",
    )
    return obj(
        {
            "strategy": enum(["local_first", "remote_first", "parallel"], default="local_first"),
            "local": local,
            "remote": remote,
            "wal": wal,
            "s3": s3,
            "history": history,
        },
        description="History storage: local Parquet files, ClickHouse, WAL and S3 archive.",
    )


def s7_schema() -> Schema:
    mapping = obj(
        {
            "signal": signal_ref(""),
            "area": enum(["DB", "MK", "PE", "PA"], "DB data block, MK flags, PE inputs, PA outputs."),
            "db_number": integer(minimum=1, maximum=65535),
            "address": integer("Byte offset.", minimum=0),
            "bit": integer(default=0, minimum=0, maximum=7),
            "data_type": enum(["bool", "byte", "word", "int", "dword", "dint", "real", "lreal", "string"]),
            "direction": enum(["read", "write", "read_write"], default="read"),
            "length": integer("Characters, for data_type string (an S7 STRING[length]).", default=254,
                              minimum=1, maximum=254),
            "scale": obj({"factor": number(default=1.0), "offset": number(default=0.0)},
                         description="signal = raw * factor + offset"),
        },
        required=("signal", "area", "address", "data_type"),
        allOf=[{"if": {"properties": {"area": {"const": "DB"}}, "required": ["area"]},
                "then": {"required": ["db_number"]}}],
    )
    plc_props = {
        "name": name("Names this PLC (required when there are several)."),
        "ip": string("IP address or host name of the PLC.", minLength=1),
        "rack": integer(default=0, minimum=0, maximum=7),
        "slot": integer("1 for S7-1200/1500, 2 for S7-300.", default=1, minimum=0, maximum=31),
        "port": integer(default=102, minimum=1, maximum=65535),
        "poll_interval_ms": integer(default=100, minimum=1),
        "timeout_ms": integer(default=5000, minimum=1),
        "mappings": array(mapping, default=[]),
    }
    one = obj(plc_props, required=("ip",))
    several = array(obj(plc_props, required=("name", "ip")), minItems=1)
    return {
        "description": "Siemens S7 PLCs: one PLC as a mapping, or a list of PLCs with names.",
        "oneOf": [one, several],
    }


def modbus_schema() -> Schema:
    mapping = obj(
        {
            "signal": signal_ref(""),
            "unit_id": integer(default=1, minimum=0, maximum=255),
            "table": enum(["coil", "discrete_input", "holding_register", "input_register"]),
            "address": integer("Protocol address (0-based).", minimum=0, maximum=65535),
            "data_type": enum(["bool", "int16", "uint16", "int32", "uint32", "int64", "float32",
                               "float64", "string"]),
            "length": integer("Registers, for data_type string.", minimum=1, maximum=125),
            "byte_order": enum(["big", "little"], default="big"),
            "word_order": enum(["big", "little"], default="big"),
            "scale": number("signal = raw * scale + offset", default=1.0),
            "offset": number(default=0.0),
            "direction": enum(["read", "write", "read_write"], default="read"),
        },
        required=("signal", "table", "address", "data_type"),
    )
    connection = obj(
        {
            "name": name("Names this connection."),
            "transport": enum(["tcp", "rtu"], default="tcp"),
            "host": string(minLength=1),
            "port": integer(default=502, minimum=1, maximum=65535),
            "serial": obj(
                {
                    "port": string("Serial device, e.g. /dev/ttyUSB0.", minLength=1),
                    "baudrate": integer(default=9600, minimum=50),
                    "parity": enum(["N", "E", "O"], default="N"),
                    "stopbits": enum([1, 2], default=1),
                    "bytesize": enum([7, 8], default=8),
                },
                required=("port",),
            ),
            "timeout_ms": integer(default=1000, minimum=1),
            "poll_interval_ms": integer(default=100, minimum=1),
            "mappings": array(mapping, default=[]),
        },
        required=("name",),
        allOf=[
            {"if": {"properties": {"transport": {"const": "rtu"}}, "required": ["transport"]},
             "then": {"required": ["serial"]}, "else": {"required": ["host"]}},
        ],
    )
    return array(connection, "Modbus TCP/RTU connections.")
