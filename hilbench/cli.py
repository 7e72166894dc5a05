"""The `hilbench` command. The only place that turns errors into messages and exit codes:
0 success, 1 a verdict failed (not bit-exact, over budget, a regression), 2 bad usage or
input."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import traceback
from contextlib import AbstractContextManager, nullcontext
import warnings
from pathlib import Path
from typing import NoReturn, Sequence

import numpy as np
from rich.console import Console

from hilbench import __version__
from hilbench.board import DEFAULT_BOARD, Board, load_board
from hilbench.codegen.arena import MODES as MEMORY_MODES
from hilbench.errors import ConfigError, HilbenchError, InputError, Interrupted, one_line
from hilbench.model import load_model
from hilbench.model.stats import model_stats
from hilbench.paths import CACHE_VARIABLE, DEMO_MODEL
from hilbench.run.data import generated_data, read_npy
from hilbench.reference import Reference, prepare
from hilbench.report.console import print_inspect, print_reference_summary


DESCRIPTION = """\
Hardware-in-the-loop tests and benchmarks for int8 neural networks on Cortex-M
microcontrollers: hilbench computes what the chip should output with a host reference that
is bit-exact with TensorFlow Lite Micro, builds the model into firmware with its own C
runtime, runs it on a board (QEMU, or a real board through pyOCD) and checks the outputs,
latency, RAM and flash against budgets and baselines.

Start with 'hilbench run' (the bundled keyword-spotting model on an emulated Cortex-M4), or
'hilbench run MODEL.tflite --board NAME'; 'hilbench boards' lists the boards."""

EPILOG = f"""\
exit status: 0 success, 1 a check failed (not bit-exact, over budget, a regression),
2 bad usage, bad input, a target that failed, or an internal error (one line).
build cache: --build-dir, else ${CACHE_VARIABLE}, else the user's cache folder."""


def _add_build_dir(parser: argparse.ArgumentParser, default: object = None) -> None:
    parser.add_argument("--build-dir", type=Path, metavar="DIR", default=default,
                        help=f"cache for firmware builds and the QEMU plugin (default: "
                             f"${CACHE_VARIABLE}, else the user's cache folder)")


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit status 2 like every other error."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see '{self.prog} --help')")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hilbench", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"hilbench {__version__}")
    _add_build_dir(parser)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    quantize = commands.add_parser("quantize", help="float ONNX model -> int8 .tflite")
    quantize.add_argument("model", type=Path, help="an ONNX model (from torch.onnx.export)")
    quantize.add_argument("--calib", type=Path, required=True, metavar="CALIB.npy",
                          help="representative float inputs, leading axis = vectors")
    quantize.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.tflite",
                          help="where to write the int8 model")
    quantize.add_argument("--eval", type=Path, metavar="EVAL.npy",
                          help="held-out float inputs to report the cost on")
    quantize.add_argument("--ranges", choices=("minmax", "percentile"), default="minmax",
                          help="activation ranges from the calibration set")
    quantize.set_defaults(run=cmd_quantize)

    boards = commands.add_parser("boards", help="list the boards hilbench knows")
    boards.set_defaults(run=cmd_boards)
    probes = commands.add_parser("probes", help="list attached debug probes: unique ID, "
                                                "target type, serial port")
    probes.set_defaults(run=cmd_probes)
    qemu_probe = commands.add_parser(
        "qemu-probe", help="attach a QEMU machine as a debug probe with a unique ID (halted, "
                           "no image, until pyOCD programs it); runs until interrupted")
    qemu_probe.add_argument("board", help="a QEMU board with a [probe] target, e.g. qemu-microbit")
    qemu_probe.add_argument("--unique-id", required=True, help="the probe's unique ID")
    qemu_probe.set_defaults(run=cmd_qemu_probe)

    inspect = commands.add_parser("inspect", help="ops, shapes, quantization, MACs, memory")
    inspect.add_argument("model", type=Path, help="a .tflite model")
    inspect.add_argument("--memory", choices=MEMORY_MODES, default="inplace",
                         help="the plan whose memory profile is shown beside the "
                              "layer-by-layer one (default: inplace)")
    inspect.add_argument("--board", default=DEFAULT_BOARD,
                         help="plan for this board's kernel variant and RAM, as `run` "
                              "builds it (default: %(default)s)")
    inspect.add_argument("--kernels", metavar="VARIANT",
                         help="kernel variant whose scratch is planned (default: the board's)")
    inspect.add_argument("--budget", type=Path, metavar="FILE",
                         help="budget file whose ram_bytes --memory auto plans for")
    inspect.set_defaults(run=cmd_inspect)

    reference = commands.add_parser(
        "reference", help="run the host reference (bit-exact with TFLM) on test vectors")
    reference.add_argument("model", type=Path, help="an int8 .tflite model")
    source = reference.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, action="append", metavar="X.npy",
                        help="test vectors, leading axis = vectors (repeat per model input)")
    source.add_argument("--random", type=int, metavar="N",
                        help="generate N random vectors (int8, int16 or float, as the "
                             "input) instead of reading --input")
    reference.add_argument("--seed", type=int, default=0, help="seed for --random")
    reference.add_argument("--output", type=Path, metavar="Y.npy",
                           help="where to write the outputs (same leading axis)")
    reference.add_argument("--intermediates", type=Path, metavar="DIR",
                           help="write op i's first output to DIR/<i>.npy")
    reference.add_argument("--sequence-length", type=int, default=1, metavar="S",
                           help="vectors per sequence: a stateful model's state is reset at "
                                "the start of each sequence of S vectors (1: every vector)")
    reference.set_defaults(run=cmd_reference)

    run = commands.add_parser("run", help="build the model into firmware, run it on a board, "
                                          "verify bit-exactness")
    _add_model_options(run)
    run.add_argument("--data", type=Path, action="append", metavar="PATH",
                     help="your inputs instead: a .npy with the vector axis first, a folder "
                          "of .npy files (one vector each), or one .npz keyed by input name; "
                          "repeat per model input. int8 as is, float quantized as TFLM's "
                          "QUANTIZE does")
    run.add_argument("--labels", type=Path, metavar="LABELS.npy",
                     help="class indices for --data: on-target accuracy beside the reference's")
    run.add_argument("--per-layer", action="store_true",
                     help="read every layer's output for one vector and name the first layer "
                          "that differs (done by itself for the first mismatching vector)")
    run.add_argument("--save-failures", type=Path, metavar="DIR",
                     help="write mismatching inputs, reference and target outputs as .npy "
                          "(replay with --data DIR/inputs.npy)")
    run.add_argument("--firmware", type=Path, metavar="ELF",
                     help="run your own firmware, built on hilbench's DUT library "
                          "(firmware/dut/hb_dut.h; 'hilbench dut-lib'), instead of building "
                          "the model: its model hash or sizes are checked against MODEL")
    run.add_argument("--json", type=Path, metavar="PATH", help="write the result as JSON")
    run.add_argument("--profile", action="store_true", help="add a per-layer table")
    run.add_argument("--via", metavar="WAY",
                     help="which of the board's drivers reaches it (default: its first): "
                          "'direct', or 'pyocd' to load and control it through pyOCD (on "
                          "QEMU: its GDB stub as a debug probe)")
    run.add_argument("--transport", default="serial", metavar="LINK",
                     help="the link: 'serial' (the board's UART) or 'probe' (RAM buffers "
                          "over the debug probe)")
    run.add_argument("--cycle-counter", action="store_true",
                     help="time with the board's own cycle counter, as on real cores (on "
                          "QEMU: virtual time, SysTick boards)")
    run.add_argument("--budget", type=Path, metavar="FILE",
                     help="budgets TOML ([[budget]] tables; or a pyproject.toml with "
                          "[[tool.hilbench.budget]])")
    run.add_argument("--baseline", type=Path, metavar="FILE",
                     help="flag regressions against figures saved by 'hilbench baseline save'")
    run.add_argument("--baseline-tolerance", type=float, metavar="PERCENT",
                     help="baseline tolerance (default 0 for exact QEMU counts, 5 measured)")
    run.add_argument("--tolerance", metavar="LIMITS",
                     help="for a runtime not meant to be bit-exact: limits that replace the "
                          "bit-exactness check, e.g. max_abs_diff=1,l2r=0.01 (also mae, rmse, "
                          "cosine and top1_agreement minimums). A bare number is read as "
                          "--baseline-tolerance, as before")
    run.add_argument("--junit", type=Path, metavar="PATH",
                     help="write JUnit XML, one testcase per check")
    _add_farm_options(run)
    _add_build_dir(run, argparse.SUPPRESS)
    run.set_defaults(run=cmd_run)

    build = commands.add_parser("build", help="build a model into firmware (cached) and print "
                                              "the ELF's path")
    build.add_argument("model", type=Path, nargs="?", default=DEMO_MODEL,
                       help="a .tflite model (default: the bundled KWS demo model)")
    build.add_argument("--board", default=DEFAULT_BOARD, help="board name or board .toml file")
    build.add_argument("--kernels", metavar="VARIANT",
                       help="kernel variant (default: the board's)")
    build.add_argument("--protocol", default="hilbench", choices=("hilbench", "mlperf"),
                       help="what the firmware speaks on its UART: hilbench's frames, or "
                            "MLPerf Tiny's DUT commands (for 'hilbench dut' or MLPerf's runner)")
    build.add_argument("--model-id", metavar="ID",
                       help="with --protocol mlperf: the model id 'profile' reports (default: "
                            "kws01, vww01, ic01, ad01 for the MLPerf Tiny models, else the "
                            "model's name)")
    _add_build_dir(build, argparse.SUPPRESS)
    build.set_defaults(run=cmd_build)

    dut = commands.add_parser("dut", help="drive a device speaking MLPerf Tiny's DUT protocol "
                                          "and check its results against the host reference")
    dut.add_argument("model", type=Path, help="the .tflite model the DUT runs")
    where = dut.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", metavar="URL",
                       help="the DUT's serial port: any pyserial URL (/dev/ttyACM0, "
                            "socket://HOST:PORT, a pty)")
    where.add_argument("--board", help="build hilbench's MLPerf firmware for this board and "
                                       "start it (QEMU: timed in deterministic virtual time)")
    dut.add_argument("--vectors", type=int, default=5,
                     help="windows, one generated vector each, when no --data is given (5)")
    dut.add_argument("--seed", type=int, default=0, help="seed for the generated vectors (0)")
    dut.add_argument("--data", type=Path, action="append", metavar="PATH",
                     help="your inputs instead, as for 'run --data' (one window per vector)")
    dut.add_argument("--count", type=int, metavar="N",
                     help="timed inferences per window (default: MLPerf's runner's for the "
                          "model id: kws01 70, vww01 20, ic01 20, ad01 1500; else 10)")
    dut.add_argument("--warmup", type=int, metavar="W",
                     help="warm-up inferences per window (default: the runner's: 10, 5, 5, "
                          "10; else 1)")
    dut.add_argument("--model-id", metavar="ID",
                     help="the model id the DUT must report (and, with --board, is built with)")
    dut.add_argument("--kernels", metavar="VARIANT", help="with --board: kernel variant")
    dut.add_argument("--baud", type=int, default=115200, help="with --port: baud rate (115200)")
    dut.add_argument("--timeout", type=float, default=60.0,
                     help="seconds an 'infer' reply may take (60)")
    dut.add_argument("--json", type=Path, metavar="PATH", help="write the result as JSON")
    _add_build_dir(dut, argparse.SUPPRESS)
    dut.set_defaults(run=cmd_dut)
    dut_lib = commands.add_parser(
        "dut-lib", help="write the make fragment that builds your own firmware on hilbench's "
                        "DUT library for a board (for 'run --firmware')")
    dut_lib.add_argument("--board", default=DEFAULT_BOARD, help="board name or board .toml file")
    dut_lib.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                         help="where hilbench.mk and memory.ld go")
    dut_lib.add_argument("--model", type=Path, metavar="MODEL.tflite",
                         help="also write the model's generated C (model.c) and list the "
                              "kernels it calls, to use hilbench's runtime as yours")
    dut_lib.add_argument("--transport", default="serial", metavar="LINK",
                         help="the link the library speaks over: 'serial' or 'probe'")
    dut_lib.add_argument("--kernels", metavar="VARIANT",
                         help="kernel variant of the generated model (default: the board's)")
    dut_lib.set_defaults(run=cmd_dut_lib)

    baseline = commands.add_parser("baseline", help="record figures to compare later runs with")
    baseline_commands = baseline.add_subparsers(dest="action", required=True,
                                                parser_class=_Parser)
    save = baseline_commands.add_parser("save", help="run a model and store its figures")
    _add_model_options(save)
    save.add_argument("-o", "--output", type=Path, default=Path("hilbench-baseline.json"),
                      metavar="FILE", help="the baseline file; a model and board already in "
                                           "it are replaced (hilbench-baseline.json)")
    _add_build_dir(save, argparse.SUPPRESS)
    save.set_defaults(run=cmd_baseline_save)

    matrix = commands.add_parser("matrix", help="run a plan's models x boards x kernel "
                                                "variants, store every result, flag regressions")
    matrix.add_argument("plan", type=Path, metavar="PLAN.toml",
                        help="[matrix] models (globs, relative to the plan), boards, vectors, "
                             "variants; optional [[budget]] tables")
    matrix.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                        help="jobs at once (a real board still runs one at a time)")
    matrix.add_argument("--db", type=Path, metavar="PATH",
                        help="the results store (default: in your user data folder)")
    matrix.add_argument("--junit", type=Path, metavar="PATH",
                        help="JUnit XML: a testsuite per board, a testcase per model x check")
    matrix.add_argument("--resume", action="store_true",
                        help="continue the last unfinished run of this plan: only missing jobs")
    _add_farm_options(matrix)
    matrix.set_defaults(run=cmd_matrix)

    report = commands.add_parser("report", help="static HTML report of the results store")
    report.add_argument("--db", type=Path, metavar="PATH",
                        help="the results store (default: in your user data folder)")
    report.add_argument("--html", type=Path, required=True, metavar="DIR",
                        help="where to write the static HTML report")
    report.set_defaults(run=cmd_report)

    history = commands.add_parser("history", help="a model's stored results on a board")
    history.add_argument("model", help="the model's name (file stem), file, or SHA-256")
    history.add_argument("--board", default=DEFAULT_BOARD,
                         help=f"the board's name (default {DEFAULT_BOARD})")
    history.add_argument("--variant", help="one kernel variant only")
    history.add_argument("--db", type=Path, metavar="PATH",
                         help="the results store (default: in your user data folder)")
    history.set_defaults(run=cmd_history)
    return parser


def _add_farm_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--farm", metavar="labgrid[:HOST:PORT]",
                        help="run on places of a labgrid farm tagged board=<board name> "
                             "(coordinator: HOST:PORT, else $LG_COORDINATOR, else local)")
    parser.add_argument("--place-timeout", type=float, default=600.0, metavar="SECONDS",
                        help="with --farm: how long to wait for a place others hold (600)")


def _store(path: Path | None):
    from hilbench.store.db import Store, default_db_path

    return Store(path or default_db_path())


def cmd_matrix(args: argparse.Namespace, console: Console) -> int:
    from hilbench.matrix.plan import load_plan
    from hilbench.matrix.runner import run_matrix
    from hilbench.report.matrix_junit import write_matrix_junit

    if args.jobs < 1:
        raise ConfigError("-j must be at least 1")
    plan = load_plan(args.plan)
    with _store(args.db) as store, _farm(args) as farm:
        summary = run_matrix(plan, store, args.jobs, args.resume, console, farm,
                             args.place_timeout)
        jobs = store.jobs(summary.run_id)
        if args.junit is not None:
            write_matrix_junit(args.junit, jobs, f"hilbench matrix {plan.path.name}")
    counts = {s: sum(j.status == s for j in jobs) for s in ("pass", "fail", "skipped", "error")}
    console.print(f"matrix run {summary.run_id}: {len(jobs)} jobs: "
                  + ", ".join(f"{n} {s}" for s, n in counts.items()) + f" (store: {store.path})")
    return 1 if counts["fail"] or counts["error"] else 0


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    from hilbench.report.html import write_html_report

    with _store(args.db) as store:
        index = write_html_report(store, args.html)
    console.print(f"report written: {index}")
    return 0


def cmd_history(args: argparse.Namespace, console: Console) -> int:
    from hilbench.matrix.plan import model_digest
    from hilbench.report.history import print_history

    key = args.model
    if key.endswith(".tflite"):
        path = Path(key)
        key = model_digest(path) if path.exists() else path.stem
    with _store(args.db) as store:
        rows = store.history(key, args.board, args.variant)
    if not rows:
        raise ConfigError(f"no stored results for {args.model} on {args.board}")
    print_history(console, rows)
    return 0


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    """What `run` and `baseline save` share: the model, the board, the vectors, the build."""
    parser.add_argument("model", type=Path, nargs="?", default=DEMO_MODEL,
                        help="a .tflite model (default: the bundled KWS demo model)")
    parser.add_argument("--board", default=DEFAULT_BOARD,
                        help="board name or board .toml file")
    parser.add_argument("--vectors", type=int, default=20,
                        help="generated test vectors to stream, when no --data is given (20)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for the generated test vectors (0)")
    parser.add_argument("--sequence-length", type=int, default=1, metavar="S",
                        help="vectors per sequence: a stateful model's state is reset at "
                             "the start of each sequence of S vectors (1: every vector)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds one inference may take before the run is abandoned")
    parser.add_argument("--kernels", metavar="VARIANT",
                        help="kernel variant to build with (default: the board's; 'ref' is "
                             "the portable C)")
    parser.add_argument("--memory", choices=MEMORY_MODES, default="inplace",
                        help="arena plan: plain (no tensor shares bytes), inplace (kernels' "
                             "declared overlaps, the default), patch (first CNN stage patch "
                             "by patch), auto (the fewest MACs that fit the --budget's "
                             "ram_bytes and the board)")


def cmd_boards(args: argparse.Namespace, console: Console) -> int:
    from hilbench.board import board_names, load_board
    from hilbench.report.console import print_boards

    print_boards(console, [load_board(name) for name in board_names()], DEFAULT_BOARD)
    return 0


def cmd_quantize(args: argparse.Namespace, console: Console) -> int:
    from hilbench.model.tflite_writer import write_tflite
    from hilbench.quantize.onnx_reader import load_onnx
    from hilbench.quantize.quantizer import quantize_graph
    from hilbench.quantize.report import quantization_report
    from hilbench.report.console import print_quantization

    float_graph = load_onnx(args.model)
    calibration = read_npy(args.calib)
    if not np.issubdtype(calibration.dtype, np.floating) or calibration.ndim < 2:
        raise InputError(f"{args.calib} must hold float vectors with a leading vector axis")
    graph, quant, layers = quantize_graph(float_graph, calibration, args.ranges)
    try:
        write_tflite(graph, args.output)
    except OSError as exc:
        raise ConfigError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    reports = [quantization_report("calibration", float_graph, graph, quant, layers, calibration)]
    if args.eval is not None:
        reports.append(quantization_report("eval", float_graph, graph, quant, layers,
                                           read_npy(args.eval).astype(np.float64)))
    print_quantization(console, reports, str(args.output))
    return 0


def cmd_probes(args: argparse.Namespace, console: Console) -> int:
    from hilbench.targets.pyocd_target import list_probes

    found = list_probes()
    if not found:
        console.print("no debug probes attached (pyOCD sees none)")
    for probe in found:
        console.print(f"{probe.unique_id}  target: {probe.target_type or 'unknown'}  "
                      f"serial port: {probe.serial_port or 'none found'}  ({probe.description})",
                      highlight=False, soft_wrap=True)
    return 0


def cmd_qemu_probe(args: argparse.Namespace, console: Console) -> int:
    import signal
    import tempfile

    from hilbench.board import load_board
    from hilbench.targets.qemu_probes import AttachedQemu

    board = load_board(args.board)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on kill too
    with tempfile.TemporaryDirectory(prefix="hilbench-qemu-probe-") as workdir, \
            AttachedQemu(board, args.unique_id, Path(workdir)) as attached:
        entry = attached.entry
        assert entry is not None
        console.print(f"attached {entry.unique_id}: {board.name} (pyOCD target {entry.target}), "
                      f"serial port {entry.serial}; Ctrl-C detaches",
                      highlight=False, soft_wrap=True)
        sys.stdout.flush()  # whoever started us in the background waits for this line
        try:
            attached.wait()
        except KeyboardInterrupt:
            pass
    return 0


def cmd_inspect(args: argparse.Namespace, console: Console) -> int:
    from hilbench.board import load_board
    from hilbench.codegen.arena import choose_arena
    from hilbench.codegen.c_model import plan_model_memory
    from hilbench.compare.budgets import load_budgets, ram_budget
    from hilbench.report.console import print_memory_profile
    from hilbench.toolchain.firmware import ram_limits

    board = load_board(args.board)  # bad options fail before any work
    budgets = load_budgets(args.budget) if args.budget else None
    graph = load_model(args.model)
    unsupported = []
    try:
        prepared = prepare(graph)
    except HilbenchError as exc:  # inspect still shows the model; say what blocks running it
        unsupported.append(str(exc))
        prepared = None
    print_inspect(console, args.model.name, graph, model_stats(graph), unsupported)
    if prepared is not None and graph.operators:
        # planned as `run` builds it: the variant's kernels bring their scratch
        variant = args.kernels or board.build.kernels
        specialized, chosen = plan_model_memory(
            graph, prepared, variant, args.memory,
            ram_limits(board, ram_budget(budgets, args.model.stem, board.name)))
        scratch = {i: s.scratch_bytes for i, s in specialized.items()}
        plain = choose_arena(graph, prepared, scratch, "plain", variant)
        print_memory_profile(console, graph, plain, chosen, f"{board.name}, {variant} kernels")
    return 0


def _random_vectors(graph, count: int, seed: int) -> list[np.ndarray]:
    if count < 1:
        raise ConfigError("--random needs a positive number of vectors")
    return generated_data(graph, count, seed, near_zero_point=False).inputs


def cmd_reference(args: argparse.Namespace, console: Console) -> int:
    graph = load_model(args.model)
    reference = Reference(graph)  # validates every op before any work is done
    if args.input:
        inputs = [read_npy(p) for p in args.input]
    else:
        inputs = _random_vectors(graph, args.random, args.seed)
    start = time.perf_counter()
    result = reference.run(inputs, intermediates=args.intermediates is not None,
                           sequence_length=args.sequence_length)
    seconds = time.perf_counter() - start

    written = []
    if args.output is not None:
        for k, array in enumerate(result.outputs):
            path = args.output if k == 0 else args.output.with_suffix(f".{k}.npy")
            _save(path, array)
            written.append(str(path))
    if args.intermediates is not None:
        for i, array in enumerate(result.intermediates):
            _save(args.intermediates / f"{i}.npy", array)
        written.append(f"{args.intermediates}/<op>.npy ({len(result.intermediates)} files)")
    print_reference_summary(
        console, args.model.name, result.outputs[0].shape[0], seconds,
        [(t.name, t.shape) for t in graph.output_tensors], written)
    return 0


def cmd_dut_lib(args: argparse.Namespace, console: Console) -> int:
    from hilbench.board import load_board
    from hilbench.drivers.registry import link_driver
    from hilbench.toolchain.dut_library import export_dut_library

    link_driver(args.transport)  # an unknown link fails before anything is written
    library = export_dut_library(load_board(args.board), args.output, args.transport,
                                 args.model, args.kernels)
    console.print(f"wrote {library.fragment}"
                  + (f" and {library.model_source.name}" if library.model_source else "")
                  + f": include it in your Makefile (see firmware/dut/hb_dut.h)")
    return 0


def _farm(args: argparse.Namespace) -> AbstractContextManager:
    """The open farm of --farm (its places released on leaving), or nothing."""
    if getattr(args, "farm", None) is None:
        return nullcontext()
    if not args.place_timeout > 0:
        raise ConfigError("--place-timeout must be a positive number of seconds")
    from hilbench.farm.lease import open_farm

    return open_farm(args.farm)


def _run(args: argparse.Namespace, console: Console, budgets: list | None = None):
    board = load_board(args.board)
    with _farm(args) as farm:
        place = None
        if farm is not None:
            place = farm.acquire(board.name, args.place_timeout)
            console.print(f"on place {place.place} (exporter {place.exporter} on "
                          f"{place.host})")
        return _run_on(args, console, board, place, budgets)


def _run_on(args: argparse.Namespace, console: Console, board: Board, place: object,
            budgets: list | None):
    from rich.progress import Progress

    from hilbench.compare.budgets import ram_budget
    from hilbench.run import RunRequest, run

    request = RunRequest(
        model=args.model, board=board, vectors=args.vectors, seed=args.seed, place=place,
        kernels=args.kernels, memory=getattr(args, "memory", "inplace"),
        ram_budget=ram_budget(budgets, args.model.stem, board.name),
        link=getattr(args, "transport", "serial"),
        via=getattr(args, "via", None), cycle_counter=getattr(args, "cycle_counter", False),
        timeout=args.timeout, data=tuple(getattr(args, "data", None) or ()),
        labels=getattr(args, "labels", None), per_layer=getattr(args, "per_layer", False),
        save_failures=getattr(args, "save_failures", None),
        firmware=getattr(args, "firmware", None),
        sequence_length=getattr(args, "sequence_length", 1))
    graph = load_model(args.model)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"{request.model_name} on {request.board.name}",
                                 total=request.vectors)
        return run(request, graph=graph,
                   progress=lambda done: progress.update(task, completed=done))


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from hilbench.compare.baseline import load_baselines
    from hilbench.compare.budgets import load_budgets
    from hilbench.compare.verdict import parse_tolerances, verdict
    from hilbench.report.junit import write_junit
    from hilbench.report.run_report import (print_profile, print_run, print_verdict,
                                            write_json, write_partial_json)

    budgets = load_budgets(args.budget) if args.budget else None  # fail fast, before running
    baselines = load_baselines(args.baseline) if args.baseline else None
    baseline_tolerance, tolerances = args.baseline_tolerance, None
    if args.tolerance is not None:
        try:
            baseline_tolerance = float(args.tolerance)
        except ValueError:
            tolerances = parse_tolerances(args.tolerance)
    if baseline_tolerance is not None and not 0 <= baseline_tolerance < float("inf"):
        raise ConfigError("the baseline tolerance must be a finite percentage >= 0")
    start = time.perf_counter()
    try:
        result = _run(args, console, budgets)
    except BaseException as exc:
        partial = getattr(exc, "partial", None)
        if args.json is not None and partial is not None and partial.comparison is not None:
            write_partial_json(partial, args.json, one_line(str(exc) or type(exc).__name__))
            exc.partial_note = (f"; the {partial.done} of {partial.vectors} vectors verified "  # type: ignore[attr-defined]
                                f"are in {args.json} (\"complete\": false)")
        raise
    print_run(console, result)
    if args.profile:
        print_profile(console, result)
    if args.json is not None:
        write_json(result, args.json, profile=args.profile)
    checks = verdict(result, budgets, args.budget, baselines, args.baseline,
                     baseline_tolerance, tolerances)
    if args.budget or args.baseline or tolerances:
        print_verdict(console, checks)
    if args.junit is not None:
        write_junit(args.junit, "hilbench", f"{result.model}.{result.board}", checks,
                    time.perf_counter() - start)
    return 0 if all(check.passed for check in checks) else 1


def cmd_build(args: argparse.Namespace, console: Console) -> int:
    from hilbench import api

    if args.model_id is not None and args.protocol != "mlperf":
        raise ConfigError("--model-id goes with --protocol mlperf")
    firmware = api.build(args.model, args.board, kernels=args.kernels, protocol=args.protocol,
                         model_id=args.model_id)
    console.print(f"{firmware.elf}  ({args.protocol} protocol; flash {firmware.sizes.flash:,} B,"
                  f" static RAM {firmware.sizes.static_ram:,} B"
                  f"{'; cached' if firmware.cached else ''})", soft_wrap=True)
    return 0


def cmd_dut(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import Progress

    from hilbench.board import load_board
    from hilbench.dut import DutRequest, run_dut
    from hilbench.dut.report import print_dut, write_dut_json

    request = DutRequest(
        model=args.model, port=args.port,
        board=load_board(args.board) if args.board else None, vectors=args.vectors,
        seed=args.seed, data=tuple(args.data or ()), count=args.count, warmup=args.warmup,
        model_id=args.model_id, kernels=args.kernels, timeout=args.timeout, baud=args.baud)
    graph = load_model(args.model)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"{request.model_name} on the DUT", total=None)
        result = run_dut(request, graph=graph,
                         progress=lambda done: progress.update(task, completed=done))
    print_dut(console, result)
    if args.json is not None:
        write_dut_json(result, args.json)
    return 0 if result.passed else 1


def cmd_baseline_save(args: argparse.Namespace, console: Console) -> int:
    from hilbench.compare.baseline import save_baseline
    from hilbench.compare.verdict import figures

    if args.output.is_dir():  # before the run, not after it
        raise ConfigError(f"baseline file {args.output} is a directory")
    result = _run(args, console)
    if not result.comparison.bit_exact:
        raise ConfigError(f"refusing to save a baseline from a run that is not bit-exact "
                          f"({result.comparison.mismatches} mismatching values)")
    record = figures(result)
    if record["instructions"] is None and record["cycles"] is None:
        raise ConfigError(f"refusing to save a baseline without timing figures: "
                          f"{result.timing.missing}")
    save_baseline(args.output, record)
    console.print(f"saved baseline {result.model}@{result.board} to {args.output}: "
                  f"{record['instructions'] or record['cycles']:,} "
                  f"{'instructions' if record['instructions'] else 'cycles'} per inference")
    return 0


def _save(path: Path, array: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, array)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
DEBUG_VARIABLE = "HILBENCH_DEBUG"  # set: an internal error also prints its traceback
INTERNAL_ERROR_EXIT = 2  # like bad input: exit 1 means only "a verdict failed"


def internal_error_line(exc: BaseException) -> str:
    """An unexpected exception as one bounded line naming its type and where it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return one_line(f"{text}{where} (please report; {DEBUG_VARIABLE}=1 shows the traceback)")


def _interrupt(signal_number: int, frame: object) -> None:
    raise Interrupted(signal_number, signal.Signals(signal_number).name)


def main(argv: Sequence[str] | None = None) -> int:
    console = Console()
    if not console.is_terminal:  # logs and pipes have no width limit; do not wrap tables
        console = Console(width=160)
    # SIGTERM (CI cancelling a job) and SIGHUP (a closed terminal) unwind like Ctrl-C:
    # QEMU, the compiler and temporary files are released, a partial JSON is written
    previous = ({s: signal.signal(s, _interrupt) for s in HANDLED_SIGNALS}
                if threading.current_thread() is threading.main_thread() else {})
    try:
        args = _build_parser().parse_args(argv)
        if args.build_dir is not None:  # read by hilbench.paths.build_dir() at each build
            os.environ[CACHE_VARIABLE] = str(args.build_dir.expanduser().resolve())
        # integer kernels wrap and saturate on purpose, and every value that could make
        # NumPy warn is refused by the model checks first: warnings are never the message
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return args.run(args, console)
    except HilbenchError as exc:
        note = getattr(exc, "partial_note", "")
        print(f"hilbench: error: {one_line(str(exc) + note)}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # a hilbench bug: still one line, and never exit 1 (a verdict)
        if os.environ.get(DEBUG_VARIABLE):
            traceback.print_exc()  # for whoever debugs it; the status stays 2
        print(f"hilbench: internal error: {internal_error_line(exc)}", file=sys.stderr)
        return INTERNAL_ERROR_EXIT
    except KeyboardInterrupt as exc:
        number = exc.signal_number if isinstance(exc, Interrupted) else signal.SIGINT
        name = signal.Signals(number).name
        note = getattr(exc, "partial_note", "")
        print(f"hilbench: interrupted by {name}{note}", file=sys.stderr)
        return 128 + number
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
