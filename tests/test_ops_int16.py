"""int16 activations with int8 weights (int16x8), and TRANSPOSE_CONV (int8 and int16x8):
the host reference against TFLM's interpreter (200 + 200 vectors, intermediates included),
refusals where TFLM has no kernel, and the C kernels bit-exact on QEMU (M4 `ref`, M0 with
its default variant), one firmware per model and board (tests/cases_int16.py)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import cases_int16
from hilbench.errors import ModelError, UnsupportedOperatorError
from hilbench.model.builder import GraphBuilder
from hilbench.reference import Reference
from hilbench.codegen.c_model import generate_model
from hilbench.compare.outputs import compare_outputs
from hilbench.model.tflite_writer import write_tflite
from hilbench.run.data import NEAR_ZERO_POINT, generated_data, quantize_like_tflm
from support import compare_with_tflm, hilbench, roundtrip, run_bit_exact

VECTORS = 200


ALL_GRAPHS = {**cases_int16.GRAPHS, **cases_int16.ORACLE_ONLY}
BOARDS = {"m4_ref": ("qemu-mps2-an386", "ref"), "m0_default": ("qemu-microbit", None)}


@pytest.mark.oracle
@pytest.mark.parametrize("name", ALL_GRAPHS)
def test_reference_matches_tflm(name):
    graph, model = roundtrip(ALL_GRAPHS[name]())
    assert compare_with_tflm(graph, model, VECTORS) == {"uniform": 0, "near_zp": 0}


@pytest.mark.hil
@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("name", cases_int16.GRAPHS)
def test_kernels_bit_exact_on_qemu(name, board, tmp_path):
    """Every int16x8 C kernel and both TRANSPOSE_CONV kernels, all branches of a model in
    one firmware: int16 in and out of the protocol, float in, float out, int8 out."""
    path = tmp_path / f"{name}.tflite"
    write_tflite(cases_int16.GRAPHS[name](), path)
    machine, kernels = BOARDS[board]
    result = run_bit_exact(path, machine, 12, kernels=kernels)
    assert result.comparison.values > 0


def _depthwise_with_int32_bias():
    b = GraphBuilder()
    x = b.input("x", (1, 4, 4, 2), np.int16, scale=0.01, zero_point=0)
    w = b.constant("w", np.ones((1, 3, 3, 2), np.int8), scale=0.01, zero_point=0, axis=3)
    bias = b.constant("b", np.zeros(2, np.int32), scale=1e-4, zero_point=0)
    y = b.tensor("y", (1, 4, 4, 2), np.int16, scale=0.01, zero_point=0)
    b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], padding="SAME", stride_h=1, stride_w=1,
         dilation_h=1, dilation_w=1, activation="NONE", depth_multiplier=1)
    b.output(y)
    return b.graph()


def _int16_mul():
    b = GraphBuilder()
    x = b.input("x", (1, 4), np.int16, scale=0.01, zero_point=0)
    y = b.tensor("y", (1, 4), np.int16, scale=0.01, zero_point=0)
    b.op("MUL", [x, x], [y], activation="NONE")
    b.output(y)
    return b.graph()


def _int8_to_int16_softmax():
    b = GraphBuilder()
    x = b.input("x", (1, 4), np.int8, scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 4), np.int16, scale=1 / 32768, zero_point=0)
    b.op("SOFTMAX", [x], [y], beta=1.0)
    b.output(y)
    return b.graph()


def _transpose_conv(bias_type=np.int64, shape=(1, 4, 4, 2), stride=2):
    b = GraphBuilder()
    x = b.input("x", (1, 2, 2, 2), np.int16, scale=0.01, zero_point=0)
    w = b.constant("w", np.ones((2, 3, 3, 2), np.int8), scale=0.01, zero_point=0)
    out = b.constant("shape", np.array(shape, np.int32))
    bias = b.constant("b", np.zeros(2, bias_type), scale=1e-4, zero_point=0)
    y = b.tensor("y", (1, 4, 4, 2), np.int16, scale=0.01, zero_point=0)
    b.op("TRANSPOSE_CONV", [out, w, x, bias], [y], padding="SAME", stride_h=stride,
         stride_w=stride, activation="NONE")
    b.output(y)
    return b.graph()


@pytest.mark.parametrize("build, fragment", [
    (_depthwise_with_int32_bias, "needs an int64 bias"),
    (lambda: _transpose_conv(np.int32), "bias must be 2 int64 values, got 2 int32"),
    (lambda: _transpose_conv(shape=(1, 5, 4, 2)), "is not the output's [1, 4, 4, 2]"),
    (lambda: _transpose_conv(stride=65536), "which TFLM cannot represent"),
    (_int16_mul, "int16 activations in CONV_2D"),
    (_int8_to_int16_softmax, "TFLM needs int16"),
])
def test_int16_where_tflm_has_no_kernel_is_refused(build, fragment):
    """Refused in Prepare with one line naming the op, as TFLM's Prepare/Eval would fail
    (or, for the int32-biased depthwise, read past its bias)."""
    graph, _ = roundtrip(build())
    with pytest.raises((ModelError, UnsupportedOperatorError)) as info:
        Reference(graph)
    message = str(info.value)
    assert fragment in message and "\n" not in message and "op 0" in message


def test_int16_vectors_cover_the_range_and_the_zero_point():
    graph = cases_int16.GRAPHS["conv"]()
    x = generated_data(graph, 64, seed=1).inputs[0]
    assert x.dtype == np.int16 and x.shape == (64, 1, 7, 6, 3)
    uniform, near = x[0::2], x[1::2]
    assert uniform.min() < -30000 and uniform.max() > 30000  # int16, not int8
    assert np.abs(near).max() <= NEAR_ZERO_POINT[np.dtype(np.int16)]
    assert np.abs(near).max() > 127


def test_int16_user_data_and_comparison():
    """Float data for an int16 input is quantized as TFLM's QUANTIZE to int16 (clamped to
    int16, not int8); int16 data goes as it is; the comparison counts int16 LSBs."""
    t = cases_int16.GRAPHS["conv"]().input_tensors[0]
    values = np.array([0.0, 0.0015, -0.0026, 1.0, 40.0, -40.0], np.float32)
    assert quantize_like_tflm(values, t).tolist() == [0, 2, -3, 1000, 32767, -32768]
    expected = np.zeros((3, 4), np.int16)
    actual = expected.copy()
    actual[1, 2] = -300
    actual[2, 0] = 1
    c = compare_outputs(expected, actual)
    assert (c.mismatches, c.max_abs_diff, c.mismatching_vectors) == (2, 300.0, (1, 2))
    assert (c.first.vector, c.first.index, c.first.actual) == (1, (2,), -300.0)


@pytest.mark.hil
def test_int16_model_through_the_cli_with_user_data(tmp_path):
    """`hilbench run --data` with float data for an int16 input, JSON report: the user's
    path end to end on QEMU (the conv model's M4 firmware is the one built above)."""
    model = tmp_path / "conv_int16.tflite"
    write_tflite(cases_int16.GRAPHS["conv"](), model)
    data = tmp_path / "x.npy"
    np.save(data, np.random.default_rng(5).uniform(-40, 40, (6, 7, 6, 3)).astype(np.float32))
    report = tmp_path / "run.json"
    result = hilbench("run", model, "--board", "qemu-mps2-an386", "--kernels", "ref",
                      "--data", data, "--json", report)
    assert result.returncode == 0, result.stderr
    document = json.loads(report.read_text())
    assert document["bit_exact"] and document["mismatches"] == 0


@pytest.mark.parametrize("variant", ["dsp", "mve", "armv6m"])
def test_int16_layers_keep_their_kernels_in_every_variant(variant):
    """The variants' specialized kernels are int8: an int16 layer large enough for them
    (the conv model's first layer has 1,296 MACs) still calls its _s16 kernel."""
    calls = set()
    for name in ("conv", "dense_float_input"):
        source = generate_model(cases_int16.GRAPHS[name](), b"model", kernels=variant).source
        calls |= set(re.findall(r"(hb_\w+)\(&", source))
    assert {"hb_conv2d_s16", "hb_fully_connected_s16", "hb_add_s16"} <= calls
    assert not [c for c in calls if c.endswith(("_dsp", "_mve", "_full", "_1col"))], calls


def test_int16_kernel_list_is_the_table():
    """The refusal's list of int16 operators is what the table actually widens."""
    from hilbench.reference.kernels import int16
    from hilbench.reference.prepare_common import INT16_OPERATORS

    # TRANSPOSE_CONV and the LSTM take both types in their own modules
    assert set(INT16_OPERATORS) == set(int16.WIDE_KERNELS) | {"TRANSPOSE_CONV",
                                                            "UNIDIRECTIONAL_SEQUENCE_LSTM"}
