"""Pure MQTT logic: topic filters, value paths, payloads, deadband, buffer, config model."""

from __future__ import annotations

import json

import pytest

from petra.drivers.mqtt import codec
from petra.drivers.mqtt.buffer import OutboundBuffer, Outgoing
from petra.drivers.mqtt.config import build_config
from petra.values import DataType, Quality
from tests.helpers import plant_config


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("a/b", "a/b", True),
        ("a/+/c", "a/x/c", True),
        ("a/+/c", "a/x/y/c", False),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("#", "anything/at/all", True),
        ("a/+", "a", False),
        ("a/b", "a/b/c", False),
        ("+/+", "a/b", True),
    ],
)
def test_topic_filters_follow_mqtt_wildcard_rules(topic_filter: str, topic: str, expected: bool) -> None:
    assert codec.topic_matches(topic_filter, topic) is expected


def test_illegal_topic_filters_are_rejected_with_the_reason() -> None:
    with pytest.raises(codec.TopicError, match="'#' must be a whole last level"):
        codec.validate_filter("a/#/b")
    with pytest.raises(codec.TopicError, match="'\\+' must be a whole level"):
        codec.validate_filter("a/b+")


def test_a_topic_segment_names_the_signal_and_a_missing_level_is_an_error() -> None:
    assert codec.segment("sensors/kitchen/temp", 1) == "kitchen"
    with pytest.raises(codec.TopicError, match="no level 5"):
        codec.segment("sensors/kitchen/temp", 5)


def test_value_paths_walk_nested_keys_and_array_indexes() -> None:
    assert codec.parse_path("a.b[2].c") == ("a", "b", 2, "c")
    assert codec.parse_path("$.x[0][1]") == ("x", 0, 1)
    document = {"a": {"b": [0, 1, {"c": 42.5}]}}
    assert codec.extract(document, "a.b[2].c") == 42.5


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("a.missing", "key 'missing' not found"),
        ("a.b[7]", "index 7 out of range"),
        ("a[0]", "'a' is not an array"),
        ("a.b.c", "'a.b' is not an object"),
    ],
)
def test_value_path_errors_name_the_failing_step(path: str, message: str) -> None:
    with pytest.raises(codec.PayloadError, match=message.replace("[", "\\[")):
        codec.extract({"a": {"b": [1, 2]}}, path)


def test_payloads_decode_to_the_subscriptions_data_type() -> None:
    assert codec.decode(b"23.5", DataType.FLOAT) == 23.5
    assert codec.decode(b"on", DataType.BOOL) is True
    assert codec.decode(b"41.6", DataType.INT) == 42
    assert codec.decode(b'{"value": 7, "quality": "good"}', DataType.INT) == 7
    assert codec.decode(b'{"h": {"v": [1, "2.5"]}}', DataType.FLOAT, "h.v[1]") == 2.5


@pytest.mark.parametrize(
    ("payload", "path", "message"),
    [
        (b"abc", None, "cannot convert 'abc' to int"),
        (b"{not json", "a", "payload is not JSON"),
        (b'{"a": {"b": 1}}', "a", "expected a int"),
        (b"\xff\xfe", None, "not UTF-8"),
        (b'{"a": null}', "a", "expected a int, got null"),
    ],
)
def test_undecodable_payloads_raise_payload_errors_with_clear_messages(
    payload: bytes, path: str | None, message: str
) -> None:
    with pytest.raises(codec.PayloadError, match=message):
        codec.decode(payload, DataType.INT, path)


HUGE = "1" + "0" * 400
DEEP = "[" * 10_000 + "]" * 10_000


@pytest.mark.parametrize(
    ("payload", "path", "data_type", "message"),
    [
        (f'{{"a":{{"b":{HUGE}}}}}', "a.b", DataType.FLOAT, "number too large"),
        (f'{{"a":{{"b":{DEEP}}}}}', "a.b", DataType.FLOAT, "nested too deeply"),
        (f'{{"value":{DEEP}}}', None, DataType.FLOAT, "cannot convert"),
        (f'{{"value":{HUGE}}}', None, DataType.INT, "cannot convert"),
        (DEEP, None, DataType.FLOAT, "cannot convert"),
        ('{"a": "' + "[" * 10_000 + '", "b": 2}', "b", DataType.INT, None),  # brackets in strings do not nest
    ],
)
def test_hostile_payloads_are_payload_errors_never_other_exceptions(
    payload: str, path: str | None, data_type: DataType, message: str | None
) -> None:
    if message is None:
        assert codec.decode(payload.encode(), data_type, path) == 2
        return
    with pytest.raises(codec.PayloadError, match=message):
        codec.decode(payload.encode(), data_type, path)


def test_errors_quote_a_huge_payload_only_in_part() -> None:
    with pytest.raises(codec.PayloadError) as caught:
        codec.decode(b"x" * 100_000, DataType.FLOAT)
    assert "cannot convert 'xxx" in str(caught.value) and len(str(caught.value)) < 300


def test_hostile_commands_are_payload_errors() -> None:
    with pytest.raises(codec.PayloadError, match="nested too deeply"):
        codec.command_target("p/cmd/+", "p/cmd/fan", f'{{"value":{DEEP}}}'.encode())
    with pytest.raises(codec.PayloadError, match="number too large"):
        codec.command_target("p/cmd", "p/cmd", f'{{"signal":"fan","value":{HUGE}}}'.encode())
    with pytest.raises(codec.PayloadError, match="too large"):
        codec.to_value(10**400, DataType.FLOAT)


def test_published_payloads_are_json_with_value_quality_and_time_or_plain() -> None:
    document = json.loads(codec.encode(21.5, Quality.GOOD, 1700000000.25))
    assert document == {"value": 21.5, "quality": "good", "ts": 1700000000.25}
    assert codec.encode(True, Quality.BAD, 0.0, "plain") == b"true"
    assert json.loads(codec.encode(float("nan"), Quality.GOOD, 0.0))["value"] == "nan"


def test_deadband_passes_first_values_quality_changes_and_big_enough_moves() -> None:
    assert codec.passes_deadband(None, 1.0, Quality.GOOD, 5.0)
    assert not codec.passes_deadband((1.0, Quality.GOOD), 5.9, Quality.GOOD, 5.0)
    assert codec.passes_deadband((1.0, Quality.GOOD), 6.0, Quality.GOOD, 5.0)
    assert codec.passes_deadband((1.0, Quality.GOOD), 1.0, Quality.BAD, 5.0)
    assert codec.passes_deadband((True, Quality.GOOD), False, Quality.GOOD, 5.0)
    assert not codec.passes_deadband((2, Quality.GOOD), 2, Quality.GOOD, 0.0)


def test_commands_take_the_signal_from_the_topic_or_from_the_payload() -> None:
    assert codec.command_target("p/cmd/+", "p/cmd/fan", b"42") == ("fan", "42")
    assert codec.command_target("p/cmd/+", "p/cmd/fan", b'{"value": 1}') == ("fan", 1)
    assert codec.command_target("p/cmd", "p/cmd", b'{"signal": "fan", "value": 2}') == ("fan", 2)
    with pytest.raises(codec.PayloadError, match="must be JSON"):
        codec.command_target("p/cmd", "p/cmd", b"42")


def test_the_outbound_buffer_drops_the_oldest_and_counts_drops() -> None:
    buffer = OutboundBuffer(3)
    for index in range(5):
        buffer.push(Outgoing(f"t/{index}", b"x", 1, False))
    assert len(buffer) == 3
    assert buffer.dropped == 2
    assert [buffer.pop().topic for _ in range(3)] == ["t/2", "t/3", "t/4"]  # type: ignore[union-attr]
    assert buffer.pop() is None


def test_a_zero_sized_buffer_keeps_nothing_and_counts_everything() -> None:
    buffer = OutboundBuffer(0)
    buffer.push(Outgoing("t", b"x", 0, False))
    assert (len(buffer), buffer.dropped) == (0, 1)


def test_the_config_model_resolves_defaults_and_per_signal_publish_options() -> None:
    config = plant_config({
        "node_id": "n1",
        "signals": [{"name": "a", "type": "float"}, {"name": "b", "type": "float"}],
        "mqtt": {
            "broker_host": "127.0.0.1", "topic_prefix": "plant/n1/", "qos": 0,
            "subscriptions": [{"topic": "in/x", "signal": "x"}],
        },
    })
    mqtt = build_config(config)
    assert mqtt is not None
    assert (mqtt.client_id, mqtt.status_topic, mqtt.command_topic) == ("petra-n1", "plant/n1/status", "plant/n1/cmd/+")
    assert set(mqtt.published) == {"a", "b"}  # x comes in over MQTT: not echoed back
    assert mqtt.topic_of("a") == "plant/n1/a"
    config = plant_config({
        "signals": [{"name": "a", "type": "float"}],
        "mqtt": {"broker_host": "h", "publish_signals": [{"signal": "a", "deadband": 0.5, "retain": True}]},
    })
    mqtt = build_config(config)
    assert mqtt is not None and mqtt.published["a"].deadband == 0.5 and mqtt.published["a"].retain
    assert build_config(plant_config({"signals": [{"name": "a", "type": "float"}]})) is None
