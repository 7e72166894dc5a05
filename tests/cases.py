"""The operator edge cases, shared by the reference-vs-TFLM tests (test_reference_ops) and
the C-kernels-on-QEMU tests (test_firmware_ops): tiny generated models with the edge cases
that break kernels (odd sizes with SAME padding, stride 2, dilation, depth multiplier 2,
per-channel weights, extreme scales, zero points at -128 and 127)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from hilbench.model import Graph
from hilbench.model.builder import GraphBuilder


def weights(rng, shape):
    return rng.integers(-127, 128, size=shape, dtype=np.int8)


def conv_model(rng, opcode="CONV_2D", in_shape=(1, 7, 7, 3), out_c=4, kernel=(3, 3),
               stride=(2, 2), dilation=(1, 1), padding="SAME", activation="NONE",
               per_channel=True, in_q=(0.05, -3), out_q=(0.2, 5), w_scale=0.01):
    from hilbench.reference.prepare_common import out_size

    b = GraphBuilder()
    n, h, w, c = in_shape
    x = b.input("x", in_shape, scale=in_q[0], zero_point=in_q[1])
    if opcode == "CONV_2D":
        filt_shape, channels = (out_c, kernel[0], kernel[1], c), out_c
    else:
        filt_shape, channels = (1, kernel[0], kernel[1], out_c), out_c
    scales = (w_scale * rng.uniform(0.5, 2.0, channels)) if per_channel else w_scale
    axis = 0 if opcode == "CONV_2D" else 3
    f = b.constant("w", weights(rng, filt_shape), scale=scales, zero_point=0, axis=axis)
    bias_scale = np.float32(in_q[0]) * np.atleast_1d(np.float32(scales))
    bias = b.constant("b", rng.integers(-3000, 3000, size=channels).astype(np.int32),
                      scale=np.broadcast_to(bias_scale, (channels,)), zero_point=0)
    oh = out_size(padding, h, kernel[0], stride[0], dilation[0])
    ow = out_size(padding, w, kernel[1], stride[1], dilation[1])
    y = b.tensor("y", (n, oh, ow, out_c), scale=out_q[0], zero_point=out_q[1])
    options = dict(padding=padding, stride_h=stride[0], stride_w=stride[1],
                   dilation_h=dilation[0], dilation_w=dilation[1], activation=activation)
    if opcode == "DEPTHWISE_CONV_2D":
        options["depth_multiplier"] = out_c // c
    b.op(opcode, [x, f, bias], [y], **options)
    b.output(y)
    return b.graph()


CONV_CASES = {
    "same_odd_stride2_relu6": dict(activation="RELU6"),
    "valid_dilated_mixed_stride": dict(in_shape=(1, 9, 6, 2), kernel=(3, 2), stride=(1, 2),
                                       dilation=(2, 1), padding="VALID"),
    "pointwise_per_tensor": dict(in_shape=(1, 5, 5, 8), out_c=6, kernel=(1, 1), stride=(1, 1),
                                 per_channel=False, activation="RELU"),
    "zero_points_at_limits": dict(in_q=(0.02, -128), out_q=(0.05, 127), activation="RELU_N1_TO_1"),
    "zp_127_input": dict(in_q=(0.03, 127), out_q=(0.1, -128)),
    "large_multiplier": dict(in_q=(0.5, 0), out_q=(0.001, 0), w_scale=0.05),
    "tiny_multiplier": dict(in_q=(1e-4, 3), out_q=(10.0, -7), w_scale=1e-4),
    "wide_kernel_same_even": dict(in_shape=(1, 10, 4, 1), out_c=5, kernel=(10, 4), stride=(2, 2)),
}


DEPTHWISE_CASES = {
    "multiplier1_same_stride2": dict(in_shape=(1, 7, 7, 4), out_c=4),
    "multiplier2": dict(in_shape=(1, 6, 5, 3), out_c=6, stride=(1, 1), activation="RELU"),
    "multiplier2_dilated_valid": dict(in_shape=(1, 9, 9, 2), out_c=4, dilation=(2, 2),
                                      stride=(1, 1), padding="VALID"),
    "per_tensor_zp_limits": dict(in_shape=(1, 5, 5, 3), out_c=3, per_channel=False,
                                 in_q=(0.04, 127), out_q=(0.03, -128), activation="RELU6"),
}


def fc_model(rng, in_shape=(1, 20), units=7, per_channel=False, activation="NONE",
             in_q=(0.1, 10), out_q=(0.3, -4), w_scale=0.02):
    b = GraphBuilder()
    depth = in_shape[-1]
    rows = int(np.prod(in_shape)) // depth
    x = b.input("x", in_shape, scale=in_q[0], zero_point=in_q[1])
    scales = w_scale * rng.uniform(0.5, 2.0, units) if per_channel else w_scale
    w = b.constant("w", weights(rng, (units, depth)), scale=scales, zero_point=0)
    bias_scale = np.broadcast_to(np.float32(in_q[0]) * np.atleast_1d(np.float32(scales)), (units,))
    bias = b.constant("b", rng.integers(-5000, 5000, size=units).astype(np.int32),
                      scale=bias_scale, zero_point=0)
    y = b.tensor("y", (rows, units), scale=out_q[0], zero_point=out_q[1])
    b.op("FULLY_CONNECTED", [x, w, bias], [y], activation=activation, weights_format=0,
         keep_num_dims=False)
    b.output(y)
    return b.graph()


FC_CASES = {
    "per_tensor": dict(),
    "per_channel_relu": dict(per_channel=True, activation="RELU"),
    "two_rows_relu_n1_to_1": dict(in_shape=(2, 9), units=5, activation="RELU_N1_TO_1",
                                  out_q=(0.01, 0)),
    "zero_points_at_limits": dict(in_q=(0.05, -128), out_q=(0.5, 127)),
}


def pool_model(opcode, in_shape=(1, 7, 7, 3), filt=(3, 3), stride=(2, 2), padding="SAME",
               activation="NONE", q=(0.1, -5)):
    from hilbench.reference.prepare_common import out_size

    b = GraphBuilder()
    x = b.input("x", in_shape, scale=q[0], zero_point=q[1])
    oh = out_size(padding, in_shape[1], filt[0], stride[0], 1)
    ow = out_size(padding, in_shape[2], filt[1], stride[1], 1)
    y = b.tensor("y", (1, oh, ow, in_shape[3]), scale=q[0], zero_point=q[1])
    b.op(opcode, [x], [y], padding=padding, stride_h=stride[0], stride_w=stride[1],
         filter_h=filt[0], filter_w=filt[1], activation=activation)
    b.output(y)
    return b.graph()


POOL_CASES = {
    "same_odd_stride2": dict(),
    "valid_2x2": dict(in_shape=(1, 6, 5, 2), filt=(2, 2), padding="VALID"),
    "same_relu6_rect": dict(in_shape=(1, 5, 8, 4), filt=(2, 3), stride=(1, 2),
                            activation="RELU6", q=(0.05, -128)),
    "global": dict(in_shape=(1, 5, 5, 6), filt=(5, 5), stride=(1, 1), padding="VALID",
                   q=(0.02, 127)),
}


def binary_model(rng, opcode, a_shape, b_shape, a_q=(0.05, 3), b_q=(0.08, -10),
                 out_q=(0.1, 2), activation="NONE", constant_b=True):
    b = GraphBuilder()
    a = b.input("a", a_shape, scale=a_q[0], zero_point=a_q[1])
    if constant_b:
        other = b.constant("b", rng.integers(-128, 128, size=b_shape, dtype=np.int8),
                           scale=b_q[0], zero_point=b_q[1])
    else:  # second operand computed from the first, so both are activations
        other = b.tensor("b", a_shape, scale=b_q[0], zero_point=b_q[1])
        b.op("RELU", [a], [other])
    out_shape = np.broadcast_shapes(a_shape, b_shape)
    y = b.tensor("y", out_shape, scale=out_q[0], zero_point=out_q[1])
    b.op(opcode, [a, other], [y], activation=activation)
    b.output(y)
    return b.graph()


BINARY_CASES = {
    "same_shape_activations": dict(a_shape=(1, 4, 4, 3), b_shape=(1, 4, 4, 3), constant_b=False),
    "broadcast_channel": dict(a_shape=(1, 4, 4, 3), b_shape=(1, 1, 1, 3), activation="RELU"),
    "broadcast_two_axes": dict(a_shape=(1, 4, 1, 3), b_shape=(1, 1, 5, 3)),
    "broadcast_lower_rank": dict(a_shape=(1, 3, 6), b_shape=(6,), activation="RELU6",
                                 out_q=(0.05, -128)),
    "extreme_scales": dict(a_shape=(1, 8), b_shape=(1, 8), a_q=(0.001, -128), b_q=(2.0, 127),
                           out_q=(0.5, 0)),
}


def unary_model(opcode, shape=(1, 3, 40), in_q=(0.05, 3), out_q=(0.05, 3), **options):
    b = GraphBuilder()
    x = b.input("x", shape, scale=in_q[0], zero_point=in_q[1])
    y = b.tensor("y", shape, scale=out_q[0], zero_point=out_q[1])
    b.op(opcode, [x], [y], **options)
    b.output(y)
    return b.graph()


UNARY_CASES = {
    "RELU-rescale": ("RELU", dict(in_q=(0.05, 3), out_q=(0.03, -128))),
    "RELU-zp127": ("RELU", dict(in_q=(0.1, 127), out_q=(0.2, -100))),
    "RELU6": ("RELU6", dict(in_q=(0.05, -20), out_q=(0.05, -20))),
    "LOGISTIC-small-scale": ("LOGISTIC", dict(in_q=(0.02, 0), out_q=(1 / 256, -128))),
    "LOGISTIC-wide": ("LOGISTIC", dict(in_q=(0.15, -30), out_q=(1 / 256, -128))),
    "TANH-small-scale": ("TANH", dict(in_q=(0.01, 5), out_q=(1 / 128, 0))),
    "TANH-wide": ("TANH", dict(in_q=(0.2, 127), out_q=(1 / 128, 0))),
    "HARD_SWISH": ("HARD_SWISH", dict(in_q=(0.05, 10), out_q=(0.03, -20))),
    "HARD_SWISH-wide": ("HARD_SWISH", dict(in_q=(0.3, -128), out_q=(0.2, -90))),
    "HARD_SWISH-fine": ("HARD_SWISH", dict(in_q=(0.004, 0), out_q=(0.02, 0))),
    "SOFTMAX": ("SOFTMAX", dict(shape=(2, 10), in_q=(0.1, 5), out_q=(1 / 256, -128), beta=1.0)),
    "SOFTMAX-beta-sharp": ("SOFTMAX", dict(shape=(1, 2, 3, 12), in_q=(0.5, -128),
                                           out_q=(1 / 256, -128), beta=0.7)),
    "SOFTMAX-fine": ("SOFTMAX", dict(shape=(4, 33), in_q=(0.01, 127), out_q=(1 / 256, -128),
                                     beta=1.0)),
}


MEAN_CASES = {
    "spatial_keep_dims": dict(shape=(1, 5, 7, 3), axes=[1, 2], keep=True, out_shape=(1, 1, 1, 3)),
    "last_axis_drop": dict(shape=(1, 4, 9), axes=[-1], keep=False, out_shape=(1, 4)),
    "rescaled": dict(shape=(1, 6, 6, 4), axes=[1, 2], keep=False, out_shape=(1, 4),
                     in_q=(0.02, -128), out_q=(0.011, 17)),
    "large_count_all_axes": dict(shape=(1, 20, 15, 3), axes=[0, 1, 2, 3], keep=True,
                                 out_shape=(1, 1, 1, 1), in_q=(0.3, 9), out_q=(0.001, -3)),
}


def mean_model(spec: dict) -> Graph:
    in_q, out_q = spec.get("in_q", (0.05, 4)), spec.get("out_q", (0.05, 4))
    b = GraphBuilder()
    x = b.input("x", spec["shape"], scale=in_q[0], zero_point=in_q[1])
    axes = b.constant("axes", np.array(spec["axes"], np.int32))
    y = b.tensor("y", spec["out_shape"], scale=out_q[0], zero_point=out_q[1])
    b.op("MEAN", [x, axes], [y], keep_dims=spec["keep"])
    b.output(y)
    return b.graph()


def chain_graph() -> Graph:
    """The data-movement, reduction and float-boundary ops in one model: QUANTIZE (from
    float, and requantizing), RESHAPE, PAD, PADV2, CONCATENATION, MEAN, DEQUANTIZE."""
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
    value = b.constant("value", np.array([-9], np.int8), scale=0.05, zero_point=3)
    p2 = b.tensor("p2", (1, 5, 4, 6), scale=0.05, zero_point=3)
    zero_pad = b.constant("zero_pad", np.zeros((4, 2), np.int32))
    b.op("PADV2", [p, zero_pad, value], [p2])
    other = b.constant("other", rng.integers(-128, 128, (1, 5, 4, 2), dtype=np.int8),
                       scale=0.05, zero_point=3)
    c = b.tensor("c", (1, 5, 4, 8), scale=0.05, zero_point=3)
    b.op("CONCATENATION", [p2, other], [c], axis=-1, activation="NONE")
    axes = b.constant("axes", np.array([1, 2], np.int32))
    m = b.tensor("m", (1, 1, 1, 8), scale=0.02, zero_point=-5)
    b.op("MEAN", [c, axes], [m], keep_dims=True)
    y = b.tensor("y", (1, 1, 1, 8), np.float32)
    b.op("DEQUANTIZE", [m], [y])
    b.output(y)
    return b.graph()


def kernel_graphs() -> Iterator[tuple[str, Graph]]:
    """Every case above as a named graph, the seeds fixed per operator family."""
    rng = np.random.default_rng
    for name, spec in CONV_CASES.items():
        yield f"conv-{name}", conv_model(rng(1), **spec)
    for name, spec in DEPTHWISE_CASES.items():
        yield f"depthwise-{name}", conv_model(rng(2), opcode="DEPTHWISE_CONV_2D", **spec)
    for name, spec in FC_CASES.items():
        yield f"fc-{name}", fc_model(rng(3), **spec)
    for opcode in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        for name, spec in POOL_CASES.items():
            yield f"{opcode.lower()}-{name}", pool_model(opcode, **spec)
    for opcode in ("ADD", "MUL"):
        for name, spec in BINARY_CASES.items():
            yield f"{opcode.lower()}-{name}", binary_model(rng(4), opcode, **spec)
    for name, (opcode, spec) in UNARY_CASES.items():
        yield name.lower(), unary_model(opcode, **spec)
