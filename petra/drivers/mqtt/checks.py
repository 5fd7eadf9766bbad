"""Whole-plant checks of the `mqtt` section: which signals its subscriptions write and it reads.

`declare` records each subscription's signal as written (with its
`data_type`), and the writable and published signals, and those of each
publish group's fields and triggers (`on`), as read; `check` reports
what the schema cannot: a subscription naming its signal twice or not at all,
a topic segment past the topic's last level, and every topic or filter that
paho would refuse: subscription and command filters (``+`` and ``#`` only as
whole levels, ``#`` last), the status topic, the prefix of the published
topics and each publish group's topic (no wildcards). paho refuses them in its network thread, after the
loader has said yes; here they are located config errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from petra.config.context import CheckContext, Writer, mappings, section
from petra.config.errors import Path_
from petra.drivers.mqtt.codec import TopicError, validate_filter, validate_topic
from petra.values import DataType


def declare(ctx: CheckContext) -> None:
    """Subscriptions write their signal; `writable_signals` and `publish_signals` read theirs."""
    mqtt = section(ctx.data, "mqtt")
    for index, sub in mappings(mqtt.get("subscriptions")):
        path = ("mqtt", "subscriptions", index)
        signal = ctx.signal_name(sub.get("signal"), (*path, "signal"))
        if signal is None:
            continue
        try:
            dtype: DataType | None = DataType(sub.get("data_type", "float"))
        except ValueError:
            dtype = None
        ctx.write(signal, Writer(f"mqtt subscription '{sub.get('topic')}'", (*path, "signal"), dtype, "mqtt"))
    writable = mqtt.get("writable_signals")
    if isinstance(writable, list):
        for index, name in enumerate(writable):
            signal = ctx.signal_name(name, ("mqtt", "writable_signals", index))
            if signal is not None:
                ctx.read(signal, ("mqtt", "writable_signals", index))
    for index, item in mappings(mqtt.get("publish_signals")):
        ctx.read_signal(item, "signal", ("mqtt", "publish_signals", index))
    for index, group in mappings(mqtt.get("publish_groups")):
        path = ("mqtt", "publish_groups", index)
        fields = group.get("fields")
        if isinstance(fields, dict):
            for key, name in fields.items():
                signal = ctx.signal_name(name, (*path, "fields", key))
                if signal is not None:
                    ctx.read(signal, (*path, "fields", key))
        on = group.get("on")
        if isinstance(on, list):
            for position, name in enumerate(on):
                signal = ctx.signal_name(name, (*path, "on", position))
                if signal is not None:
                    ctx.read(signal, (*path, "on", position))


def check(ctx: CheckContext) -> None:
    """Each subscription names its signal once (`signal` or `signal_from_topic_segment`), a segment the topic has;
    every topic and filter is one MQTT allows where it is used."""
    mqtt = section(ctx.data, "mqtt")
    _topic(ctx, mqtt.get("command_topic"), ("mqtt", "command_topic"), validate_filter, "command_topic")
    _topic(ctx, mqtt.get("status_topic"), ("mqtt", "status_topic"), validate_topic, "status_topic")
    prefix = mqtt.get("topic_prefix")
    if isinstance(prefix, str) and prefix.rstrip("/"):
        _topic(ctx, prefix.rstrip("/"), ("mqtt", "topic_prefix"), validate_topic,
               "topic_prefix (PETRA publishes to <topic_prefix>/<signal>)")
    for index, group in mappings(mqtt.get("publish_groups")):
        _topic(ctx, group.get("topic"), ("mqtt", "publish_groups", index, "topic"), validate_topic,
               "publish_groups topic")
    for index, sub in mappings(mqtt.get("subscriptions")):
        path = ("mqtt", "subscriptions", index)
        topic = sub.get("topic")
        _topic(ctx, topic, (*path, "topic"), validate_filter, "subscription topic")
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


def _topic(ctx: CheckContext, value: Any, path: Path_, validate: Callable[[str], None], what: str) -> None:
    """Report `value` at `path` when `validate` (a codec validator) refuses it; absent or empty keys have defaults."""
    if not isinstance(value, str) or not value:
        return
    try:
        validate(value)
    except TopicError as exc:
        ctx.error(path, f"{what} {exc}")
