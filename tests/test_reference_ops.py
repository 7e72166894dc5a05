"""Every operator of the host reference against TFLM's interpreter, on generated tiny models
with the edge cases that break kernels (tests/cases.py): odd sizes with SAME padding,
stride 2, dilation, depth multiplier 2, per-channel weights, extreme scales, zero points at
-128 and 127."""

from __future__ import annotations

import numpy as np
import pytest

import cases
from cases import (BINARY_CASES, CONV_CASES, DEPTHWISE_CASES, FC_CASES, MEAN_CASES,
                   POOL_CASES, UNARY_CASES, binary_model, conv_model, fc_model, pool_model,
                   unary_model, weights)
from hilbench.model.builder import GraphBuilder
from support import compare_with_tflm, roundtrip

pytestmark = pytest.mark.oracle

VECTORS = 200


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d(case):
    graph, model = roundtrip(conv_model(np.random.default_rng(1), **CONV_CASES[case]))
    compare_with_tflm(graph, model, VECTORS)


@pytest.mark.parametrize("case", DEPTHWISE_CASES)
def test_depthwise_conv2d(case):
    spec = dict(opcode="DEPTHWISE_CONV_2D", **DEPTHWISE_CASES[case])
    graph, model = roundtrip(conv_model(np.random.default_rng(2), **spec))
    compare_with_tflm(graph, model, VECTORS)


@pytest.mark.parametrize("case", FC_CASES)
def test_fully_connected(case):
    graph, model = roundtrip(fc_model(np.random.default_rng(3), **FC_CASES[case]))
    compare_with_tflm(graph, model, VECTORS)


@pytest.mark.parametrize("opcode", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("case", POOL_CASES)
def test_pooling(opcode, case):
    graph, model = roundtrip(pool_model(opcode, **POOL_CASES[case]))
    compare_with_tflm(graph, model, VECTORS)


@pytest.mark.parametrize("opcode", ["ADD", "MUL"])
@pytest.mark.parametrize("case", BINARY_CASES)
def test_binary(opcode, case):
    graph, model = roundtrip(binary_model(np.random.default_rng(4), opcode, **BINARY_CASES[case]))
    compare_with_tflm(graph, model, VECTORS)


@pytest.mark.parametrize("case", UNARY_CASES)
def test_unary(case):
    opcode, spec = UNARY_CASES[case]
    graph, model = roundtrip(unary_model(opcode, **spec))
    compare_with_tflm(graph, model, VECTORS)


def test_reshape_pad_concatenation():
    rng = np.random.default_rng(5)
    b = GraphBuilder()
    x = b.input("x", (1, 4, 6), scale=0.1, zero_point=-7)
    shape = b.constant("shape", np.array([1, 2, 3, 4], np.int32))
    r = b.tensor("r", (1, 2, 3, 4), scale=0.1, zero_point=-7)
    b.op("RESHAPE", [x, shape], [r])
    paddings = b.constant("paddings", np.array([[0, 0], [1, 2], [0, 1], [2, 0]], np.int32))
    p = b.tensor("p", (1, 5, 4, 6), scale=0.1, zero_point=-7)
    b.op("PAD", [r, paddings], [p])
    other = b.constant("other", rng.integers(-128, 128, (1, 5, 4, 2), dtype=np.int8),
                       scale=0.1, zero_point=-7)
    c = b.tensor("c", (1, 5, 4, 8), scale=0.1, zero_point=-7)
    b.op("CONCATENATION", [p, other], [c], axis=-1, activation="NONE")
    c2 = b.tensor("c2", (1, 10, 4, 8), scale=0.1, zero_point=-7)
    b.op("CONCATENATION", [c, c], [c2], axis=1, activation="NONE")
    b.output(c2)
    graph, model = roundtrip(b.graph())
    compare_with_tflm(graph, model, VECTORS)


@pytest.mark.parametrize("case", MEAN_CASES)
def test_mean(case):
    graph, model = roundtrip(cases.mean_model(MEAN_CASES[case]))
    compare_with_tflm(graph, model, VECTORS)


def test_quantize_requantize_dequantize():
    b = GraphBuilder()
    x = b.input("x", (1, 50), np.float32)
    q = b.tensor("q", (1, 50), scale=0.037, zero_point=-9)
    b.op("QUANTIZE", [x], [q])
    r = b.tensor("r", (1, 50), scale=0.05, zero_point=20)
    b.op("QUANTIZE", [q], [r])
    y = b.tensor("y", (1, 50), np.float32)
    b.op("DEQUANTIZE", [r], [y])
    b.output(y)
    graph, model = roundtrip(b.graph())
    compare_with_tflm(graph, model, VECTORS)


def test_touch_mlp_with_hardtanh():
    """The shape issue #4/#6 care about: FC layers with RELU_N1_TO_1 (HardTanh) fused."""
    rng = np.random.default_rng(6)
    b = GraphBuilder()
    x = b.input("x", (1, 12), scale=0.02, zero_point=0)
    prev, prev_scale, width = x, 0.02, 12
    for i, units in enumerate((16, 16, 4)):
        w = b.constant(f"w{i}", weights(rng, (units, width)), scale=0.01, zero_point=0)
        bias = b.constant(f"b{i}", rng.integers(-500, 500, units).astype(np.int32),
                          scale=np.float32(prev_scale) * np.float32(0.01), zero_point=0)
        y = b.tensor(f"h{i}", (1, units), scale=1 / 127, zero_point=0)
        b.op("FULLY_CONNECTED", [prev, w, bias], [y], activation="RELU_N1_TO_1",
             weights_format=0, keep_num_dims=False)
        prev, prev_scale, width = y, 1 / 127, units
    b.output(prev)
    graph, model = roundtrip(b.graph())
    compare_with_tflm(graph, model, VECTORS)
