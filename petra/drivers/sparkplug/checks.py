"""Whole-plant checks of the `sparkplug` section: the signals it names exist; each is on one device.

`declare` records every signal the section names (``signals``, each device's
``signals``, the ``deadbands`` keys) as read, so a misspelt one is a located
error; `check` reports a device named twice and a signal given to two devices, and warns of a
primary host without a WAL to keep its data in while it is offline.
"""

from __future__ import annotations

from petra.config.context import CheckContext, mappings, section


def declare(ctx: CheckContext) -> None:
    sparkplug = section(ctx.data, "sparkplug")
    names = sparkplug.get("signals")
    if isinstance(names, list):
        for index, name in enumerate(names):
            signal = ctx.signal_name(name, ("sparkplug", "signals", index))
            if signal is not None:
                ctx.read(signal, ("sparkplug", "signals", index))
    for index, device in mappings(sparkplug.get("devices")):
        listed = device.get("signals")
        if isinstance(listed, list):
            for position, name in enumerate(listed):
                path = ("sparkplug", "devices", index, "signals", position)
                signal = ctx.signal_name(name, path)
                if signal is not None:
                    ctx.read(signal, path)
    deadbands = sparkplug.get("deadbands")
    if isinstance(deadbands, dict):
        for name in deadbands:
            signal = ctx.signal_name(name, ("sparkplug", "deadbands", name))
            if signal is not None:
                ctx.read(signal, ("sparkplug", "deadbands", name))


def check(ctx: CheckContext) -> None:
    sparkplug = section(ctx.data, "sparkplug")
    if sparkplug.get("primary_host_id") and not ctx.data.get("storage"):
        ctx.warn(("sparkplug", "primary_host_id"), "the plant has no storage section, so what changes while "
                                                   "the primary host is offline is not kept (storage: gives a WAL)")
    seen: dict[str, int] = {}
    owner: dict[str, str] = {}
    for index, device in mappings(sparkplug.get("devices")):
        name = device.get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            ctx.error(("sparkplug", "devices", index, "name"), f"device '{name}' is already devices[{seen[name]}]")
            continue
        seen[name] = index
        listed = device.get("signals")
        if isinstance(listed, list):
            for position, signal in enumerate(listed):
                if not isinstance(signal, str):
                    continue
                if signal in owner:
                    ctx.error(("sparkplug", "devices", index, "signals", position),
                              f"signal '{signal}' is already a metric of device '{owner[signal]}'")
                owner[signal] = name
