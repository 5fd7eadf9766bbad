"""Whole-plant checks of the `mqtt` section: which signals its subscriptions write and it reads.

`declare` records each subscription's signal as written (with its
`data_type`), and the writable and published signals as read; `check` reports
what the schema cannot: a subscription naming its signal twice or not at all,
a topic segment past the topic's last level.
"""

from __future__ import annotations

from petra.config.context import CheckContext, Writer, mappings, section
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


def check(ctx: CheckContext) -> None:
    """Each subscription names its signal once (`signal` or `signal_from_topic_segment`), a segment the topic has."""
    for index, sub in mappings(section(ctx.data, "mqtt").get("subscriptions")):
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
