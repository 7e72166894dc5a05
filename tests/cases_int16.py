"""Edge cases of the int16x8 operators (int16 activations, int8 weights), shared by the
reference-vs-TFLM tests and the QEMU tests in test_ops_int16.py.

Few models, several branches each: one firmware per board covers a whole family. Edge
cases: int64 and int32 bias, no bias, per-channel and per-tensor weights, SAME and VALID,
stride 2, dilation, depth multiplier 2, fused RELU/RELU6 clamps, tiny and large
multipliers, broadcasting ADD with unequal scales, SOFTMAX beta and narrow input scales,
QUANTIZE from float, int8 and int16 and to int8."""

from __future__ import annotations

import numpy as np

from hilbench.model import Graph
from hilbench.model.builder import GraphBuilder
from hilbench.reference.prepare_common import out_size


def _weights(rng, shape):
    return rng.integers(-127, 128, size=shape, dtype=np.int8)


def _bias(b: GraphBuilder, rng, name: str, x_scale: float, w_scales, channels: int,
          dtype, spread: int | None = None) -> int:
    scale = np.broadcast_to(np.float32(x_scale) * np.atleast_1d(np.float32(w_scales)),
                            (channels,))
    spread = spread or (3_000_000 if dtype == np.int64 else 300_000)
    values = rng.integers(-spread, spread, size=channels).astype(dtype)
    return b.constant(name, values, scale=scale, zero_point=0)


def _conv(b: GraphBuilder, rng, x: int, name: str, depthwise: bool, out_c: int,
          kernel=(3, 3), stride=(1, 1), dilation=(1, 1), padding="SAME",
          activation="NONE", per_channel=True, bias=np.int64, w_scale=0.002,
          out_scale=0.05) -> int:
    t = b.tensors[x]
    n, h, w, c = t.shape
    shape = (1, kernel[0], kernel[1], out_c) if depthwise else (out_c, kernel[0], kernel[1], c)
    scales = w_scale * rng.uniform(0.5, 2.0, out_c) if per_channel else w_scale
    f = b.constant(f"{name}_w", _weights(rng, shape), scale=scales, zero_point=0,
                   axis=3 if depthwise else 0)
    inputs = [x, f]
    if bias is not None:
        inputs.append(_bias(b, rng, f"{name}_b", float(t.scale), scales, out_c, bias))
    oh = out_size(padding, h, kernel[0], stride[0], dilation[0])
    ow = out_size(padding, w, kernel[1], stride[1], dilation[1])
    y = b.tensor(name, (n, oh, ow, out_c), np.int16, scale=out_scale, zero_point=0)
    options = dict(padding=padding, stride_h=stride[0], stride_w=stride[1],
                   dilation_h=dilation[0], dilation_w=dilation[1], activation=activation)
    if depthwise:
        options["depth_multiplier"] = out_c // c
    b.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", inputs, [y], **options)
    return y


def conv_graph(seed: int = 1, float_input: bool = False) -> Graph:
    """Conv, depthwise and transpose conv branches from one int16 input (or a float input
    quantized to int16 by the model): every bias type and clamp, stride, dilation,
    multiplier 2."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("int16x8 convolutions")
    shape = (1, 7, 6, 3)
    if float_input:
        f = b.input("f", shape, np.float32)
        x = b.tensor("x", shape, np.int16, scale=0.001, zero_point=0)
        b.op("QUANTIZE", [f], [x])
    else:
        x = b.input("x", shape, np.int16, scale=0.001, zero_point=0)
    outs = [
        _conv(b, rng, x, "c_same_s2_relu", False, 4, stride=(2, 2), activation="RELU"),
        _conv(b, rng, x, "c_valid_dil_i32", False, 5, kernel=(2, 3), dilation=(2, 1),
              padding="VALID", bias=np.int32, per_channel=False, out_scale=0.02),
        _conv(b, rng, x, "c_1x1_nobias_relu6", False, 3, kernel=(1, 1), bias=None,
              activation="RELU6", out_scale=0.0005),
        _conv(b, rng, x, "dw_m2_s2", True, 6, stride=(2, 2)),
        _conv(b, rng, x, "dw_dil_relu", True, 3, dilation=(2, 2), padding="VALID",
              activation="RELU", out_scale=0.001),
        _conv(b, rng, x, "dw_small_mult", True, 3, kernel=(2, 2), w_scale=1e-5,
              out_scale=2e-5),
        _transpose(b, rng, x, "tc_same_s2", (13, 12), 4, out_q=(0.02, 0)),
        _transpose(b, rng, x, "tc_valid_nobias_relu", (9, 6), 2, kernel=(3, 1),
                   stride=(1, 1), padding="VALID", bias=False, per_channel=False,
                   activation="RELU", out_q=(0.005, 0)),
    ]
    b.output(*outs)
    return b.graph()


def _fc(b: GraphBuilder, rng, x: int, name: str, units: int, bias=np.int64,
        per_channel=False, activation="NONE", out_scale=0.05) -> int:
    t = b.tensors[x]
    depth = t.shape[-1]
    rows = t.size // depth
    scales = 0.003 * rng.uniform(0.5, 2.0, units) if per_channel else 0.003
    w = b.constant(f"{name}_w", _weights(rng, (units, depth)), scale=scales, zero_point=0)
    inputs = [x, w]
    if bias is not None:
        inputs.append(_bias(b, rng, f"{name}_b", float(t.scale), scales, units, bias))
    y = b.tensor(name, (rows, units), np.int16, scale=out_scale, zero_point=0)
    b.op("FULLY_CONNECTED", inputs, [y], activation=activation, weights_format=0,
         keep_num_dims=False)
    return y


def dense_graph(seed: int = 2, float_input: bool = True) -> Graph:
    """FULLY_CONNECTED (int64, int32 and no bias, per-channel), ADD (broadcast, unequal
    scales, RELU), SOFTMAX and the QUANTIZE/DEQUANTIZE conversions around int16, from a
    float input quantized to int16 by the model (or an int16 input)."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("int16x8 dense, add, softmax, quantize")
    if float_input:
        f = b.input("f", (2, 12), np.float32)
        x = b.tensor("x", (2, 12), np.int16, scale=0.002, zero_point=0)
        b.op("QUANTIZE", [f], [x])
    else:
        x = b.input("x", (2, 12), np.int16, scale=0.002, zero_point=0)
    fc1 = _fc(b, rng, x, "fc_i64", 10, out_scale=0.01)
    fc2 = _fc(b, rng, x, "fc_i32_pc_relu", 10, bias=np.int32, per_channel=True,
              activation="RELU", out_scale=0.004)
    fc3 = _fc(b, rng, x, "fc_nobias", 10, bias=None, out_scale=0.02)
    s = b.tensor("add", (2, 10), np.int16, scale=0.015, zero_point=0)
    b.op("ADD", [fc1, fc2], [s], activation="NONE")
    row = b.constant("row", rng.integers(-20000, 20000, (10,)).astype(np.int16),
                     scale=0.0007, zero_point=0)
    s2 = b.tensor("add_bcast_relu", (2, 10), np.int16, scale=0.01, zero_point=0)
    b.op("ADD", [fc3, row], [s2], activation="RELU")
    sm = b.tensor("softmax", (2, 10), np.int16, scale=1 / 32768, zero_point=0)
    b.op("SOFTMAX", [s], [sm], beta=1.0)
    sm2 = b.tensor("softmax_beta", (2, 10), np.int16, scale=1 / 32768, zero_point=0)
    b.op("SOFTMAX", [fc3], [sm2], beta=0.3)
    q8 = b.tensor("to_int8", (2, 10), np.int8, scale=1.0, zero_point=-3)
    b.op("QUANTIZE", [s2], [q8])
    q16 = b.tensor("back_to_int16", (2, 10), np.int16, scale=0.01, zero_point=0)
    b.op("QUANTIZE", [q8], [q16])
    r16 = b.tensor("requantized_x2_5", (2, 10), np.int16, scale=0.004, zero_point=0)
    b.op("QUANTIZE", [q16], [r16])
    d = b.tensor("dequantized", (2, 10), np.float32)
    b.op("DEQUANTIZE", [sm], [d])
    r = b.tensor("reshaped", (4, 5), np.int16, scale=0.004, zero_point=0)
    b.op("RESHAPE", [r16, b.constant("new_shape", np.array([4, 5], np.int32))], [r])
    b.output(sm2, q8, r, d)
    return b.graph()


# int16 input / float input quantized to int16 by the model: both run on QEMU
GRAPHS = {
    "conv": lambda: conv_graph(),
    "dense_float_input": lambda: dense_graph(),
}
# only against TFLM (cheap): the other input type of each
ORACLE_ONLY = {
    "conv_float_input": lambda: conv_graph(seed=4, float_input=True),
    "dense": lambda: dense_graph(float_input=False),
}


# --- TRANSPOSE_CONV ------------------------------------------------------------------------

def _transpose(b: GraphBuilder, rng, x: int, name: str, out_hw: tuple[int, int], out_c: int,
               kernel=(3, 3), stride=(2, 2), padding="SAME", bias=True, per_channel=True,
               activation="NONE", out_q=(0.1, 3)) -> int:
    t = b.tensors[x]
    wide = t.dtype == np.int16
    n, _, _, c = t.shape
    scales = 0.01 * rng.uniform(0.5, 2.0, out_c) if per_channel else 0.01
    f = b.constant(f"{name}_w", _weights(rng, (out_c, kernel[0], kernel[1], c)), scale=scales,
                   zero_point=0)
    out_shape = (n, out_hw[0], out_hw[1], out_c)
    shape = b.constant(f"{name}_shape", np.array(out_shape, np.int32))
    inputs = [shape, f, x]
    if bias:
        inputs.append(_bias(b, rng, f"{name}_b", float(t.scale), scales, out_c,
                            np.int64 if wide else np.int32, None if wide else 5000))
    y = b.tensor(name, out_shape, t.dtype, scale=out_q[0], zero_point=0 if wide else out_q[1])
    b.op("TRANSPOSE_CONV", inputs, [y], padding=padding, stride_h=stride[0],
         stride_w=stride[1], activation=activation)
    return y


def transpose_conv_graph(seed: int = 3) -> Graph:
    """TRANSPOSE_CONV branches: SAME stride 2 (odd output), VALID stride (2, 1) with a
    rectangular kernel and per-tensor weights, no bias with a fused RELU (TFLM applies
    it), a 1x1 kernel at stride 3 (outputs no input reaches: bias only). The int16x8
    branches are in conv_graph."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("transpose conv")
    x = b.input("x", (1, 4, 3, 3), scale=0.05, zero_point=-7)
    q = dict(out_q=(0.5, 3))
    outs = [
        _transpose(b, rng, x, "same_s2_odd", (7, 5), 4, **q),
        _transpose(b, rng, x, "valid_rect", (9, 4), 2, kernel=(3, 2), stride=(2, 1),
                   padding="VALID", per_channel=False, **q),
        _transpose(b, rng, x, "same_nobias_relu", (8, 6), 3, bias=False, activation="RELU",
                   **q),
        _transpose(b, rng, x, "gaps_1x1_s3", (12, 9), 2, kernel=(1, 1), stride=(3, 3),
                   padding="VALID", **q),
    ]
    b.output(*outs)
    return b.graph()


GRAPHS["transpose_conv_int8"] = transpose_conv_graph
