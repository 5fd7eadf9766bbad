"""Compile a chain of blocks into one generated Python function (and its slow twin).

The function takes the signal table's value list `v` and the tick time `now`,
evaluates every block in topological order and returns the slots whose value
changed. Input slots are resolved once here, stateless blocks are pasted in
as inline expressions and stateful ones become one bound-method call, so a
tick costs no dict lookups and almost no allocation.

Generated shape::

    def _make(fail, b3, b7):           # bound `step` methods of stateful blocks
        def scan(v, now):
            changed = []
            ch = changed.append
            p12 = v[12]                # an `@prev` input: value before this scan
            x = (v[4] > 75.0)          # GT, inline
            if x != v[9]:
                v[9] = x; ch(9)
            r = b3(now, v[9], 5000.0)  # TON, a call
            ...
            return changed
        def resume(v, now, changed, start, p12):
            ch = changed.append
            if start <= 0:
                try:
                    x = (v[4] > 75.0)  # the same statements, block by block
                    ...
                except _CANNOT:
                    fail(0)
            ...
            return changed
        return scan, resume

A block that cannot compute a value from what its inputs hold (an int result
beyond signed 64 bits, NaN into an int or bool input, an overflow in a
plugin's arithmetic: `CANNOT_COMPUTE`) raises out of ``scan``; the caller
(`ChainProgram.run`, or the chain actor inline) then calls `recover`, which
names the block from the line ``scan`` stopped at, records it through
``fail`` and runs the blocks after it in ``resume``: the same statements,
each in its own ``try``, from that block on (compiled on a program's first
failure from its compressed source). The failing block keeps its
outputs' last values. The hot path has no ``try`` at all (one per block cost
3-4 % of the scan function); only a scan that fails pays, and no block runs
twice in a scan. Other exceptions (a bug) still crash the chain for its
supervisor.
"""

from __future__ import annotations

import math
import sys
import zlib
from bisect import bisect_right
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from types import CodeType
from typing import Any, NamedTuple

from petra.blocks.base import ANY, NUMERIC, REGISTRY, Block, BlockRegistry, PortType
from petra.config.model import BlockConfig, BlockInput
from petra.logic.graph import Chain
from petra.signals import SignalTable
from petra.values import INT_MAX, INT_MIN, CoercionError, DataType, Quality, Value, coerce, type_of

ScanFunction = Callable[[list, float], list]


class CompileError(ValueError):
    """A block that cannot be wired as configured (names the block)."""


CANNOT_COMPUTE = (ArithmeticError, ValueError)
"""What a block raises when its inputs admit no value: its outputs hold and turn bad, the chain runs on."""


def _port_int(value: float) -> int:
    """A float signal into an INT port, as `coerce` converts it: NaN, inf or beyond 64 bits raise."""
    if not math.isfinite(value):
        raise CoercionError(f"cannot convert {value} to int")
    return _int64(round(value))


def _port_bool(value: float) -> bool:
    """A float signal into a BOOL port: non-zero is true, NaN is no truth value (it raises)."""
    if value != value:
        raise CoercionError("cannot convert nan to bool")
    return value != 0


def _int64(value: int) -> int:
    """Raise when an int result does not fit the signed 64 bits every int signal holds."""
    if INT_MIN <= value <= INT_MAX:
        return value
    coerced = coerce(value, DataType.INT)  # raises, naming the value
    assert isinstance(coerced, int)
    return coerced


@dataclass(frozen=True)
class _StepBlock:
    cls: type[Block]
    config: BlockConfig
    input_names: tuple[str, ...]


@dataclass
class ChainProgram:
    """A runnable instance: fresh block state plus the scan function bound to it."""

    scan: ScanFunction
    blocks: list[Block]
    name: str = ""
    block_lines: tuple[int, ...] = ()
    prev_names: tuple[str, ...] = ()
    resume_source: bytes = b""
    resume: Callable[..., list] | None = None
    failed: list[int] = field(default_factory=list)
    """Chain indexes of the blocks that could not compute in the scans since the caller last cleared it."""
    errors: dict[int, BaseException] = field(default_factory=dict)
    """The last error of each block in `failed`."""

    def fail(self, index: int) -> None:
        """Called from the `except` of block `index` in `resume`, the error being handled."""
        error = sys.exc_info()[1]
        assert error is not None, "fail() runs in an except block"
        self.failed.append(index)
        self.errors[index] = error

    def run(self, v: list, now: float) -> list[int]:
        """One scan: `scan`, and when a block cannot compute, `recover` (what a caller must do)."""
        try:
            return self.scan(v, now)
        except CANNOT_COMPUTE as error:
            return self.recover(error, v, now)

    def recover(self, error: BaseException, v: list, now: float) -> list[int]:
        """After `scan` raised `error` from some block: record that block and run the ones after it.

        The block is the one whose lines hold the line `scan` stopped at; the slots
        changed so far and the `@prev` values read at the start come from that
        frame, so no block runs twice in a scan (a second step would count or
        average one sample twice) and none is skipped.
        """
        tb = error.__traceback__
        code = self.scan.__code__
        while tb is not None and tb.tb_frame.f_code is not code:
            tb = tb.tb_next
        if tb is None or not self.resume_source:
            raise error
        if self.resume is None:
            text = zlib.decompress(self.resume_source).decode()
            self.resume = _bind(compile(text, f"<chain {self.name}: resume>", "exec"), self)
        index = bisect_right(self.block_lines, tb.tb_lineno) - 1
        frame = tb.tb_frame.f_locals
        self.failed.append(index)
        self.errors[index] = error
        return self.resume(v, now, frame["changed"], index + 1, *(frame[name] for name in self.prev_names))


@dataclass(frozen=True)
class CompiledChain:
    """Everything about a chain that does not change between restarts."""

    chain: Chain
    name: str
    code: CodeType
    """The generated module, compiled once: each restart only runs it. Its source is not kept (at
    10,000 blocks the text alone is 2 MB); `chain_source` regenerates it for a reader."""
    output_slots: tuple[int, ...]
    quality_plan: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]
    step_blocks: tuple[_StepBlock, ...]
    block_names: tuple[str, ...]
    block_lines: tuple[int, ...] = ()
    """The line of `code` each block starts on in `scan`, to name the block an exception came from."""
    prev_names: tuple[str, ...] = ()
    """The locals of `scan` that hold `@prev` values, in `resume`'s parameter order."""
    resume_source: bytes = b""
    """`resume`'s module, zlib-compressed: compiled on a program's first failure only (compiled for
    every chain, the slow twins cost 2 MB at 10,000 blocks; compressed, a twentieth of that)."""

    def instantiate(self, blocks: list[Block] | None = None) -> ChainProgram:
        """New block instances (timers, counters start from zero) and their scan.

        Pass the `blocks` of a running program to keep their state (a recompile
        after forcing a signal must not reset timers).
        """
        if blocks is None:
            blocks = [sb.cls(sb.config.name, sb.config.params, sb.input_names) for sb in self.step_blocks]
        program = ChainProgram(scan=_not_bound, blocks=blocks, name=self.name, block_lines=self.block_lines,
                               prev_names=self.prev_names, resume_source=self.resume_source)
        program.scan = _bind(self.code, program)
        return program


def _bind(code: CodeType, program: ChainProgram) -> Callable[..., list]:
    """Run a generated module and bind its function to `program`'s `fail` and block states."""
    namespace: dict[str, Any] = {
        "_port_int": _port_int, "_port_bool": _port_bool, "_int64": _int64, "_CANNOT": CANNOT_COMPUTE,
    }
    exec(code, namespace)
    return namespace["_make"](program.fail, *(b.step for b in program.blocks))


def _not_bound(v: list, now: float) -> list:
    raise RuntimeError("scan function not bound yet")


def compile_chain(
    chain: Chain, table: SignalTable, registry: BlockRegistry = REGISTRY, forced: frozenset[int] = frozenset()
) -> CompiledChain:
    """Generate and compile the scan function for `chain` against `table`'s slots.

    Outputs in `forced` are still computed (block state moves on) but not
    stored: an operator holds them at their forced value.
    """
    generated = _generate(chain, table, registry, forced)
    return CompiledChain(
        chain=chain,
        name=chain.name,
        code=compile(generated.source, f"<chain {chain.name}>", "exec"),
        output_slots=tuple(generated.outputs),
        quality_plan=tuple(generated.plan),
        step_blocks=tuple(generated.step_blocks),
        block_names=tuple(b.name for b in chain.blocks),
        block_lines=generated.block_lines,
        prev_names=generated.prev_names,
        resume_source=zlib.compress(generated.resume_source.encode()),
    )


def chain_source(
    chain: Chain, table: SignalTable, registry: BlockRegistry = REGISTRY, forced: frozenset[int] = frozenset()
) -> str:
    """The Python that `compile_chain` generates for `chain`, for a reader (only its code is kept)."""
    return _generate(chain, table, registry, forced).source


class Generated(NamedTuple):
    source: str
    resume_source: str
    block_lines: tuple[int, ...]
    prev_names: tuple[str, ...]
    outputs: list[int]
    plan: list[tuple[tuple[int, ...], tuple[int, ...]]]
    step_blocks: list[_StepBlock]


def _generate(chain: Chain, table: SignalTable, registry: BlockRegistry, forced: frozenset[int]) -> Generated:
    body: list[tuple[str, list[str]]] = []
    prev_locals: dict[int, str] = {}
    step_blocks: list[_StepBlock] = []
    outputs: list[int] = []
    plan: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    # A chain's own outputs read back with `@prev` carry state, not new information:
    # leaving them out of quality propagation keeps a feedback loop from latching bad.
    own_outputs = {signal for block in chain.blocks for signal in block.outputs.values()}

    for block in chain.blocks:
        cls = registry.get(block.type)
        if cls is None:
            raise CompileError(f"block '{block.name}': unknown block type '{block.type}'")
        ports = cls.input_ports([i.port for i in block.inputs])
        by_port = {i.port: i for i in block.inputs}
        args: dict[str, str] = {}
        input_types: dict[str, DataType] = {}
        input_slots: list[int] = []
        for port in ports:
            source = by_port.get(port.name)
            code, source_type = _input_code(block, port.name, port.type, port.default, source, table, prev_locals)
            args[port.name] = code
            input_types[port.name] = source_type
            if source is not None and source.signal is not None \
                    and not (source.previous and source.signal in own_outputs):
                input_slots.append(table.slot(source.signal))
        instance = cls(block.name, block.params, [p.name for p in ports])
        out_types = instance.output_types(input_types)
        expressions = instance.expressions(args)
        out_slots: list[int] = []
        statements: list[str] = []
        if expressions is not None:
            values = {port_name: expressions[port_name] for port_name in block.outputs}
        else:
            callee = f"b{len(step_blocks)}"
            step_blocks.append(_StepBlock(cls, block, tuple(p.name for p in ports)))
            call_args = ", ".join(["now", *(args[p.name] for p in ports)])
            statements.append(f"r = {callee}({call_args})")
            port_order = [p.name for p in cls.outputs]
            values = {
                port_name: "r" if len(port_order) == 1 else f"r[{port_order.index(port_name)}]"
                for port_name in block.outputs
            }
        for port_name, signal in block.outputs.items():
            slot = table.slot(signal)
            produced = out_types[port_name]
            code = values[port_name]
            if produced is DataType.INT:
                statements.append(f"x = {code}")
                statements.append(f"if not {INT_MIN} <= x <= {INT_MAX}: _int64(x)")
                code = "x"
            code = _output_code(block, code, produced, table.types[slot])
            statements.extend(_assign(slot, code, slot in forced))
            out_slots.append(slot)
        body.append((f"# {block.name} ({block.type})", statements or ["pass"]))
        outputs.extend(out_slots)
        plan.append((tuple(out_slots), tuple(input_slots)))
    scan_source, resume_source, block_lines = _render(body, prev_locals, len(step_blocks))
    return Generated(scan_source, resume_source, block_lines, tuple(prev_locals.values()), outputs, plan, step_blocks)


def _render(
    body: list[tuple[str, list[str]]], prev_locals: dict[int, str], steps: int
) -> tuple[str, str, tuple[int, ...]]:
    """Two modules: `scan` (the hot path, no `try`) and `resume` (the same blocks from `start` on, each in
    its own `try`), and the line each block starts on in `scan`."""
    make = f"def _make({', '.join(['fail', *(f'b{i}' for i in range(steps))])}):"
    lines = [make, "    def scan(v, now):", "        changed = []", "        ch = changed.append"]
    lines.extend(f"        {name} = v[{slot}]" for slot, name in prev_locals.items())
    starts = []
    for header, statements in body:
        starts.append(len(lines) + 1)
        lines.append(f"        {header}")
        lines.extend(f"        {line}" for line in statements)
    lines.extend(["        return changed", "    return scan", ""])
    slow = [make, f"    def resume(v, now, changed, start{''.join(f', {p}' for p in prev_locals.values())}):",
            "        ch = changed.append"]
    for index, (_header, statements) in enumerate(body):
        slow.extend([f"        if start <= {index}:", "            try:"])
        slow.extend(f"                {line}" for line in statements)
        slow.extend(["            except _CANNOT:", f"                fail({index})"])
    slow.extend(["        return changed", "    return resume", ""])
    return "\n".join(lines), "\n".join(slow), tuple(starts)


def _assign(slot: int, code: str, forced: bool = False) -> list[str]:
    first = [] if code == "x" else [f"x = {code}"]
    if forced:
        return first or ["pass  # forced: computed, not stored"]
    return [*first, f"if x != v[{slot}]:", f"    v[{slot}] = x; ch({slot})"]


def coerce_message(value: int) -> str:
    """Why an int literal cannot be a value (it lies beyond signed 64 bits)."""
    try:
        coerce(value, DataType.INT)
    except CoercionError as exc:
        return str(exc)
    return f"{value} is an int"


def _input_code(
    block: BlockConfig,
    port: str,
    port_type: PortType,
    default: Value | None,
    source: BlockInput | None,
    table: SignalTable,
    prev_locals: dict[int, str],
) -> tuple[str, DataType]:
    """Python code for one input, coerced to the port's type, and the source type."""
    if source is None:
        if default is None:
            raise CompileError(f"block '{block.name}': input '{port}' is not connected")
        return repr(default), type_of(default)
    literal = source.literal
    signal = source.signal
    if signal is None:
        value = literal
        if isinstance(port_type, DataType):
            value = coerce(literal, port_type)
        elif port_type == NUMERIC and isinstance(literal, str):
            raise CompileError(f"block '{block.name}': input '{port}' needs a number, got {literal!r}")
        elif type(literal) is int and not INT_MIN <= literal <= INT_MAX:
            raise CompileError(f"block '{block.name}': input '{port}': {coerce_message(literal)}")
        return repr(value), type_of(value)
    slot = table.slot(signal)
    code = f"v[{slot}]"
    if source.previous:
        code = prev_locals.setdefault(slot, f"p{slot}")
    source_type = table.types[slot]
    return _coerce_code(block, port, code, source_type, port_type), source_type


def _coerce_code(block: BlockConfig, port: str, code: str, source: DataType, target: PortType) -> str:
    if target in (ANY, source):
        return code
    if source is DataType.STRING:
        raise CompileError(f"block '{block.name}': input '{port}' cannot take a string signal")
    if target == NUMERIC or target is DataType.FLOAT:
        return code
    if target is DataType.BOOL:
        return f"_port_bool({code})" if source is DataType.FLOAT else f"({code} != 0)"
    if target is DataType.INT:
        return code if source is DataType.BOOL else f"_port_int({code})"
    raise CompileError(f"block '{block.name}': input '{port}' of type {target} cannot take {source.value}")


def _output_code(block: BlockConfig, code: str, produced: DataType, signal_type: DataType) -> str:
    if produced == signal_type:
        return code
    if signal_type is DataType.FLOAT and produced in (DataType.INT, DataType.BOOL):
        return f"float({code})"
    if signal_type is DataType.INT and produced is DataType.BOOL:
        return f"int({code})"
    if signal_type is DataType.BOOL and produced in (DataType.INT, DataType.FLOAT):
        return f"({code} != 0)"
    if signal_type is DataType.STRING:
        return f"str({code})"
    raise CompileError(
        f"block '{block.name}': writes {produced.value} into a {signal_type.value} signal"
    )


def propagate_quality(
    quality: list[int],
    plan: Sequence[tuple[tuple[int, ...], tuple[int, ...]]],
    failing: Collection[int] = (),
) -> None:
    """Each block's outputs take the worst quality of its inputs, in chain order.

    The outputs of the blocks whose chain indexes are in `failing` (they could
    not compute in the last scan) are bad, and so is everything they feed.
    """
    for index, (out_slots, in_slots) in enumerate(plan):
        worst = 0
        for slot in in_slots:
            q = quality[slot]
            if q > worst:
                worst = q
        if failing and index in failing:
            worst = Quality.BAD
        for slot in out_slots:
            quality[slot] = worst
