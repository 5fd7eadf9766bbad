"""The typed, validated configuration the runtime is built from.

The loader (`petra.config.loader`) turns YAML into these objects after the
schema and the cross-checks passed; nothing downstream sees raw YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from petra.config.sections import LoggingSettings, MetricsSettings, SecuritySettings
from petra.config.settings import parse
from petra.security.roles import Role
from petra.tasks.model import MAIN, TaskConfig, plant_tasks
from petra.values import DataType, Value

T = TypeVar("T")

SignalRef = str


@dataclass(frozen=True)
class SignalConfig:
    """One signal. `group` names the signal-group actor that owns it when no
    block writes it; `implicit` marks signals created from a writer's type;
    `unset` marks one that is read but never declared or written: it has no
    real value until something writes it, so it starts with bad quality."""

    name: str
    type: DataType
    initial: Value
    unit: str = ""
    description: str = ""
    group: str = "default"
    implicit: bool = False
    unset: bool = False
    writable: bool = True
    history: bool | dict[str, Any] | None = None
    """Per-signal recording options (`storage.history` keys) or False; None uses the default."""
    writable_by: Role | None = Role.OPERATOR
    """The lowest role that may write it through the control API (`PUT /v1/signals/NAME`); None: nobody may.

    What the loader settles (`petra.config.checks.resolve_signals`): the file's `writable_by` when it gives one;
    otherwise None for a signal something in the plant writes (a block, a driver mapping, the alarm or storage
    runtime: a remote write would fight its writer) or that is `writable: false`, and operator for the rest
    (signals only people write: setpoints, enables). Forcing is another right (engineer), not this one."""
    written_by: str | None = None
    """What in the plant writes it (`block 'pid'`, `s7 mapping ...`, `the alarm runtime`); None: nothing does."""
    minimum: float | None = None
    """`min` in the file: the lowest value a remote write (API, web, OPC-UA, Sparkplug) may set; None: no limit."""
    maximum: float | None = None
    """`max` in the file: the highest value a remote write may set; None: no limit. The plant's own writers
    (blocks, drivers) are not held to the range: it guards what people and other systems send."""


@dataclass(frozen=True)
class BlockInput:
    """What feeds one input port: a signal name or a literal constant.

    `previous` (written `"name@prev"` in YAML) reads the value the signal had at
    the end of the previous scan: the explicit unit delay (IEC 61131-3's
    feedback variable) that closes a loop through a process model without
    making it an algebraic loop.
    """

    port: str
    signal: SignalRef | None = None
    literal: Value | None = None
    previous: bool = False


@dataclass(frozen=True)
class BlockConfig:
    """One block instance. `inputs` is in the order the block's `step()` takes."""

    name: str
    type: str
    inputs: tuple[BlockInput, ...]
    outputs: dict[str, SignalRef]
    params: dict[str, Any]
    line: int = 0
    task: str = MAIN
    """The task whose chains this block is in (`petra.tasks`)."""

    def input_signals(self) -> list[SignalRef]:
        """Signals read in this scan (not the `@prev` ones): they order the chain."""
        return [i.signal for i in self.inputs if i.signal is not None and not i.previous]

    def previous_signals(self) -> list[SignalRef]:
        """Signals read with `@prev`: they join chains but impose no order."""
        return [i.signal for i in self.inputs if i.signal is not None and i.previous]


@dataclass(frozen=True)
class PlantConfig:
    """A whole validated configuration.

    `sections` keeps the validated dicts of sections whose runtime lives
    elsewhere (alarms, mqtt, storage, s7, modbus, twilio, security, ...), keyed
    by section name, so later subsystems build their own models from them.
    A reader of a section whose settings are one frozen dataclass asks
    `settings(key, Model)`: parsed once per config, an absent section is the
    declared defaults. `security`, `metrics` and `logging` are that for the
    core sections (their readers need not import `petra.config`).
    """

    source: Path | None
    text_sha256: str
    node_id: str
    scan_time_ms: int
    signals: tuple[SignalConfig, ...]
    blocks: tuple[BlockConfig, ...]
    sections: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    tasks: tuple[TaskConfig, ...] = ()
    """The declared `tasks:` (a declared `main` only sets its priority); `all_tasks` adds the implicit `main`."""
    _parsed: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def settings(self, key: str, model: type[T]) -> T:
        """Section `key` as its frozen settings `model` (absent: the declared defaults), parsed once."""
        found = self._parsed.get(key)
        if not isinstance(found, model):
            found = parse(model, self.sections.get(key) or {})
            self._parsed[key] = found
        return found

    @property
    def security(self) -> SecuritySettings:
        return self.settings("security", SecuritySettings)

    @property
    def metrics(self) -> MetricsSettings:
        return self.settings("metrics", MetricsSettings)

    @property
    def logging(self) -> LoggingSettings:
        return self.settings("logging", LoggingSettings)

    @property
    def all_tasks(self) -> tuple[TaskConfig, ...]:
        """Every task of the plant: `main` at `scan_time_ms` first, then the declared ones in file order."""
        return plant_tasks(self.tasks, self.scan_time_ms)

    def task(self, name: str) -> TaskConfig:
        for task in self.all_tasks:
            if task.name == name:
                return task
        raise KeyError(name)

    def signal(self, name: str) -> SignalConfig:
        for sig in self.signals:
            if sig.name == name:
                return sig
        raise KeyError(name)
