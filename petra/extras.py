"""Which pip extra a config needs: a section whose library is not installed is refused at its key.

The base install (`pip install petra`) is the core; each driver, history tier
and notifier library is an extra of pyproject.toml, so an edge box installs
only what its config uses (``pip install 'petra[s7,modbus,mqtt]'``). A config
that uses a section whose library is missing is refused by `petra check` and
`petra run` alike, at the key that asks for it::

    plant.yaml:40:3: storage.remote: needs clickhouse-driver, which is not installed: pip install 'petra[clickhouse]'

Presence is looked up with `importlib.util.find_spec`, which imports nothing,
so checking a config loads no library (tests/test_footprint.py). A command
that imports one anyway (`petra history`, `petra simulate`) and finds it
missing says the same through `missing_extra_message`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the config loader imports this module: no import back into petra.config at run time
    from petra.config.context import CheckContext
    from petra.config.errors import Path_


@dataclass(frozen=True)
class Library:
    """A third-party library a section imports, the distribution that provides it, and PETRA's extra for it."""

    module: str
    distribution: str
    extra: str

    @property
    def install(self) -> str:
        return f"pip install 'petra[{self.extra}]'"


SNAP7 = Library("snap7", "python-snap7", "s7")
PYMODBUS = Library("pymodbus", "pymodbus", "modbus")
PYSERIAL = Library("serial", "pyserial", "modbus")
PAHO = Library("paho", "paho-mqtt", "mqtt")
ASYNCUA = Library("asyncua", "asyncua", "opcua")
TWILIO = Library("twilio", "twilio", "twilio")
PYARROW = Library("pyarrow", "pyarrow", "history")
CLICKHOUSE = Library("clickhouse_driver", "clickhouse-driver", "clickhouse")
PROTOBUF = Library("google.protobuf", "protobuf", "sparkplug")

LIBRARIES: tuple[Library, ...] = (SNAP7, PYMODBUS, PYSERIAL, PAHO, ASYNCUA, TWILIO, PYARROW, CLICKHOUSE, PROTOBUF)
"""Every optional library, by the module a section imports."""


def _connections(value: Any, path: Path_) -> Iterator[tuple[dict[str, Any], Path_]]:
    """The mappings of a driver section that is one mapping or a list of them."""
    if isinstance(value, dict):
        yield value, path
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield item, (*path, index)


def _rtu(data: dict[str, Any]) -> Iterator[Path_]:
    for item, path in _connections(data.get("modbus"), ("modbus",)):
        if item.get("transport") == "rtu":
            yield (*path, "transport")


def _storage_key(key: str) -> Callable[[dict[str, Any]], Iterator[Path_]]:
    def uses(data: dict[str, Any]) -> Iterator[Path_]:
        storage = data.get("storage")
        if isinstance(storage, dict) and storage.get(key):
            yield ("storage", key)
    return uses


def _top(key: str) -> Callable[[dict[str, Any]], Iterator[Path_]]:
    def uses(data: dict[str, Any]) -> Iterator[Path_]:
        if data.get(key):
            yield (key,)
    return uses


NEEDS: tuple[tuple[Callable[[dict[str, Any]], Iterator[Path_]], Library], ...] = (
    (_top("s7"), SNAP7),
    (_top("modbus"), PYMODBUS),
    (_rtu, PYSERIAL),
    (_top("mqtt"), PAHO),
    (_top("opcua"), ASYNCUA),
    (_top("twilio"), TWILIO),
    (_top("storage"), PYARROW),  # the WAL keeps Arrow IPC blocks: every storage plan needs pyarrow
    (_storage_key("remote"), CLICKHOUSE),
    (_top("sparkplug"), PROTOBUF),
    (_top("sparkplug"), PAHO),
)
"""Where a config asks for a library: a function yielding the paths that need it."""


def installed(library: Library) -> bool:
    """Whether `library` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(library.module) is not None
    except (ImportError, ValueError):  # a missing parent package (google) or a broken one
        return False


def check_extras(ctx: CheckContext, present: Callable[[Library], bool] | None = None) -> None:
    """Refuse, at its key, every part of the config whose library is not installed (`present`, default
    `installed`), naming the extra."""
    present = present or installed
    data = ctx.data
    if not isinstance(data, dict):
        return
    for uses, library in NEEDS:
        for path in uses(data):
            if not present(library):
                ctx.error(path, f"needs {library.distribution}, which is not installed: {library.install}", key=True)


def missing_extra_message(exc: ModuleNotFoundError, what: str) -> str | None:
    """What to tell the user when `what` (a command) failed importing an optional library; None for another module."""
    name = exc.name or ""
    for library in LIBRARIES:
        if name == library.module or name.startswith(library.module + ".") or library.module.startswith(name + "."):
            return f"{what} needs {library.distribution}, which is not installed: {library.install}"
    return None
