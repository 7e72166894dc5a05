"""The run strategy: one request in, one result out.

model -> host reference -> generated C -> firmware build -> target driver -> vectors over
the link -> comparison -> timing. The strategy asks the target driver for capabilities,
never for its kind, and owns every resource (work folder, driver, link) in one ExitStack,
so nothing is left behind on any exit.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from collections.abc import Callable

import numpy as np

from hilbench.board import Board
from hilbench.codegen.c_model import generate_model
from hilbench.compare.outputs import compare_outputs
from hilbench.drivers.capabilities import (
    CycleCounter,
    InstructionCounter,
    Loader,
    MemoryAccess,
)
from hilbench.drivers.registry import driver_for, link_driver
from hilbench.drivers.target import LinkDriver, TargetDriver, TargetOptions
from hilbench.errors import TargetError
from hilbench.model import Graph, load_model
from hilbench.model.stats import model_stats
from hilbench.protocol.session import DEFAULT_TIMEOUT, DeviceSession
from hilbench.reference import Reference
from hilbench.run.records import RunRequest, RunResult
from hilbench.timing.figures import Timing, no_timing, timing_from_counts, timing_from_cycle_counter
from hilbench.toolchain.elf_info import elf_symbols
from hilbench.toolchain.firmware import build_firmware

LINK_PROBE_BYTES = 8 * 1024  # echoed once to measure the link


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


def stack_peak_from_memory(memory: MemoryAccess, elf: Path) -> int:
    """The stack's high-water mark from target memory: painted words left untouched."""
    symbols = elf_symbols(elf, ("__stack_bottom", "__stack_top"))
    bottom, top = symbols["__stack_bottom"][0], symbols["__stack_top"][0]
    with memory.paused():
        words = memory.read_memory(bottom, top - bottom)
    untouched = 0
    while untouched + 4 <= len(words) and words[untouched:untouched + 4] == b"\xa5" * 4:
        untouched += 4
    return (top - bottom) - untouched


@contextmanager
def open_target(board: Board, elf: Path, link: LinkDriver, via: str | None = None,
                count_instructions: bool = False, virtual_time: bool = False,
                timeout: float = DEFAULT_TIMEOUT) -> Iterator[tuple[TargetDriver, DeviceSession]]:
    """The board's driver with the firmware loaded and started, and a protocol session over
    the link; everything (work folder, driver, link) is released on leaving, however."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hilbench-run-")))
        options = TargetOptions(link=link, workdir=workdir,
                                count_instructions=count_instructions, virtual_time=virtual_time)
        target: TargetDriver = stack.enter_context(driver_for(board, via)(board, options))
        target.require(Loader, "to put the firmware on the board").load(elf)
        transport = stack.enter_context(closing(link.open(target, elf)))
        yield target, DeviceSession(transport, timeout=timeout)


def run(request: RunRequest, progress: Callable[[int], None] | None = None,
        graph: Graph | None = None) -> RunResult:
    """Build the model for the board, run every vector on it, and compare. `graph` may be
    given when the caller already loaded the model."""
    board = request.board
    link = link_driver(request.link)  # unknown names fail before any work
    driver_for(board, request.via)
    phases: dict[str, float] = {}

    clock = time.perf_counter()
    graph = graph or load_model(request.model)
    x = make_vectors(graph, request.vectors, request.seed)
    expected = Reference(graph).run([x]).outputs[0]
    phases["reference"] = time.perf_counter() - clock

    clock = time.perf_counter()
    variant = request.kernels or board.build.kernels
    generated = generate_model(graph, request.model.read_bytes(), request.model_name, variant)
    firmware = build_firmware(generated, board, request.model_name,
                              debug_commands=request.debug_commands,
                              variant=variant, link=link.name)
    phases["build"] = time.perf_counter() - clock

    actual = np.zeros_like(expected)
    cycles: list[int] = []
    stamps: list[list[int]] = []
    with open_target(board, firmware.elf, link, request.via,
                     count_instructions=not request.cycle_counter,
                     virtual_time=request.cycle_counter) as (target, session):
        info = session.info()
        if info.model_hash != generated.model_hash or info.arena_size != generated.plan.arena_size:
            raise TargetError("the target runs a different model build than the one just built")
        link_rate = measure_link(session)
        counter = target.capability(CycleCounter)

        clock = time.perf_counter()
        for i in range(request.vectors):
            session.context = f"vector {i + 1} of {request.vectors}"
            session.load_input(x[i].tobytes())
            cycles.append(session.invoke(1, timeout=request.timeout)[0])
            if counter is not None:
                stamps.append(session.profile(len(graph.operators) + 1))
            raw = session.read_output(expected[0].nbytes)
            actual[i] = np.frombuffer(raw, dtype=expected.dtype).reshape(expected.shape[1:])
            if progress:
                progress(i + 1)
        phases["stream"] = time.perf_counter() - clock
        session.context = ""
        stats = session.stats()
        memory = target.capability(MemoryAccess)
        probe_stack_peak = (stack_peak_from_memory(memory, firmware.elf)
                            if memory is not None else None)
        timing = _timing(target, graph, counter, cycles, stamps, stats.profile_overhead)

    return RunResult(
        request=request, driver=target.name, via=target.via,
        comparison=compare_outputs(expected, actual), build=firmware,
        arena_bytes=generated.plan.arena_size,
        arena_lower_bound=model_stats(graph).activation_lower_bound,
        stack_peak=stats.stack_peak, link_bytes_per_s=link_rate,
        vectors_per_s=request.vectors / phases["stream"] if phases["stream"] else 0.0,
        timing=timing, probe_stack_peak=probe_stack_peak, phases=phases,
        scratch_bytes=generated.plan.scratch_region_size)


def _timing(target: TargetDriver, graph: Graph, counter: CycleCounter | None,
            cycles: list[int], stamps: list[list[int]], mark_cost: int) -> Timing:
    board = target.board
    counting = target.capability(InstructionCounter) if target.options.count_instructions \
        else None
    if counting is not None:
        counts = counting.instruction_counts()  # stops the target
        if len(counts) != len(cycles):
            raise TargetError(f"the instruction counter saw {len(counts)} inferences, "
                              f"expected {len(cycles)}")
        return timing_from_counts(board.core, board.clock_hz, graph, counts)
    if counter is None:
        wanted = CycleCounter if target.options.virtual_time else InstructionCounter
        return no_timing(board.clock_hz, target.missing(wanted))
    if not any(cycles):
        return no_timing(board.clock_hz, f"the {board.cycle_counter.kind} cycle counter of "
                                         f"{board.name} read 0 on every inference")
    return timing_from_cycle_counter(board.clock_hz, graph, counter.cycle_source, cycles,
                                     stamps, mark_cost)
