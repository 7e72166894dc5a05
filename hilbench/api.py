"""hilbench's Python API: the `hilbench` command's work as functions.

    from hilbench import api

    result = api.run("model.tflite", board="qemu-microbit", vectors=20,
                     budgets={"latency_us": 100, "ram_bytes": 100_000})
    assert result.passed, [c for c in result.checks if not c.passed]
    print(result.timing.latency_us.max, result.to_json())

Every function raises a `hilbench.errors.HilbenchError` subclass for anything a user can
cause (a bad model, an unknown board, a build or a target that fails); the message is one
line. The build cache is `hilbench.paths.build_dir()`: `$HILBENCH_CACHE`, else the user's
cache folder.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any, Union

import numpy as np

from hilbench.board import DEFAULT_BOARD, Board, board_names, load_board
from hilbench.compare.budgets import LIMITS, Budget, load_budgets, ram_budget
from hilbench.compare.checks import Check
from hilbench.errors import ConfigError
from hilbench.model import Graph
from hilbench.model import load_model as _load_model
from hilbench.reference import Reference, ReferenceResult
from hilbench.run.records import RunRequest, RunResult
from hilbench.toolchain.firmware import FirmwareBuild

__all__ = ["Board", "Budget", "Check", "FirmwareBuild", "Graph", "ReferenceResult",
           "RunResult", "board_names", "build", "load_board", "load_model", "reference",
           "run", "run_schema"]

PathLike = Union[str, Path]
BoardLike = Union[str, Path, Board]
# one model input: a .npy (vector axis first), a folder of .npy, a .npz, or an array
DataLike = Union[PathLike, np.ndarray]
# limits for this run ({"latency_us": 100}), Budget records, or a budget file
BudgetsLike = Union[Mapping[str, Any], Sequence[Budget], PathLike]

SCHEMA = Path(__file__).resolve().parent / "schemas" / "run.schema.json"


def load_model(path: PathLike) -> Graph:
    """Read a .tflite model into hilbench's graph (ops, tensors, quantization)."""
    return _load_model(path)


def reference(model: PathLike | Graph, inputs: Sequence[np.ndarray] | np.ndarray,
              intermediates: bool = False) -> ReferenceResult:
    """What the chip should output: the host reference, bit-exact with TFLM.

    inputs: one array per model input, the vector axis first (the input's int8 or int16,
    or float32 for a model with float inputs). `.outputs` has one array per model output
    with the same leading axis; with `intermediates`, `.intermediates[i]` is op i's first
    output."""
    graph = model if isinstance(model, Graph) else load_model(model)
    arrays = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
    return Reference(graph).run(arrays, intermediates=intermediates)


def _board(board: BoardLike) -> Board:
    return board if isinstance(board, Board) else load_board(str(board))


def build(model: PathLike, board: BoardLike = DEFAULT_BOARD, kernels: str | None = None,
          link: str = "serial", memory: str = "inplace", ram_bytes: int | None = None,
          protocol: str = "hilbench", model_id: str | None = None) -> FirmwareBuild:
    """Build the model into firmware for the board (cached by content: an unchanged model
    and board return the cached build). memory: plain, inplace, patch or auto (the fewest
    MACs that fit `ram_bytes` and the board). protocol "mlperf": the firmware speaks MLPerf
    Tiny's DUT protocol instead of hilbench's (model_id: what it reports; default from the
    name). Raises BuildError, with the byte count, when the model does not fit the board."""
    from hilbench.codegen.c_model import generate_model
    from hilbench.toolchain.firmware import build_firmware, check_protocol, ram_limits

    target = _board(board)
    path = Path(model)
    variant = kernels or target.build.kernels
    limits = ram_limits(target, ram_bytes, link)
    if check_protocol(protocol) == "mlperf":
        from hilbench.dut.firmware import build_mlperf_firmware

        return build_mlperf_firmware(path, target, variant, model_id, link=link, memory=memory,
                                     ram_limits=limits)
    generated = generate_model(load_model(path), path.read_bytes(), path.stem, variant, memory,
                               limits)
    return build_firmware(generated, target, path.stem, variant=variant,
                          link=link)


def budgets_from(budgets: BudgetsLike) -> list[Budget]:
    """Budget records from a mapping of limits, a list of Budgets, or a budget file."""
    if isinstance(budgets, (str, Path)):
        return load_budgets(Path(budgets))
    if isinstance(budgets, Mapping):
        unknown = set(budgets) - set(LIMITS)
        if unknown:
            raise ConfigError(f"unknown budget limit(s) {', '.join(sorted(unknown))}; "
                              f"limits are {', '.join(LIMITS)}")
        for key, value in budgets.items():
            wanted_bool = key == "bit_exact"
            if isinstance(value, bool) != wanted_bool or not isinstance(value, (int, float)):
                raise ConfigError(f"budget {key} must be "
                                  f"{'True or False' if wanted_bool else 'a number'}")
        return [Budget(None, None, dict(budgets), "budgets")] if budgets else []
    return list(budgets)


def run(model: PathLike, board: BoardLike = DEFAULT_BOARD, *,
        data: DataLike | Sequence[DataLike] | None = None, labels: PathLike | None = None,
        vectors: int = 20, seed: int = 0, budgets: BudgetsLike | None = None,
        tolerances: Mapping[str, float] | None = None, kernels: str | None = None,
        memory: str = "inplace", link: str = "serial", via: str | None = None,
        cycle_counter: bool = False,
        per_layer: bool = False, timeout: float = 60.0,
        progress: Callable[[int], None] | None = None,
        firmware: PathLike | None = None, sequence_length: int = 1) -> RunResult:
    """Build the model into firmware, run it on the board, compare with the host reference.

    model: a .tflite file. board: a board name (`hilbench boards`), a board .toml, or a Board.
    data: the inputs to stream (a .npy with the vector axis first, a folder of .npy files,
    a .npz keyed by input name, or an array; a list of them for several model inputs);
    without it, `vectors` inputs are generated from `seed`.
    budgets: limits to check (keys: latency_us, cycles, ram_bytes, flash_bytes, bit_exact,
    max_abs_diff), as a mapping, Budget records or a budget file.
    tolerances: replace the bit-exactness check (max_abs_diff, l2r, mae, rmse, cosine,
    top1_agreement), for a runtime not meant to be bit-exact.
    memory: the arena plan, plain, inplace, patch or auto: the fewest MACs that fit the
    budgets' ram_bytes and the board (`result.memory` says what was built and why).
    firmware: your own ELF built on the DUT library (firmware/dut/hb_dut.h), run instead of
    building the model; the model it reports must be `model` (ConfigError otherwise).
    sequence_length: the vectors form sequences of this many; a model's state (variable
    tensors: SVDF, LSTM) is reset at the start of each, on the board and in the reference.

    Returns the RunResult with its verdict in `.checks` (bit-exactness or the tolerances,
    then every budget limit) and `.passed`; a failed check is not an exception. A model
    that does not fit the board raises BuildError before anything is built."""
    from hilbench.compare.verdict import verdict
    from hilbench.run import run as run_request

    limits = budgets_from(budgets) if budgets is not None else None  # fail before building
    target = _board(board)
    with ExitStack() as stack:
        paths = _data_paths(data, stack)
        request = RunRequest(model=Path(model), board=target, vectors=vectors, seed=seed,
                             kernels=kernels, memory=memory,
                             ram_budget=ram_budget(limits, Path(model).stem, target.name),
                             link=link, via=via,
                             cycle_counter=cycle_counter,
                             timeout=timeout, data=paths,
                             labels=None if labels is None else Path(labels),
                             per_layer=per_layer,
                             firmware=None if firmware is None else Path(firmware),
                             sequence_length=sequence_length)
        result = run_request(request, progress=progress)
    source = Path(budgets) if isinstance(budgets, (str, Path)) else Path("budgets")
    checks = verdict(result, limits or None, source, tolerances=dict(tolerances or {}) or None)
    return replace(result, checks=tuple(checks))


def _data_paths(data: DataLike | Sequence[DataLike] | None,
                stack: ExitStack) -> tuple[Path, ...]:
    if data is None:
        return ()
    items = [data] if isinstance(data, (str, Path, np.ndarray)) else list(data)
    paths = []
    for k, item in enumerate(items):
        if isinstance(item, np.ndarray):  # run/data.py reads files: arrays go through one
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hilbench-")))
            np.save(folder / f"input{k}.npy", item)
            paths.append(folder / f"input{k}.npy")
        else:
            paths.append(Path(item))
    return tuple(paths)


def run_schema() -> dict[str, Any]:
    """The JSON Schema of RunResult.to_json() and `hilbench run --json`."""
    return json.loads(SCHEMA.read_text())
