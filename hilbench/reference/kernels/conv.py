"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: int8 x int8 -> int32 accumulate -> int8.

Accumulation runs in floating point so that NumPy can use BLAS, which is what makes the
batched reference fast. It stays exact: every product is at most 255 * 128 in magnitude,
so float32 is exact while a dot product has at most 514 terms (all partial sums < 2**24),
and float64 beyond that (< 2**53 for any layer that fits a microcontroller).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError, UnsupportedOperatorError
from hilbench.model.graph import Graph, Operator
from hilbench.reference.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from hilbench.reference.prepare_common import (
    activation_range,
    constant,
    option,
    out_size,
    padding_before,
    require_int8,
    require_per_tensor,
    require_type,
)


_MAX_PRODUCT = 255 * 128
_FLOAT32_EXACT_TERMS = (1 << 24) // _MAX_PRODUCT


def accumulator_dtype(terms: int, weights_offset: int = 0) -> type:
    exact = terms <= _FLOAT32_EXACT_TERMS and weights_offset == 0
    return np.float32 if exact else np.float64


@dataclass
class ConvParams:
    """Everything a conv kernel needs, with the requantization precomputed per channel."""

    filter: np.ndarray  # CONV: (Cout, KH, KW, Cin); DEPTHWISE: (1, KH, KW, Cout)
    bias: np.ndarray | None  # int32 (Cout,)
    input_offset: int  # -input zero point
    output_offset: int
    multiplier: np.ndarray  # int64 (Cout,)
    shift: np.ndarray  # int64 (Cout,)
    act_min: int
    act_max: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, int]  # top, left
    output_shape: tuple[int, ...]
    depth_multiplier: int = 1


@dataclass
class FullyConnectedParams:
    weights: np.ndarray  # (out_depth, accum_depth)
    bias: np.ndarray | None
    input_offset: int
    weights_offset: int
    output_offset: int
    multiplier: np.ndarray  # (out_depth,) or (1,)
    shift: np.ndarray
    act_min: int
    act_max: int
    output_shape: tuple[int, ...]


def per_channel_multipliers(input_scale: np.float32, filter_scales: np.ndarray,
                            output_scale: np.float32, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLM PopulateConvolutionQuantizationParams: double(in) * double(w) / double(out)."""
    if filter_scales.size not in (1, channels):
        raise ModelError(f"{filter_scales.size} filter scales for {channels} output channels")
    scales = np.broadcast_to(filter_scales, (channels,))
    pairs = [quantize_multiplier(float(input_scale) * float(s) / float(output_scale))
             for s in scales]
    return (np.array([m for m, _ in pairs], np.int64), np.array([s for _, s in pairs], np.int64))


def _bias(graph: Graph, op: Operator, channels: int,
          types: tuple[type, ...] = (np.int32,)) -> np.ndarray | None:
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return None
    bias = constant(graph, op, 2, "bias")
    if bias.dtype not in types:
        allowed = " or ".join(np.dtype(t).name for t in types)
        raise ModelError(f"op {op.index} {op.opcode}: bias must be {allowed}, "
                         f"got {bias.dtype.name}")
    if bias.size != channels:
        raise ModelError(f"op {op.index} {op.opcode}: {bias.size} biases for {channels} channels")
    return bias.reshape(channels)


_WIDE_BIAS = (np.int64, np.int32)  # TFLM's int16x8 kernels take either


def _prepare_conv_like(graph: Graph, op: Operator, depthwise: bool,
                       wide: bool = False) -> ConvParams:
    """wide: int16 activations with int8 weights (TFLM's int16x8 kernels), whose bias is
    int64 (or int32) and whose activations have zero point 0 (the reader checks that)."""
    if depthwise and len(op.inputs) == 3 and op.inputs[2] < 0:
        # TFLM's depthwise kernel takes a third input as the bias whatever its index, and
        # crashes on the omitted-tensor marker; a depthwise without bias has two inputs
        raise ModelError(f"op {op.index} DEPTHWISE_CONV_2D: input 2 (bias) is -1 (omitted); "
                         f"TFLM's kernel crashes on it: give a bias or only 2 inputs")
    if wide:
        require_type(graph, op, [op.inputs[0], op.outputs[0]], "activation", np.int16)
        require_int8(graph, op, [op.inputs[1]], "filter")
    else:
        require_int8(graph, op, [op.inputs[0], op.inputs[1]], "input")
        require_int8(graph, op, op.outputs, "output")
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    require_per_tensor(x, op)
    require_per_tensor(y, op)
    weights = constant(graph, op, 1, "filter")
    if len(x.shape) != 4 or weights.ndim != 4 or len(y.shape) != 4:
        raise UnsupportedOperatorError(op.opcode, op.index, "only 4-D NHWC tensors")
    _, in_h, in_w, in_c = x.shape
    _, k_h, k_w, _ = weights.shape
    out_c = y.shape[3]
    stride = (option(op, "stride_h"), option(op, "stride_w"))
    dilation = (option(op, "dilation_h") or 1, option(op, "dilation_w") or 1)
    padding = option(op, "padding")
    if padding not in ("SAME", "VALID") or min(stride) < 1 or min(dilation) < 1:
        raise ModelError(f"op {op.index} {op.opcode}: bad padding/stride/dilation "
                         f"{padding} {stride} {dilation}")
    out_h = out_size(padding, in_h, k_h, stride[0], dilation[0])
    out_w = out_size(padding, in_w, k_w, stride[1], dilation[1])
    if y.shape[0] != x.shape[0]:  # TFLM only DCHECKs it, then writes input-batch rows
        raise ModelError(f"op {op.index} {op.opcode}: output tensor {y.index} has batch "
                         f"{y.shape[0]}, input tensor {x.index} has {x.shape[0]}")
    if (out_h, out_w) != tuple(y.shape[1:3]):
        raise ModelError(f"op {op.index} {op.opcode}: output {y.shape} does not match the "
                         f"computed spatial size {(out_h, out_w)}")
    depth_multiplier = 1
    if depthwise:
        if weights.shape[3] != out_c or out_c % in_c:
            raise ModelError(f"op {op.index} DEPTHWISE_CONV_2D: filter {weights.shape} "
                             f"does not map {in_c} to {out_c} channels")
        depth_multiplier = out_c // in_c
        # TFLM's kernel loops over the option's multiplier, not the shapes' ratio
        if option(op, "depth_multiplier") != depth_multiplier:
            raise ModelError(f"op {op.index} DEPTHWISE_CONV_2D has depth_multiplier "
                             f"{option(op, 'depth_multiplier')}; its shapes map {in_c} to "
                             f"{out_c} channels, a multiplier of {depth_multiplier}")
    elif weights.shape[0] != out_c or weights.shape[3] != in_c:
        raise ModelError(f"op {op.index} CONV_2D: filter {weights.shape} does not map "
                         f"{in_c} to {out_c} channels")
    multiplier, shift = per_channel_multipliers(x.scale, w.quantization.scale, y.scale, out_c)
    act_min, act_max = activation_range(option(op, "activation"), y, op)
    return ConvParams(
        filter=weights, bias=_bias(graph, op, out_c, _WIDE_BIAS if wide else (np.int32,)),
        input_offset=-x.zero_point, output_offset=y.zero_point,
        multiplier=multiplier, shift=shift, act_min=act_min, act_max=act_max,
        stride=stride, dilation=dilation,
        pad=(padding_before(stride[0], dilation[0], in_h, k_h, out_h),
             padding_before(stride[1], dilation[1], in_w, k_w, out_w)),
        output_shape=y.shape, depth_multiplier=depth_multiplier)


def prepare_conv2d(graph: Graph, op: Operator, wide: bool = False) -> ConvParams:
    return _prepare_conv_like(graph, op, depthwise=False, wide=wide)


def prepare_depthwise_conv2d(graph: Graph, op: Operator, wide: bool = False) -> ConvParams:
    return _prepare_conv_like(graph, op, depthwise=True, wide=wide)


def _padded_input(p: ConvParams, x: np.ndarray, k_h: int, k_w: int, dtype: type) -> np.ndarray:
    """Input plus offset as floats, zero-padded: a padded tap contributes exactly 0."""
    batch, in_h, in_w, _ = x.shape
    out_h, out_w = p.output_shape[1:3]
    need_h = (out_h - 1) * p.stride[0] + (k_h - 1) * p.dilation[0] + 1
    need_w = (out_w - 1) * p.stride[1] + (k_w - 1) * p.dilation[1] + 1
    bottom = max(0, need_h - in_h - p.pad[0])
    right = max(0, need_w - in_w - p.pad[1])
    shifted = x.astype(dtype) + dtype(p.input_offset)
    if not (p.pad[0] or p.pad[1] or bottom or right):
        return shifted
    return np.pad(shifted, ((0, 0), (p.pad[0], bottom), (p.pad[1], right), (0, 0)))


def _taps(p: ConvParams, padded: np.ndarray, k_h: int, k_w: int):
    out_h, out_w = p.output_shape[1:3]
    for ky in range(k_h):
        for kx in range(k_w):
            y0, x0 = ky * p.dilation[0], kx * p.dilation[1]
            yield ky, kx, padded[:, y0: y0 + (out_h - 1) * p.stride[0] + 1: p.stride[0],
                                 x0: x0 + (out_w - 1) * p.stride[1] + 1: p.stride[1], :]


def _requantize(p: ConvParams | FullyConnectedParams, acc: np.ndarray) -> np.ndarray:
    acc = acc.astype(np.int64)
    if p.bias is not None:
        acc = acc + p.bias.astype(np.int64)
    out = multiply_by_quantized_multiplier(acc, p.multiplier, p.shift) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


def _conv_matmul(p: ConvParams, x: np.ndarray, weights: np.ndarray,
                 dtype: type | None = None) -> np.ndarray:
    """im2col convolution; weights (Cout, KH, KW, Cin); x (vectors, H, W, Cin)."""
    out_c, k_h, k_w, in_c = weights.shape
    dtype = dtype or accumulator_dtype(k_h * k_w * in_c)
    padded = _padded_input(p, x, k_h, k_w, dtype)
    taps = [tap for _, _, tap in _taps(p, padded, k_h, k_w)]
    columns = taps[0] if len(taps) == 1 else np.stack(taps, axis=3)
    columns = columns.reshape(columns.shape[:3] + (k_h * k_w * in_c,))
    return columns @ weights.reshape(out_c, -1).astype(dtype).T


def conv_accumulate(p: ConvParams, x: np.ndarray, dtype: type | None = None) -> np.ndarray:
    """The convolution sums; x (vectors, H, W, Cin); exact in `dtype`."""
    return _conv_matmul(p, x, p.filter, dtype)


def conv2d(p: ConvParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]
    batch = x.shape[0]
    acc = _conv_matmul(p, x.reshape((-1,) + x.shape[-3:]), p.filter)
    return _requantize(p, acc).reshape((batch,) + p.output_shape)


def depthwise_conv2d(p: ConvParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]
    batch = x.shape[0]
    x = x.reshape((-1,) + x.shape[-3:])
    _, k_h, k_w, out_c = p.filter.shape
    if x.shape[-1] == 1:  # one input channel: a plain convolution, and BLAS does it faster
        acc = _conv_matmul(p, x, p.filter.transpose(3, 1, 2, 0))
        return _requantize(p, acc).reshape((batch,) + p.output_shape)
    acc = depthwise_accumulate(p, x, accumulator_dtype(k_h * k_w))
    return _requantize(p, acc).reshape((batch,) + p.output_shape)


def depthwise_accumulate(p: ConvParams, x: np.ndarray, dtype: type) -> np.ndarray:
    """The depthwise sums, tap by tap; x (vectors, H, W, Cin); exact in `dtype`."""
    _, k_h, k_w, _ = p.filter.shape
    if p.depth_multiplier > 1:  # output channel c reads input channel c // multiplier
        x = np.repeat(x, p.depth_multiplier, axis=-1)
    padded = _padded_input(p, x, k_h, k_w, dtype)
    weights = p.filter[0].astype(dtype)
    acc = None
    for ky, kx, tap in _taps(p, padded, k_h, k_w):
        term = tap * weights[ky, kx]
        acc = term if acc is None else acc + term
    return acc


def prepare_fully_connected(graph: Graph, op: Operator,
                            wide: bool = False) -> FullyConnectedParams:
    if wide:  # int16x8, as in _prepare_conv_like
        require_type(graph, op, [op.inputs[0], op.outputs[0]], "activation", np.int16)
        require_int8(graph, op, [op.inputs[1]], "weights")
    else:
        require_int8(graph, op, [op.inputs[0], op.inputs[1]], "input")
        require_int8(graph, op, op.outputs, "output")
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    require_per_tensor(x, op)
    require_per_tensor(y, op)
    if option(op, "weights_format") != 0:
        raise UnsupportedOperatorError(op.opcode, op.index, "shuffled weights format")
    weights = constant(graph, op, 1, "weights")
    if weights.ndim != 2:
        raise ModelError(f"op {op.index} FULLY_CONNECTED: weights must be 2-D, got {weights.shape}")
    out_depth, accum_depth = weights.shape
    if x.size % accum_depth:
        raise ModelError(f"op {op.index} FULLY_CONNECTED: input of {x.size} values does not "
                         f"split into rows of {accum_depth}")
    if y.size != (x.size // accum_depth) * out_depth:
        raise ModelError(f"op {op.index} FULLY_CONNECTED: output {y.shape} does not match")
    if not y.shape or y.shape[-1] != out_depth:  # TFLM counts rows by the last dimension
        raise ModelError(f"op {op.index} FULLY_CONNECTED: output tensor {y.index} shape "
                         f"{list(y.shape)} does not end in the weights' {out_depth} units")
    multiplier, shift = per_channel_multipliers(x.scale, w.quantization.scale, y.scale,
                                                out_depth)
    act_min, act_max = activation_range(option(op, "activation"), y, op)
    return FullyConnectedParams(
        weights=weights, bias=_bias(graph, op, out_depth, _WIDE_BIAS if wide else (np.int32,)),
        input_offset=-x.zero_point, weights_offset=-int(w.quantization.zero_point[0]),
        output_offset=y.zero_point, multiplier=multiplier, shift=shift,
        act_min=act_min, act_max=act_max, output_shape=y.shape)


def fully_connected(p: FullyConnectedParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]
    batch = x.shape[0]
    dtype = accumulator_dtype(p.weights.shape[1], p.weights_offset)
    rows = x.reshape(-1, p.weights.shape[1]).astype(dtype) + dtype(p.input_offset)
    weights = p.weights.astype(dtype) + dtype(p.weights_offset)
    acc = rows @ weights.T
    return _requantize(p, acc).reshape((batch,) + p.output_shape)
