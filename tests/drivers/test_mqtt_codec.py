"""Pure MQTT logic: topic filters, value paths, payloads, deadband, buffer, config model.

The input/output cases (topic matching, payload decoding, commands, publishing) are folders
in tests/drivers/cases/mqtt/, run by tests/drivers/test_cases.py.
"""

from __future__ import annotations

import pytest

from petra.drivers.mqtt import codec
from petra.drivers.mqtt.buffer import OutboundBuffer, Outgoing
from petra.drivers.mqtt.config import build_config
from petra.values import DataType
from tests.helpers import plant_config


def test_illegal_topic_filters_are_rejected_with_the_reason() -> None:
    with pytest.raises(codec.TopicError, match="'#' must be a whole last level"):
        codec.validate_filter("a/#/b")
    with pytest.raises(codec.TopicError, match="'\\+' must be a whole level"):
        codec.validate_filter("a/b+")


def test_a_topic_segment_names_the_signal_and_a_missing_level_is_an_error() -> None:
    assert codec.segment("sensors/kitchen/temp", 1) == "kitchen"
    with pytest.raises(codec.TopicError, match="no level 5"):
        codec.segment("sensors/kitchen/temp", 5)


def test_a_number_too_large_for_a_float_is_a_payload_error() -> None:
    with pytest.raises(codec.PayloadError, match="too large"):
        codec.to_value(10**400, DataType.FLOAT)


def test_errors_quote_a_huge_payload_only_in_part() -> None:
    with pytest.raises(codec.PayloadError) as caught:
        codec.decode(b"x" * 100_000, DataType.FLOAT)
    assert "cannot convert 'xxx" in str(caught.value) and len(str(caught.value)) < 300


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


def test_one_payload_feeding_several_value_paths_gives_each_its_value_and_each_its_error():
    """The JSON of one message is parsed once for all its subscriptions; its values and errors are each one's."""
    payload = b'{"temperature": {"value": 80.5}, "t": 17}'
    assert codec.decode(payload, DataType.FLOAT, "temperature.value") == 80.5
    assert codec.decode(payload, DataType.INT, "t") == 17
    with pytest.raises(codec.PayloadError, match="key 'missing' not found"):
        codec.decode(payload, DataType.INT, "missing")
    broken = b'{"t": 1'
    for _ in range(2):  # the second subscription of a broken message is refused as the first was
        with pytest.raises(codec.PayloadError, match="not JSON"):
            codec.decode(broken, DataType.INT, "t")
    assert codec.decode(b'{"t": 2}', DataType.INT, "t") == 2  # the next message is its own document
