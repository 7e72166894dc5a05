"""Running a model on a target: the whole loop, one strategy.

model -> host reference -> generated C -> firmware build -> target -> vectors over the
link -> comparison -> result record. Every resource (QEMU, ports) is released on any exit.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from hilbench.board import Board
from hilbench.toolchain.elf_info import elf_symbols
from hilbench.toolchain.firmware import FirmwareBuild, build_firmware
from hilbench.codegen.c_model import GeneratedModel, generate_model
from hilbench.compare.outputs import Comparison, compare_outputs
from hilbench.errors import ConfigError, TargetError
from hilbench.model import Graph, load_model
from hilbench.model.stats import model_stats
from hilbench.protocol.session import DeviceSession
from hilbench.reference import Reference
from hilbench.targets import QemuTarget, Target
from hilbench.targets.qemu_plugin import InferenceCount, parse_counts
from hilbench.timing.cycle_model import estimate_cycles

LINK_PROBE_BYTES = 8 * 1024  # echoed once to measure the link


@dataclass(frozen=True)
class Spread:
    min: float
    median: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(min(values), statistics.median(values), max(values))


@dataclass(frozen=True)
class LayerProfile:
    index: int
    op: str
    output_shape: tuple[int, ...]
    macs: int
    instructions: int | None  # exact (QEMU), of the slowest inference
    cycles: int | None  # estimated (QEMU) or measured (real cores)
    share: float  # of the inference's cycles (or instructions)


@dataclass
class Timing:
    clock_hz: int
    cycles: Spread | None
    cycles_estimated: bool
    instructions: Spread | None  # exact per-inference counts (QEMU)
    overhead_instructions: int | None
    layers: list[LayerProfile]

    @property
    def latency_us(self) -> Spread | None:
        if self.cycles is None:
            return None
        scale = 1e6 / self.clock_hz
        return Spread(self.cycles.min * scale, self.cycles.median * scale,
                      self.cycles.max * scale)


@dataclass
class RunResult:
    model: str
    board: str
    vectors: int
    seed: int
    link: str
    comparison: Comparison
    build: FirmwareBuild
    arena_bytes: int
    arena_lower_bound: int
    stack_peak: int
    link_bytes_per_s: float
    vectors_per_s: float
    timing: Timing
    timings: dict[str, float] = field(default_factory=dict)
    via: str = "direct"
    probe_stack_peak: int | None = None  # read through the debug probe, when there is one

    @property
    def ram_static(self) -> int:
        return self.build.sizes.static_ram

    @property
    def ram_total(self) -> int:
        return self.ram_static + self.stack_peak


def stack_peak_from_memory(read_memory: Callable[[int, int], bytes], elf: Path) -> int:
    """The stack's high-water mark from target memory: painted words left untouched."""
    symbols = elf_symbols(elf, ("__stack_bottom", "__stack_top"))
    bottom, top = symbols["__stack_bottom"][0], symbols["__stack_top"][0]
    words = read_memory(bottom, top - bottom)
    untouched = 0
    while untouched + 4 <= len(words) and words[untouched:untouched + 4] == b"\xa5" * 4:
        untouched += 4
    return (top - bottom) - untouched


def make_vectors(graph: Graph, count: int, seed: int) -> np.ndarray:
    """Even vectors uniform over int8, odd ones near the input zero point: uniform inputs
    saturate some models, which would hide errors."""
    tensor = graph.input_tensors[0]
    rng = np.random.default_rng(seed)
    shape = (count,) + tensor.shape
    if tensor.dtype == np.float32:
        return rng.standard_normal(shape).astype(np.float32)
    x = rng.integers(-128, 128, size=shape, dtype=np.int8)
    zero_point = tensor.zero_point if tensor.quantization else 0
    near = np.clip(zero_point + rng.integers(-6, 7, size=shape), -128, 127).astype(np.int8)
    x[1::2] = near[1::2]
    return x


def measure_link(session: DeviceSession, total: int = LINK_PROBE_BYTES) -> float:
    """Round-trip throughput in bytes per second, counting both directions on the wire."""
    payload = bytes(range(256)) * (session.max_data // 256) or bytes(session.max_data)
    sent, received = session.bytes_sent, session.bytes_received
    start = time.perf_counter()
    moved = 0
    while moved < total:
        if session.echo(payload) != payload:
            raise TargetError("the target echoed different bytes: the link corrupts data")
        moved += 2 * len(payload)
    elapsed = time.perf_counter() - start
    wire = (session.bytes_sent - sent) + (session.bytes_received - received)
    return wire / elapsed


def make_target(board: Board, count_instructions: Path | None = None,
                cycle_counter: bool = False, link: str = "serial", via: str = "direct") -> Target:
    """QEMU boards run directly or through pyOCD (--via pyocd); real boards always go
    through pyOCD. Both offer the serial link and the debug-probe RAM link."""
    if not board.is_qemu:
        from hilbench.targets.pyocd_target import PyocdTarget

        return PyocdTarget(board, link=link)
    if via == "pyocd":
        if count_instructions is not None or cycle_counter:
            raise ConfigError("--via pyocd does not count instructions; use --cycle-counter "
                              "or the direct QEMU target")
        from hilbench.targets.pyocd_target import PyocdQemuTarget

        return PyocdQemuTarget(board, link=link)
    extra: tuple[str, ...] = ()
    if cycle_counter:  # virtual time: about one clock tick per executed instruction
        shift = max(0, round(math.log2(1e9 / board.clock_hz)))
        extra = ("-icount", f"shift={shift},align=off,sleep=off")
    return QemuTarget(board, extra, count_instructions=count_instructions, link=link)


def run_model(model_path: Path, board: Board, vectors: int, seed: int = 0,
              timeout: float = 60.0, debug_commands: bool = False, kernels: str | None = None,
              progress: Callable[[int], None] | None = None,
              graph: Graph | None = None, cycle_counter: bool = False,
              link: str = "serial", via: str = "direct") -> RunResult:
    """cycle_counter: time with the board's own counter and per-layer timestamps, as on
    real cores, instead of QEMU's exact instruction counts."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    graph = graph or load_model(model_path)
    reference = Reference(graph)
    x = make_vectors(graph, vectors, seed)
    expected = reference.run([x]).outputs[0]
    timings["reference"] = time.perf_counter() - clock

    clock = time.perf_counter()
    generated: GeneratedModel = generate_model(graph, model_path.read_bytes(), model_path.stem)
    firmware = build_firmware(generated, board, model_path.stem, debug_commands=debug_commands,
                              variant=kernels or board.kernels, link=link)
    timings["build"] = time.perf_counter() - clock

    actual = np.zeros_like(expected)
    output_bytes = expected[0].nbytes
    measured_cycles: list[int] = []
    stamps: list[list[int]] = []
    count_instructions = board.is_qemu and not cycle_counter and via == "direct"
    counts_file = (Path(tempfile.mkstemp(prefix="hilbench-counts-")[1]) if count_instructions
                   else None)
    probe_stack_peak = None
    with make_target(board, counts_file, cycle_counter, link, via) as target:
        session = DeviceSession(target.start(firmware.elf))
        info = session.info()
        if info.model_hash != generated.model_hash or info.arena_size != generated.plan.arena_size:
            raise TargetError("the target runs a different model build than the one just built")
        link_rate = measure_link(session)
        clock = time.perf_counter()
        cycles = 0
        for i in range(vectors):
            session.context = f"vector {i + 1} of {vectors}"
            session.load_input(x[i].tobytes())
            cycles, _ = session.invoke(1, timeout=timeout)
            measured_cycles.append(cycles)
            if not count_instructions:
                stamps.append(session.profile(len(graph.operators) + 1))
            raw = session.read_output(output_bytes)
            actual[i] = np.frombuffer(raw, dtype=expected.dtype).reshape(expected.shape[1:])
            if progress:
                progress(i + 1)
        timings["stream"] = time.perf_counter() - clock
        session.context = ""
        stats = session.stats()
        if hasattr(target, "read_memory"):  # the debugger's own view of the stack paint
            probe_stack_peak = stack_peak_from_memory(target.read_memory, firmware.elf)

    counts = None
    if counts_file is not None:
        counts = parse_counts(counts_file)
        counts_file.unlink(missing_ok=True)
        if len(counts) != vectors:
            raise TargetError(f"the instruction counter saw {len(counts)} inferences, "
                              f"expected {vectors}")
    timing = _timing(board, graph, counts, measured_cycles, stamps, stats.profile_overhead)
    return RunResult(
        model=model_path.stem, board=board.name, vectors=vectors, seed=seed, link=link,
        comparison=compare_outputs(expected, actual), build=firmware,
        arena_bytes=generated.plan.arena_size,
        arena_lower_bound=model_stats(graph).activation_lower_bound,
        stack_peak=stats.stack_peak, link_bytes_per_s=link_rate,
        vectors_per_s=vectors / timings["stream"] if timings["stream"] else 0.0,
        timing=timing, timings=timings, via=via, probe_stack_peak=probe_stack_peak)


def _timing(board: Board, graph: Graph, counts: list[InferenceCount] | None,
            measured: list[int], stamps: list[list[int]], overhead: int) -> Timing:
    stats = model_stats(graph)
    if counts:  # QEMU: exact instructions, cycles estimated from their classes
        estimates = [sum(estimate_cycles(board.core, layer.classes) for layer in c.layers)
                     + c.overhead for c in counts]
        slowest = max(range(len(counts)), key=lambda i: estimates[i])
        layer_cycles = [estimate_cycles(board.core, layer.classes)
                        for layer in counts[slowest].layers]
        total = sum(layer_cycles) or 1
        layers = [LayerProfile(op.index, op.opcode, graph.tensor(op.outputs[0]).shape,
                               stats.ops[op.index].macs,
                               counts[slowest].layers[op.index].instructions,
                               layer_cycles[op.index], layer_cycles[op.index] / total)
                  for op in graph.operators]
        return Timing(board.clock_hz, Spread.of(estimates), True,
                      Spread.of([c.total for c in counts]), counts[slowest].overhead, layers)
    if measured and any(measured):  # a cycle counter: calibrate the profiling marks out
        marks = len(graph.operators) + 2
        totals = [max(0, m - marks * overhead) for m in measured]
        slowest = max(range(len(totals)), key=lambda i: totals[i])
        row = stamps[slowest]
        deltas = [max(0, ((row[i + 1] - row[i]) & 0xFFFFFFFF) - overhead)
                  for i in range(len(graph.operators))]
        total = sum(deltas) or 1
        layers = [LayerProfile(op.index, op.opcode, graph.tensor(op.outputs[0]).shape,
                               stats.ops[op.index].macs, None, deltas[op.index],
                               deltas[op.index] / total)
                  for op in graph.operators]
        return Timing(board.clock_hz, Spread.of(totals), False, None, overhead, layers)
    return Timing(board.clock_hz, None, False, None, None, [])
