"""Cross-checks that a schema cannot express: signals and blocks here, then every section's.

Block structure (ports, variadic counts, params) is checked against the block
classes in the registry; then the block graph is ordered (`partition`), which
finds algebraic loops, and output types are resolved in that order so that a
block writing a declared signal of an incompatible type is caught.

`check_sections` then runs the sections of `petra.registry`: every section's
`declares` first (what it writes and reads), then every section's `checks`,
then the core checks of options that are not enforced or have no effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from jsonschema import Draft202012Validator

from petra.blocks.base import ANY, Block, BlockParamError, BlockRegistry, Port
from petra.config.context import CheckContext, Writer, mappings, section
from petra.config.errors import Path_, did_you_mean, near_miss
from petra.config.ignored import check_ignored
from petra.config.model import BlockConfig, BlockInput, SignalConfig
from petra.config.tasks import block_task
from petra.config.unenforced import check_unenforced
from petra.config.validation import explain
from petra.logic.graph import AlgebraicLoopError, partition
from petra.registry import SECTIONS
from petra.section import Section, load
from petra.security.roles import Role, parse_role
from petra.values import CoercionError, DataType, Value, coerce, parse_literal, type_of

ALIASES = {
    "GTE": "GE", "GEQ": "GE", "LTE": "LE", "LEQ": "LE", "NEQ": "NE", "EQUAL": "EQ", "NOT_EQUAL": "NE",
    "TIMER": "TON", "COUNTER": "CTU", "INV": "NOT", "INVERT": "NOT", "SUM": "ADD", "PLUS": "ADD",
    "MINUS": "SUB", "MULTIPLY": "MUL", "DIVIDE": "DIV", "CLAMP": "LIMIT", "MOV": "MOVE", "COPY": "MOVE",
    "LATCH": "SR", "FLIPFLOP": "SR", "RTRIG": "R_TRIG", "FTRIG": "F_TRIG", "AVG": "MOVING_AVERAGE",
    "AVERAGE": "MOVING_AVERAGE", "FILTER": "LOWPASS", "LOW_PASS": "LOWPASS", "DERIVATIVE": "RATE_OF_CHANGE",
    "GENERATOR": "DATA_GENERATOR",
}
"""Names from other PLC dialects, suggested before spelling neighbours."""

PREVIOUS = "@prev"
"""Suffix of an input that reads the signal's value from the previous scan."""

_WIDENING = {(DataType.BOOL, DataType.INT), (DataType.BOOL, DataType.FLOAT), (DataType.INT, DataType.FLOAT)}


def fits(written: DataType, declared: DataType) -> bool:
    """A value of type `written` may be stored in a signal of type `declared`."""
    return written == declared or (written, declared) in _WIDENING


def check_signals(ctx: CheckContext) -> None:
    """Declared signals: unique names, usable names, coercible initial values."""
    data = ctx.data if isinstance(ctx.data, dict) else {}
    for index, item in mappings(data.get("signals")):
        path = ("signals", index)
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in ctx.declared_at:
            line = ctx.line_of(ctx.declared_at[name])
            ctx.error((*path, "name"), f"duplicate signal name '{name}' (first declared on line {line})")
            continue
        ctx.declared_at[name] = (*path, "name")
        if parse_literal(name) is not None:
            ctx.error((*path, "name"), f"'{name}' is a literal value and cannot name a signal")
        try:
            dtype = DataType(item.get("type"))
        except ValueError:
            continue
        initial: Value = dtype.default
        if "initial" in item and isinstance(item["initial"], (bool, int, float, str)):
            try:
                initial = coerce(item["initial"], dtype)
            except CoercionError as exc:
                ctx.error((*path, "initial"), f"initial value {_show(item['initial'])} is not a valid "
                                              f"{dtype.value} ({exc})")
        ctx.declared[name] = SignalConfig(
            name=name,
            type=dtype,
            initial=initial,
            unit=str(item.get("unit", "")),
            description=str(item.get("description", "")),
            group=str(item.get("group", "default")),
            writable=bool(item.get("writable", True)),
            history=item.get("history"),
            writable_by=_writable_by(ctx, item, path),
            minimum=_limit(ctx, item, path, dtype, "min"),
            maximum=_limit(ctx, item, path, dtype, "max"),
        )
        low, high = ctx.declared[name].minimum, ctx.declared[name].maximum
        if low is not None and high is not None and low > high:
            ctx.error((*path, "max"), f"max {_show(high)} is below min {_show(low)}")


def _writable_by(ctx: CheckContext, item: dict[str, Any], path: Path_) -> Role | None:
    """The role `writable_by` names (an unknown name is a located error); operator when it is not given
    (`resolve_signals` settles the default once the signal's writers are known)."""
    if "writable_by" not in item or not isinstance(item["writable_by"], str):
        return Role.OPERATOR  # absent, or not a string (the schema reports that)
    try:
        return parse_role(item["writable_by"])
    except ValueError as exc:
        ctx.error((*path, "writable_by"), str(exc))
        return None


def _limit(ctx: CheckContext, item: dict[str, Any], path: Path_, dtype: DataType, key: str) -> float | None:
    """The signal's `min` or `max` (None when absent); a limit on a bool or string signal is a located error."""
    raw = item.get(key)
    if raw is None or isinstance(raw, bool) or not isinstance(raw, int | float):
        return None  # absent, or not a number (the schema reports that)
    if dtype not in (DataType.INT, DataType.FLOAT):
        ctx.error((*path, key), f"'{key}' limits a number; signal '{item.get('name')}' is {dtype.value}")
        return None
    return float(raw)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


class BlockChecker:
    """Checks each block against its type and builds the BlockConfigs."""

    def __init__(self, ctx: CheckContext, registry: BlockRegistry) -> None:
        self.ctx = ctx
        self.registry = registry
        self.blocks: list[BlockConfig] = []
        self.index: dict[str, int] = {}
        self.classes: dict[str, type[Block]] = {}
        self.usable: set[str] = set()

    def run(self) -> list[BlockConfig]:
        data = self.ctx.data if isinstance(self.ctx.data, dict) else {}
        for index, item in mappings(data.get("blocks")):
            self.check_block(index, item)
        self.order_and_type()
        return self.blocks

    def check_block(self, index: int, item: dict[str, Any]) -> None:
        ctx = self.ctx
        path: Path_ = ("blocks", index)
        name, type_name = item.get("name"), item.get("type")
        if not isinstance(name, str) or not isinstance(type_name, str):
            return
        if name in self.index:
            line = ctx.line_of(("blocks", self.index[name]))
            ctx.error((*path, "name"), f"duplicate block name '{name}' (first defined on line {line})")
            return
        self.index[name] = len(self.blocks)
        cls = self.registry.get(type_name)
        if cls is None:
            hint = did_you_mean(type_name, self.registry.names(), ALIASES)
            listing = "" if hint else f"; block types: {', '.join(self.registry.names())}"
            ctx.error((*path, "type"), f"unknown block type '{type_name}'{hint}{listing}")
        raw_inputs = section(item, "inputs")
        raw_outputs = section(item, "outputs")
        raw_params = section(item, "params")
        errors_before = len(ctx.errors)
        params: dict[str, Any] = dict(raw_params)
        if cls is not None:
            self.check_input_names(cls, path, raw_inputs)
            self.check_output_names(cls, path, raw_outputs)
            params = self.check_params(cls, path, raw_params)
        inputs = self.connect_inputs(cls, path, raw_inputs)
        outputs: dict[str, str] = {}
        for port, target in raw_outputs.items():
            signal = ctx.signal_name(target, (*path, "outputs", port))
            if signal is not None:
                outputs[port] = signal
                ctx.write(signal, Writer(f"block '{name}'", (*path, "outputs", port), None, "logic"))
        line = ctx.doc.position(path)[0]
        self.blocks.append(BlockConfig(name, type_name, inputs, outputs, params, line, block_task(item)))
        if cls is not None:
            self.classes[name] = cls
            if len(ctx.errors) == errors_before:
                self.usable.add(name)

    def check_input_names(self, cls: type[Block], path: Path_, raw: dict[str, Any]) -> None:
        ctx = self.ctx
        fixed = [p.name for p in cls.inputs]
        family = cls.variadic
        valid = list(fixed)
        if family is not None:
            valid.append(f"{family.prefix}{family.start}..{family.prefix}{family.start + family.maximum - 1}")
        numbered: list[int] = []
        for port in raw:
            if port in fixed:
                continue
            number = family.index_of(port) if family is not None else None
            if family is not None and number is not None:
                if family.start <= number < family.start + family.maximum:
                    numbered.append(number)
                else:
                    ctx.error((*path, "inputs", port), f"input '{port}' is out of range: {cls.type_name} "
                                                       f"takes {valid[-1]}", key=True)
                continue
            names = fixed + (family.names(family.maximum) if family is not None else [])
            hint = did_you_mean(port, names)
            listing = ", ".join(valid) if valid else "none"
            ctx.error((*path, "inputs", port),
                      f"unknown input '{port}' for {cls.type_name}{hint}; valid inputs: {listing}", key=True)
        where = (*path, "inputs") if (*path, "inputs") in ctx.doc.values else (*path, "type")
        for declared in cls.inputs:
            if declared.required and declared.name not in raw:
                ctx.error(where, f"missing required input '{declared.name}' for {cls.type_name}")
        if family is not None:
            count = len(numbered)
            expected = family.names(count)
            if count < family.minimum or count > family.maximum:
                ctx.error(where, f"{cls.type_name} takes {family.minimum} to {family.maximum} inputs "
                                 f"{family.prefix}{family.start}, {family.prefix}{family.start + 1}, ...; "
                                 f"got {count}")
            elif sorted(numbered) != list(range(family.start, family.start + count)):
                got = ", ".join(f"{family.prefix}{n}" for n in sorted(numbered))
                ctx.error(where, f"numbered inputs must have no gaps: expected {', '.join(expected)}, "
                                 f"got {got}")

    def check_output_names(self, cls: type[Block], path: Path_, raw: dict[str, Any]) -> None:
        names = [p.name for p in cls.outputs]
        for port in raw:
            if port not in names:
                hint = did_you_mean(port, names)
                listing = ", ".join(names)
                message = f"unknown output '{port}' for {cls.type_name}{hint}; valid outputs: {listing}"
                self.ctx.error((*path, "outputs", port), message, key=True)

    def check_params(self, cls: type[Block], path: Path_, raw: dict[str, Any]) -> dict[str, Any]:
        ctx = self.ctx
        known = {p.name: p for p in cls.params}
        before = len(ctx.errors)
        for key, value in raw.items():
            param = known.get(key)
            if param is None:
                hint = did_you_mean(key, known)
                listing = ", ".join(known) if known else "none"
                ctx.error((*path, "params", key),
                          f"unknown parameter '{key}' for {cls.type_name}{hint}; valid parameters: {listing}",
                          key=True)
                continue
            for error in Draft202012Validator(dict(param.schema)).iter_errors(value):
                for where, message, at_key in explain(error, (*path, "params", key)):
                    ctx.error(where, message, key=at_key)
        if len(ctx.errors) > before:
            return dict(raw)
        try:
            return cls.validate_params(raw)
        except BlockParamError as exc:
            if exc.param is not None and exc.param in raw:
                ctx.error((*path, "params", exc.param), str(exc))
            else:
                where = (*path, "params") if (*path, "params") in ctx.doc.values else (*path, "type")
                ctx.error(where, str(exc))
        except Exception as exc:  # plugin code may raise anything: it is a config problem, not a crash
            ctx.error((*path, "params"), f"invalid parameters for {cls.type_name}: {exc}")
        return dict(raw)

    def connect_inputs(
        self, cls: type[Block] | None, path: Path_, raw: dict[str, Any]
    ) -> tuple[BlockInput, ...]:
        ports: list[Port] = cls.input_ports(list(raw)) if cls is not None else [Port(n, ANY) for n in raw]
        result = []
        for port in ports:
            where = (*path, "inputs", port.name)
            if port.name not in raw:
                result.append(BlockInput(port.name, literal=port.default))
                continue
            value = raw[port.name]
            literal = parse_literal(value)
            if literal is None:
                previous = isinstance(value, str) and value.endswith(PREVIOUS)
                if previous:
                    value = value[: -len(PREVIOUS)]
                signal = self.ctx.signal_name(value, where)
                if signal is not None:
                    self.ctx.read(signal, where)
                result.append(BlockInput(port.name, signal=signal, previous=previous))
                continue
            if isinstance(port.type, DataType):
                try:
                    literal = coerce(literal, port.type)
                except CoercionError as exc:
                    self.ctx.error(where, f"literal {_show(value)} cannot feed {port.type.value} input "
                                          f"'{port.name}' ({exc})")
            result.append(BlockInput(port.name, literal=literal))
        return tuple(result)

    def order_and_type(self) -> None:
        """Find algebraic loops; resolve output types in evaluation order."""
        ctx = self.ctx
        try:
            chains = partition(self.blocks)
        except AlgebraicLoopError as exc:
            # Start the cycle at the block written first in the file.
            ring = exc.cycle[:-1] if len(exc.cycle) > 1 and exc.cycle[0] == exc.cycle[-1] else exc.cycle
            start = min(range(len(ring)), key=lambda i: self.index.get(ring[i], 0))
            cycle = [*ring[start:], *ring[:start], ring[start]]
            first = self.index.get(cycle[0], 0)
            task = next((b.task for b in self.blocks if b.name == cycle[0]), "main")
            within = f" (in task '{task}')" if any(b.task != "main" for b in self.blocks) else ""
            ctx.error(("blocks", first, "name"),
                      f"algebraic loop{within} between blocks {' -> '.join(cycle)}: a block's output feeds back "
                      "into its own input within one scan (read one of the signals as "
                      "'name@prev' to use its value from the previous scan)")
            return
        # Two passes: an `@prev` input may read a signal whose writer comes later
        # in the chain; the first pass learns its type, the second reports.
        errors = len(ctx.errors)
        for final in (False, True):
            for chain in chains:
                for block in chain.blocks:
                    if block.name in self.usable:
                        self.resolve_types(block)
            if not final:
                del ctx.errors[errors:]

    def signal_type(self, signal: str) -> DataType:
        if signal in self.ctx.declared:
            return self.ctx.declared[signal].type
        writer = self.ctx.writers.get(signal)
        if writer is not None and writer.type is not None:
            return writer.type
        return DataType.FLOAT

    def resolve_types(self, block: BlockConfig) -> None:
        ctx = self.ctx
        cls = self.classes[block.name]
        path = ("blocks", self.index[block.name])
        input_types: dict[str, DataType] = {}
        ports = {p.name: p for p in cls.input_ports([i.port for i in block.inputs])}
        for inp in block.inputs:
            if inp.signal is not None:
                dtype = self.signal_type(inp.signal)
                spec = ports.get(inp.port)
                if spec is not None and spec.type != ANY and dtype is DataType.STRING \
                        and spec.type is not DataType.STRING:
                    wanted = spec.type.value if isinstance(spec.type, DataType) else "a number"
                    ctx.error((*path, "inputs", inp.port), f"input '{inp.port}' of {cls.type_name} needs "
                                                           f"{wanted}, but signal '{inp.signal}' is string")
                input_types[inp.port] = dtype
            elif inp.literal is not None:
                input_types[inp.port] = type_of(inp.literal)
        try:
            instance = cls(block.name, block.params, [i.port for i in block.inputs])
            types = instance.output_types(input_types)
        except Exception as exc:  # plugin code may raise anything: it is a config problem, not a crash
            ctx.error(path, f"block '{block.name}' cannot be built: {exc}")
            return
        for port, signal in block.outputs.items():
            out_type = types.get(port)
            if out_type is None:
                continue
            writer = ctx.writers.get(signal)
            if writer is not None and writer.what == f"block '{block.name}'":
                writer.type = out_type
            declared = ctx.declared.get(signal)
            if declared is not None and not fits(out_type, declared.type):
                ctx.error((*path, "outputs", port),
                          f"block '{block.name}' output '{port}' is {out_type.value} but signal '{signal}' is "
                          f"declared {declared.type.value}")


INTERNAL_WRITERS = ("logic", "alarms", "storage")
"""Writer groups that are PETRA's own: a signal they write can never be opened to remote writes."""


def resolve_signals(ctx: CheckContext) -> list[SignalConfig]:
    """Declared signals, then implicit ones from writers, then read-only unknown ones."""
    signals = [_write_rights(ctx, declared) for declared in ctx.declared.values()]
    for name, writer in ctx.writers.items():
        declared = ctx.declared.get(name)
        if declared is not None:
            if writer.type is not None and writer.group != "logic" and not fits(writer.type, declared.type):
                ctx.error(writer.path, f"{writer.what} delivers {writer.type.value} but signal '{name}' is "
                                       f"declared {declared.type.value}")
            continue
        dtype = writer.type or DataType.FLOAT
        signals.append(SignalConfig(name, dtype, dtype.default, group=writer.group, implicit=True,
                                    writable_by=None, written_by=writer.what))
    known = [*ctx.declared, *ctx.writers]
    for name, path in ctx.reads.items():
        if name in ctx.declared or name in ctx.writers:
            continue
        typo = near_miss(name, known)
        if typo is not None:
            ctx.error(path, f"signal '{name}' is read but never declared or written (did you mean '{typo}'?); "
                            "declare it if it really is another signal")
            continue
        ctx.warn(path, f"signal '{name}' is read but never declared or written; it is created as float "
                       "with bad quality until something writes it")
        signals.append(SignalConfig(name, DataType.FLOAT, DataType.FLOAT.default, implicit=True, unset=True))
    return signals


def _write_rights(ctx: CheckContext, signal: SignalConfig) -> SignalConfig:
    """`signal` with its `writable_by` and `written_by` settled (see `SignalConfig.writable_by`).

    A `writable_by` the file gives on a `writable: false` signal, or on one a block, an alarm or the storage
    subsystem writes, is a located error: PETRA would accept a right it cannot grant.
    """
    writer = ctx.writers.get(signal.name)
    written_by = writer.what if writer is not None else None
    at = ctx.declared_at[signal.name][:-1]
    item = ctx.doc.data["signals"][at[1]]
    if "writable_by" not in item:
        remote = signal.writable_by if signal.writable and writer is None else None
        return replace(signal, writable_by=remote, written_by=written_by)
    if not signal.writable:
        ctx.error((*at, "writable_by"), f"set, but signal '{signal.name}' is writable: false "
                                        "(remove one of the two)")
    elif writer is not None and writer.group in INTERNAL_WRITERS:
        fix = "; force it instead (engineer)" if writer.group == "logic" else ""
        ctx.error((*at, "writable_by"), f"signal '{signal.name}' is written by {writer.what} "
                                        f"(line {ctx.line_of(writer.path)}): it cannot be written remotely{fix}")
    return replace(signal, written_by=written_by)


def check_sections(ctx: CheckContext, sections: Sequence[Section] | None = None) -> None:
    """Every section's `declares`, then every section's `checks`, then the core option checks.

    Runs after `check_signals` and the `BlockChecker`. What the declares
    record is settled by `CheckContext.declaring`, so the problems found do not
    depend on the order of `sections` (default: the registry's). Each check
    tolerates malformed input (the schema reports it).
    """
    sections = SECTIONS if sections is None else sections
    with ctx.declaring():
        for item in sections:
            if item.declares is not None:
                load(item.declares)(ctx)
    for item in sections:
        if item.checks is not None:
            load(item.checks)(ctx)
    check_unenforced(ctx)
    check_ignored(ctx)
