"""JSON Schema of the `mqtt` section; defaults given here are filled into `PlantConfig.sections`."""

from __future__ import annotations

from petra.config.schema_builders import (
    DATA_TYPES,
    Schema,
    array,
    boolean,
    enum,
    integer,
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
