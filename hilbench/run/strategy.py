"""The run strategy: one request in, one result out.

model -> host reference -> generated C -> firmware build -> target driver -> vectors over
the link -> comparison -> timing. The strategy asks the target driver for capabilities,
never for its kind, and owns every resource (work folder, driver, link) in one ExitStack,
so nothing is left behind on any exit.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from collections.abc import Callable

import numpy as np

from hilbench.board import Board
from hilbench.codegen.c_model import generate_model
from hilbench.compare.metrics import output_metrics
from hilbench.compare.outputs import LayerDivergence, compare_outputs, layer_divergence
from hilbench.drivers.capabilities import (
    CycleCounter,
    InstructionCounter,
    Loader,
    MemoryAccess,
)
from hilbench.drivers.registry import driver_for, link_driver, target_driver
from hilbench.drivers.target import LinkDriver, TargetDriver, TargetOptions
from hilbench.errors import ConfigError, TargetError
from hilbench.model import Graph, load_model
from hilbench.model.stats import model_stats
from hilbench.protocol.frames import ErrorCode
from hilbench.protocol.session import DEFAULT_TIMEOUT, DeviceError, DeviceInfo, DeviceSession
from hilbench.reference import Reference
from hilbench.run.data import TestData, generated_data, load_data
from hilbench.run.records import PartialRun, RunRequest, RunResult
from hilbench.run.user_firmware import check_identity, layers_missing, user_firmware
from hilbench.timing.figures import (Timing, merge_stage, no_timing, timing_from_counts,
                                     timing_from_cycle_counter)
from hilbench.toolchain.elf_info import elf_symbols
from hilbench.toolchain.firmware import build_firmware, ram_limits

LINK_PROBE_BYTES = 8 * 1024  # echoed once to measure the link


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
                timeout: float = DEFAULT_TIMEOUT,
                place: object | None = None) -> Iterator[tuple[TargetDriver, DeviceSession]]:
    """The board's driver with the firmware loaded and started, and a protocol session over
    the link; everything (work folder, driver, link) is released on leaving, however."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hilbench-run-")))
        options = TargetOptions(link=link, workdir=workdir,
                                count_instructions=count_instructions, virtual_time=virtual_time,
                                place=place)
        # a farm place is reached through its own resources, whatever the board file lists
        driver = target_driver("labgrid") if place is not None else driver_for(board, via)
        target: TargetDriver = stack.enter_context(driver(board, options))
        target.require(Loader, "to put the firmware on the board").load(elf)
        transport = stack.enter_context(closing(link.open(target, elf)))
        yield target, DeviceSession(transport, timeout=timeout)


def run(request: RunRequest, progress: Callable[[int], None] | None = None,
        graph: Graph | None = None) -> RunResult:
    """Build the model for the board, run every vector on it, and compare. `graph` may be
    given when the caller already loaded the model."""
    board = request.board
    link = link_driver(request.link)  # unknown names fail before any work
    if request.place is None:
        driver_for(board, request.via)
    phases: dict[str, float] = {}

    clock = time.perf_counter()
    graph = graph or load_model(request.model)
    data = (load_data(graph, request.data, request.labels) if request.data
            else generated_data(graph, request.vectors, request.seed))
    steps = request.sequence_length
    if data.count % steps:
        raise ConfigError(f"{data.count} vectors do not form sequences of "
                          f"--sequence-length {steps}")
    # state is reset where the reference resets it; a stateless model needs no reset
    stateful = bool(graph.variable_tensors)
    reference = Reference(graph)
    expected = reference.run(data.inputs, sequence_length=steps).outputs
    phases["reference"] = time.perf_counter() - clock

    clock = time.perf_counter()
    model_bytes = request.model.read_bytes()
    generated = None
    if request.firmware is not None:  # the user's: checked, never built
        firmware = user_firmware(request.firmware, board)
    else:
        variant = request.kernels or board.build.kernels
        generated = generate_model(graph, model_bytes, request.model_name, variant,
                                   request.memory,
                                   ram_limits(board, request.ram_budget, link.name))
        firmware = build_firmware(generated, board, request.model_name,
                                  debug_commands=request.debug_commands,
                                  variant=variant, link=link.name)
    phases["build"] = time.perf_counter() - clock
    input_size = sum(t.nbytes for t in graph.input_tensors)
    output_size = sum(t.nbytes for t in graph.output_tensors)

    actual = [np.zeros_like(e) for e in expected]
    cycles: list[int] = []
    stamps: list[list[int]] = []
    divergence = None
    done = 0  # vectors whose outputs were read back and can be compared
    with open_target(board, firmware.elf, link, request.via,
                     count_instructions=not request.cycle_counter,
                     virtual_time=request.cycle_counter,
                     place=request.place) as (target, session):
        try:
            info = session.info()
            if generated is None:
                identity = check_identity(info, firmware.elf, request.model,
                                          hashlib.sha256(model_bytes).digest()[:8],
                                          input_size, output_size)
            elif info.model_hash != generated.model_hash or \
                    info.arena_size != generated.plan.arena_size:
                raise TargetError("the target runs a different model build than the one "
                                  "just built")
            # a user firmware has a per-layer table only when it marks the model's every op
            no_layers = None if generated is not None else \
                layers_missing(info, None, len(graph.operators))
            link_rate = measure_link(session)
            counter = target.capability(CycleCounter)

            clock = time.perf_counter()
            for i in range(data.count):
                session.context = f"vector {i + 1} of {data.count}"
                if stateful and i % steps == 0:
                    _reset_state(session)
                session.load_input(b"".join(x.tobytes() for x in data.vector(i)))
                cycles.append(session.invoke(1, timeout=request.timeout)[0])
                if counter is not None and no_layers is None:
                    stamps.append(session.profile(len(graph.operators) + 1))
                _split_outputs(session.read_output(output_size), actual, i)
                done = i + 1
                if progress:
                    progress(i + 1)
            phases["stream"] = time.perf_counter() - clock
            comparison = compare_outputs(expected, actual, steps)
            layer_mode = generated is not None  # a user firmware runs whole inferences only
            if layer_mode and (request.per_layer or not comparison.bit_exact):
                vector = comparison.first.vector if comparison.first else 0
                divergence = _first_divergence(session, reference, graph, data, vector,
                                               request.timeout, generated.unobservable_ops,
                                               steps)
            session.context = ""
            stats = session.stats()
            memory = target.capability(MemoryAccess)
            probe_stack_peak = (stack_peak_from_memory(memory, firmware.elf)
                                if memory is not None else None)
            timing = _timing(target, graph, counter, cycles, stamps, stats.profile_overhead,
                             None if generated is not None else info)
        except BaseException as exc:
            verified = (compare_outputs([e[:done] for e in expected],
                                        [a[:done] for a in actual], steps) if done else None)
            _explain(exc, target, session,
                     PartialRun(request, data.count, done, verified, session.resends))
            raise
    patches = generated.arena.patches if generated is not None and generated.arena else None
    if patches is not None:  # the stage's ops have no figures of their own: one row
        timing = merge_stage(timing, patches.first, patches.last, patches.patch_macs,
                             graph.tensor(patches.output).shape)

    saved = None
    if request.save_failures is not None and comparison.mismatching_vectors:
        saved = save_failures(request.save_failures, graph, data, expected, actual,
                              comparison.mismatching_vectors)
    return RunResult(
        request=request, driver=target.name, via=target.via,
        comparison=comparison, build=firmware,
        arena_bytes=generated.plan.arena_size if generated is not None else info.arena_size,
        arena_lower_bound=model_stats(graph).activation_lower_bound,
        stack_peak=stats.stack_peak, link_bytes_per_s=link_rate,
        vectors_per_s=data.count / phases["stream"] if phases["stream"] else 0.0,
        timing=timing, vectors=data.count, data_source=data.source,
        metrics=[output_metrics(e, a, t, data.labels)
                 for e, a, t in zip(expected, actual, graph.output_tensors)],
        first_divergence=divergence, failures_saved=saved,
        probe_stack_peak=probe_stack_peak, phases=phases,
        scratch_bytes=generated.plan.scratch_region_size if generated is not None else 0,
        identity=None if generated is not None else identity,
        load_method=target.load_method, load_note=target.load_note,
        probe=target.probe_record(),
        memory=generated.arena.choice() if generated is not None and generated.arena else None,
        resends=session.resends)


def _explain(exc: BaseException, target: TargetDriver, session: DeviceSession,
             partial: PartialRun) -> None:
    """Add to an error escaping the run what the user needs: the vectors verified so far
    (`exc.partial`, for the JSON), and, for a failure of the target or link, where the
    run was, the last exchange, and how the target died when it did (QEMU's exit status
    and last lines, instead of 'Connection reset by peer')."""
    exc.partial = partial  # type: ignore[attr-defined]
    if not isinstance(exc, TargetError):
        return
    message = str(exc)
    if session.context and session.context not in message:
        message += f" ({session.context}; last exchange: {session.last_exchange})"
    report = target.exit_report()
    if report:
        message += f"; {report}"
    exc.args = (message,)


def _split_outputs(raw: bytes, outputs: list[np.ndarray], vector: int) -> None:
    """The model's outputs arrive as one byte space, in model order."""
    offset = 0
    for out in outputs:
        size = out[vector].nbytes
        out[vector] = np.frombuffer(raw[offset:offset + size], dtype=out.dtype).reshape(
            out.shape[1:])
        offset += size


def _reset_state(session: DeviceSession) -> None:
    try:
        session.reset_state()
    except DeviceError as exc:
        if exc.code != ErrorCode.UNKNOWN_COMMAND:
            raise
        raise TargetError("the model keeps state between inferences, and the target "
                          "cannot reset it (RESET_STATE is unknown to its firmware)") from None


def _first_divergence(session: DeviceSession, reference: Reference, graph: Graph,
                      data: TestData, vector: int, timeout: float,
                      hidden: frozenset[int] = frozenset(),
                      steps: int = 1) -> LayerDivergence | None:
    """Run `vector` layer by layer (each op's output read right after it ran, before a
    later op reuses its memory) and compare each with the reference's intermediate.
    With state, every op's run starts from reset state and replays the vector's sequence
    up to it (whole inferences that stop before the end mark, so nothing is counted)."""
    start = vector - vector % steps if graph.variable_tensors else vector
    inputs = [x[start:vector + 1] for x in data.inputs]
    layers = [layer[-1:] for layer in reference.run(
        inputs, intermediates=True, sequence_length=vector + 1 - start).intermediates]
    session.context = f"per-layer mode, vector {vector + 1}"
    payload = b"".join(x.tobytes() for x in data.vector(vector))
    last_op = len(graph.operators) - 1
    for op, expected in zip(graph.operators, layers):
        if op.index in hidden:  # inside a patch stage: the whole tensor never exists
            continue
        if graph.variable_tensors:
            _reset_state(session)
            for earlier in range(start, vector):
                session.load_input(b"".join(x.tobytes() for x in data.vector(earlier)))
                session.invoke_until(last_op, timeout=timeout)
        session.load_input(payload)  # the memory plan lets later ops reuse the input's bytes
        session.invoke_until(op.index, timeout=timeout)
        raw = session.read_tensor(op.index, expected[0].nbytes)
        actual = np.frombuffer(raw, dtype=expected.dtype).reshape(expected.shape[1:])
        found = layer_divergence(vector, op.index, op.opcode, expected[0], actual)
        if found is not None:
            return found
    return None


def save_failures(folder: Path, graph: Graph, data: TestData, expected: list[np.ndarray],
                  actual: list[np.ndarray], vectors: tuple[int, ...]) -> Path:
    """The mismatching vectors' inputs (replayable with --data), and the reference's and
    the target's outputs, as .npy (one input or output) or .npz keyed by tensor name."""
    rows = list(vectors)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _save(folder / "inputs", graph.input_tensors, [x[rows] for x in data.inputs])
        _save(folder / "reference", graph.output_tensors, [e[rows] for e in expected])
        _save(folder / "target", graph.output_tensors, [a[rows] for a in actual])
        np.save(folder / "vectors.npy", np.array(rows, np.int64))
        if data.labels is not None:
            np.save(folder / "labels.npy", data.labels[rows])
    except OSError as exc:
        raise ConfigError(f"cannot write the failures to {folder}: {exc.strerror or exc}") \
            from None
    return folder


def _save(stem: Path, tensors: list, arrays: list[np.ndarray]) -> None:
    if len(arrays) == 1:
        np.save(stem.with_suffix(".npy"), arrays[0])
    else:
        np.savez(stem.with_suffix(".npz"), **{t.name: a for t, a in zip(tensors, arrays)})


def _timing(target: TargetDriver, graph: Graph, counter: CycleCounter | None,
            cycles: list[int], stamps: list[list[int]], mark_cost: int,
            user: DeviceInfo | None = None) -> Timing:
    """`user`: a user firmware's INFO, whose layer marks decide the per-layer table."""
    board = target.board
    counting = target.capability(InstructionCounter) if target.options.count_instructions \
        else None
    operators = len(graph.operators)
    if counting is not None:
        counts = counting.instruction_counts()  # stops the target
        # the per-layer mode's runs stop before the end marker: they are never counted
        if len(counts) != len(cycles):
            raise TargetError(f"the instruction counter saw {len(counts)} inferences, "
                              f"expected {len(cycles)}")
        no_layers = None if user is None else layers_missing(
            user, max(len(c.layers) for c in counts), operators)
        return timing_from_counts(board.core, board.clock_hz, graph, counts, no_layers)
    if counter is None:
        wanted = CycleCounter if target.options.virtual_time else InstructionCounter
        return no_timing(board.clock_hz, target.missing(wanted))
    if not any(cycles):
        return no_timing(board.clock_hz, f"the {board.cycle_counter.kind} cycle counter of "
                                         f"{board.name} read 0 on every inference")
    return timing_from_cycle_counter(
        board.clock_hz, graph, counter.cycle_source, cycles, stamps, mark_cost,
        None if user is None else layers_missing(user, None, operators))
