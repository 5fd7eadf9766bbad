"""What the field tools (`petra s7 ...`, `petra modbus ...`) share: device errors, readings, monitoring.

They use the drivers' own sessions and codecs, so what a tool reads is what
the runtime would read. Exit codes: 0 done, 1 device error, 2 usage or config
error.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry

from petra.drivers.driver_metrics import DriverMetrics
from petra.drivers.polling import ConnectionLost, Reading, Session
from petra.values import DataType, Value, coerce


def metrics() -> DriverMetrics:
    """Driver metrics of a tool's session, in a registry of their own (a tool exports none)."""
    return DriverMetrics.for_driver(CollectorRegistry(), "tool")


def device_call(action: Callable[[], int]) -> int:
    """`action()`'s exit code; 1, with the reason on stderr, when the device cannot be reached or refuses."""
    try:
        return action()
    except ConnectionLost as exc:
        print(f"petra: cannot reach the device: {exc}", file=sys.stderr)
        return 1
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"petra: {exc}", file=sys.stderr)
        return 1


def print_readings(readings: Sequence[Reading], stamp: bool = False) -> None:
    """One `signal = value` line a reading (BAD for a bad one), with the time of day if `stamp`."""
    prefix = time.strftime("%H:%M:%S ") if stamp else ""
    for reading in readings:
        shown = "BAD" if reading.value is None else repr(reading.value)
        print(f"{prefix}{reading.signal} = {shown}")


def parse_value(value: str, data_type: str) -> Value:
    """`--value` as the value a device data type (S7 or Modbus) takes; raises CoercionError."""
    kind = {"bool": DataType.BOOL, "string": DataType.STRING, "real": DataType.FLOAT, "lreal": DataType.FLOAT,
            "float32": DataType.FLOAT, "float64": DataType.FLOAT}.get(data_type, DataType.INT)
    return coerce(value, kind)


def monitor(sessions: Sequence[Session], interval: float, count: int) -> int:
    """Poll every session each `interval` seconds, `count` times (0: until Ctrl-C), printing stamped readings."""
    try:
        for session in sessions:
            session.connect()
        done = 0
        while count == 0 or done < count:
            for session in sessions:
                print_readings(session.poll(), stamp=True)
            done += 1
            if count == 0 or done < count:
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        for session in sessions:
            session.close()
    return 0


def config_section(path: str, section: str) -> object | None:
    """The checked `section` of the config at `path` ([] when absent); None, problems printed, if it is not valid."""
    from petra.commands.common import load_sections_or_report

    loaded = load_sections_or_report(path, (section,))
    if loaded is None:
        return None
    return loaded.sections.get(section) or []
