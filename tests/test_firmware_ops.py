"""Every C kernel against the host reference on the emulated Cortex-M4, with the same
edge-case models that test the reference against TFLM (tests/cases.py)."""

from __future__ import annotations

import numpy as np
import pytest

from hilbench.board import load_board
from hilbench.model.tflite_writer import write_tflite
from hilbench.runner import run_model
import cases

pytestmark = pytest.mark.hil

BOARD = load_board("qemu-mps2-an386")
VECTORS = 12


GRAPHS = dict(cases.kernel_graphs())


def _run(graph, tmp_path, name):
    path = tmp_path / f"{name}.tflite"
    write_tflite(graph, path)
    result = run_model(path, BOARD, VECTORS, seed=3)
    c = result.comparison
    assert c.bit_exact, f"{c.mismatches} mismatches, first {c.first}"


@pytest.mark.parametrize("name", GRAPHS)
def test_kernel_on_qemu(name, tmp_path):
    _run(GRAPHS[name], tmp_path, name)


def test_reshape_pad_concat_mean_quantize_chain_on_qemu(tmp_path):
    """The data-movement, reduction and float-boundary kernels in one firmware."""
    from hilbench.model.builder import GraphBuilder

    rng = np.random.default_rng(9)
    b = GraphBuilder()
    x = b.input("x", (1, 4, 6), np.float32)
    q = b.tensor("q", (1, 4, 6), scale=0.04, zero_point=-7)
    b.op("QUANTIZE", [x], [q])
    rq = b.tensor("rq", (1, 4, 6), scale=0.05, zero_point=3)
    b.op("QUANTIZE", [q], [rq])
    shape = b.constant("shape", np.array([1, 2, 3, 4], np.int32))
    r = b.tensor("r", (1, 2, 3, 4), scale=0.05, zero_point=3)
    b.op("RESHAPE", [rq, shape], [r])
    paddings = b.constant("paddings", np.array([[0, 0], [1, 2], [0, 1], [2, 0]], np.int32))
    p = b.tensor("p", (1, 5, 4, 6), scale=0.05, zero_point=3)
    b.op("PAD", [r, paddings], [p])
    other = b.constant("other", rng.integers(-128, 128, (1, 5, 4, 2), dtype=np.int8),
                       scale=0.05, zero_point=3)
    c = b.tensor("c", (1, 5, 4, 8), scale=0.05, zero_point=3)
    b.op("CONCATENATION", [p, other], [c], axis=-1, activation="NONE")
    axes = b.constant("axes", np.array([1, 2], np.int32))
    m = b.tensor("m", (1, 1, 1, 8), scale=0.02, zero_point=-5)
    b.op("MEAN", [c, axes], [m], keep_dims=True)
    y = b.tensor("y", (1, 1, 1, 8), np.float32)
    b.op("DEQUANTIZE", [m], [y])
    b.output(y)
    _run(b.graph(), tmp_path, "chain")


M0 = load_board("qemu-microbit")


@pytest.mark.parametrize("case", cases.FC_CASES)
def test_armv6m_fully_connected_on_cortex_m0(case, tmp_path):
    """The Armv6-M variant (folded bias, 16-bit partial products) on the Cortex-M0."""
    assert M0.kernels == "armv6m"
    path = tmp_path / f"fc-{case}.tflite"
    write_tflite(cases.fc_model(np.random.default_rng(3), **cases.FC_CASES[case]), path)
    result = run_model(path, M0, VECTORS, seed=3)
    assert result.comparison.bit_exact, result.comparison.first
