"""Shared helpers for the test suite: where the shared models live, test vectors, the
bit-exactness check against TFLM's interpreter, and the `hilbench` command as a user runs
it. The operator edge-case models are in cases.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from hilbench.board import Board, load_board
from hilbench.model import Graph, parse_tflite
from hilbench.model.graph import Tensor
from hilbench.model.tflite_writer import write_tflite
from hilbench.reference import Reference
from hilbench.reference.tflm_oracle import TflmOracle
from hilbench.run import RunRequest, RunResult, run
from hilbench.run.data import integer_vectors

REPO = Path(__file__).resolve().parents[1]

SHARED_MODELS = Path(os.environ.get("HILBENCH_SHARED_MODELS",
                                    REPO.parent / "shared" / "models"))


def shared_models() -> list[Path]:
    return sorted(SHARED_MODELS.glob("*.tflite"))


def vectors(tensor: Tensor, count: int, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Test vectors for one model input: 'uniform' over the whole int8 (int16) range, or
    'near_zp', small deviations around the zero point (uniform inputs saturate some
    models)."""
    shape = (count,) + tensor.shape
    if tensor.dtype == np.float32:
        scale = float(tensor.quantization.scale[0]) if tensor.quantization else 0.05
        spread = 128 * scale if kind == "uniform" else 6 * scale
        return rng.uniform(-spread, spread, size=shape).astype(np.float32)
    return integer_vectors(rng, shape, tensor.dtype, tensor.zero_point, kind != "uniform")


def compare_with_tflm(graph: Graph, model: bytes, count: int, seed: int = 0,
                      sequence_length: int = 1) -> dict[str, int]:
    """Run reference and TFLM on `count` vectors of each kind; return mismatch counts per
    kind, counting every value of every op's output tensor. sequence_length: both reset
    the model's state every that many vectors."""
    reference = Reference(graph)
    oracle = TflmOracle(model, graph)
    rng = np.random.default_rng(seed)
    mismatches = {}
    for kind in ("uniform", "near_zp"):
        x = vectors(graph.input_tensors[0], count, rng, kind)
        ours = reference.run([x], intermediates=True, sequence_length=sequence_length)
        theirs = oracle.run(x, intermediates=True, sequence_length=sequence_length)
        bad = 0
        first = None
        for op, a, b in zip(graph.operators, ours.intermediates, theirs.intermediates):
            wrong = int(np.count_nonzero(a != b))
            if wrong and first is None:
                first = f"op {op.index} {op.opcode}: {wrong} values, max |diff| " \
                        f"{np.abs(a.astype(np.float64) - b).max()}"
            bad += wrong
        bad += sum(int(np.count_nonzero(a != b)) for a, b in zip(ours.outputs, theirs.outputs))
        mismatches[kind] = bad
        assert bad == 0, f"{kind}: {bad} mismatching values; first divergence at {first}"
    return mismatches


def roundtrip(graph: Graph) -> tuple[Graph, bytes]:
    """Write a built graph to .tflite and read it back, as a user's file would arrive."""
    data = write_tflite(graph)
    return parse_tflite(data), data


def hilbench(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI in a subprocess; `env` adds to this process's environment."""
    return subprocess.run([sys.executable, "-m", "hilbench", *map(str, args)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env} if env else None)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert lines[0].startswith("hilbench: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def run_bit_exact(path: Path, board: str | Board, vectors: int, seed: int = 3,
                  kernels: str | None = None, memory: str = "inplace",
                  sequence_length: int = 1) -> RunResult:
    """Run a model on a QEMU board and assert every output equals the reference's."""
    board = load_board(board) if isinstance(board, str) else board
    result = run(RunRequest(path, board, vectors, seed=seed, kernels=kernels, memory=memory,
                            sequence_length=sequence_length))
    c = result.comparison
    assert c.bit_exact, f"{c.mismatches} mismatches, first {c.first}"
    return result
