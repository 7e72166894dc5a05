"""Every C kernel against the host reference on the emulated Cortex-M4, with the same
edge-case models that test the reference against TFLM (tests/cases.py)."""

from __future__ import annotations

import numpy as np
import pytest

from hilbench.board import load_board
from hilbench.model.tflite_writer import write_tflite
from hilbench.run import RunRequest, run
import cases
from support import run_bit_exact

pytestmark = pytest.mark.hil

BOARD = load_board("qemu-mps2-an386")
M0 = load_board("qemu-microbit")
VECTORS = 12


GRAPHS = dict(cases.kernel_graphs())


def _run(graph, tmp_path, name, board=BOARD, kernels="ref"):
    path = tmp_path / f"{name}.tflite"
    write_tflite(graph, path)
    run_bit_exact(path, board, VECTORS, seed=3, kernels=kernels)


@pytest.mark.parametrize("name", GRAPHS)
def test_kernel_on_qemu(name, tmp_path):
    """The portable reference kernels (the M4's default is the dsp variant, tested in
    test_dsp_kernels.py)."""
    _run(GRAPHS[name], tmp_path, name)


@pytest.mark.parametrize("name", GRAPHS)
def test_kernel_on_cortex_m0_with_its_default_variant(name, tmp_path):
    """The whole edge-case suite on the Cortex-M0 with the board's armv6m variant."""
    _run(GRAPHS[name], tmp_path, name, board=M0, kernels=None)


def test_reshape_pad_concat_mean_quantize_chain_on_qemu(tmp_path):
    """The data-movement, reduction and float-boundary kernels in one firmware."""
    _run(cases.chain_graph(), tmp_path, "chain")




@pytest.mark.parametrize("case", cases.FC_CASES)
def test_armv6m_fully_connected_on_cortex_m0(case, tmp_path):
    """The Armv6-M variant (folded bias, 16-bit partial products) on the Cortex-M0."""
    assert M0.build.kernels == "armv6m"
    path = tmp_path / f"fc-{case}.tflite"
    write_tflite(cases.fc_model(np.random.default_rng(3), **cases.FC_CASES[case]), path)
    result = run(RunRequest(path, M0, VECTORS, seed=3))
    assert result.comparison.bit_exact, result.comparison.first
