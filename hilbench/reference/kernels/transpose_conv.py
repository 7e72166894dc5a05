"""TRANSPOSE_CONV (int8, and int16 activations with int8 weights), as TFLM's
transpose_conv.cc: inputs (output shape, filter Cout x KH x KW x Cin, input, optional bias).

TFLM scatters every input pixel times the filter into an accumulator the size of the
output, then requantizes per channel. Integer sums do not depend on their order, so the
batched form here adds, tap by tap, the (input @ filter tap) products of the input rows and
columns that land inside the output into a strided view of the accumulator: the same int32
(int64 for int16x8) sums, and nothing computed for taps that fall in the padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError, UnsupportedOperatorError
from hilbench.model.graph import Graph, Operator
from hilbench.reference import fixedpoint as fp
from hilbench.reference.kernels.conv import per_channel_multipliers
from hilbench.reference.prepare_common import (
    INT16_MAX,
    activation_range,
    constant,
    option,
    out_size,
    padding_before,
    require_int8,
    require_per_tensor,
    require_type,
)

DATA_INPUT = 2  # input 0 is the output shape, 1 the filter


@dataclass
class TransposeConvParams:
    filter: np.ndarray  # (Cout, KH, KW, Cin)
    bias: np.ndarray | None  # int32 (int64 for int16x8), (Cout,)
    input_offset: int
    output_offset: int
    multiplier: np.ndarray
    shift: np.ndarray
    act_min: int
    act_max: int
    stride: tuple[int, int]
    pad: tuple[int, int]  # top, left: output rows/columns cropped from the full scatter
    output_shape: tuple[int, ...]
    wide: bool = False  # int16 activations: int64 sums and requantization


def prepare_transpose_conv(graph: Graph, op: Operator) -> TransposeConvParams:
    if len(op.inputs) not in (3, 4):
        raise ModelError(f"op {op.index} TRANSPOSE_CONV has {len(op.inputs)} inputs; "
                         f"expected 3 or 4")
    x = graph.tensor(op.inputs[DATA_INPUT])
    y = graph.tensor(op.outputs[0])
    wide = x.dtype == np.int16
    if wide:
        require_type(graph, op, [op.inputs[DATA_INPUT], op.outputs[0]], "activation",
                     np.int16)
    else:
        require_int8(graph, op, [op.inputs[DATA_INPUT]], "input")
        require_int8(graph, op, op.outputs, "output")
    require_int8(graph, op, [op.inputs[1]], "filter")
    require_per_tensor(x, op)
    require_per_tensor(y, op)
    weights = constant(graph, op, 1, "filter")
    shape = constant(graph, op, 0, "output shape")
    if weights.ndim != 4 or len(x.shape) != 4 or len(y.shape) != 4:
        raise UnsupportedOperatorError(op.opcode, op.index, "only 4-D NHWC tensors")
    if tuple(int(d) for d in shape.reshape(-1)) != tuple(y.shape):
        raise ModelError(f"op {op.index} TRANSPOSE_CONV: output shape operand "
                         f"{shape.reshape(-1).tolist()} is not the output's {list(y.shape)}")
    out_c, k_h, k_w, in_c = weights.shape
    if x.shape[3] != in_c or y.shape[3] != out_c or x.shape[0] != y.shape[0]:
        raise ModelError(f"op {op.index} TRANSPOSE_CONV: filter {weights.shape} does not map "
                         f"input {x.shape} to output {y.shape}")
    stride = (option(op, "stride_h"), option(op, "stride_w"))
    padding = option(op, "padding")
    if padding not in ("SAME", "VALID") or min(stride) < 1:
        raise ModelError(f"op {op.index} TRANSPOSE_CONV: bad padding/stride {padding} {stride}")
    if max(stride) > INT16_MAX:  # TFLM's ConvParams keeps strides in int16: 65536 became 0
        raise ModelError(f"op {op.index} TRANSPOSE_CONV: stride {stride} above {INT16_MAX}, "
                         f"which TFLM cannot represent")
    # TFLM pads as a convolution from the output back to the input would
    pad = tuple(padding_before(s, 1, size, k, out_size(padding, size, k, s, 1))
                for s, size, k in zip(stride, y.shape[1:3], (k_h, k_w)))
    bias = None
    if len(op.inputs) == 4 and op.inputs[3] >= 0:
        bias = constant(graph, op, 3, "bias")
        want = np.int64 if wide else np.int32  # TFLM reads the bias as this type
        if bias.dtype != want or bias.size != out_c:
            raise ModelError(f"op {op.index} TRANSPOSE_CONV: bias must be {out_c} "
                             f"{np.dtype(want).name} values, got {bias.size} "
                             f"{bias.dtype.name}")
        bias = bias.reshape(out_c)
    w = graph.tensor(op.inputs[1])
    multiplier, shift = per_channel_multipliers(x.scale, w.quantization.scale, y.scale, out_c)
    act_min, act_max = activation_range(op.options.get("activation", "NONE"), y, op)
    return TransposeConvParams(weights, bias, -x.zero_point, y.zero_point, multiplier, shift,
                               act_min, act_max, stride, pad, y.shape, wide)  # type: ignore


def _landing(out_size: int, pad: int, k: int, stride: int, in_size: int) -> slice | None:
    """The input rows whose tap k lands inside the output (row i lands on
    i * stride - pad + k), or None."""
    first = max(0, -((k - pad) // stride))  # ceil((pad - k) / stride)
    last = min(in_size - 1, (out_size - 1 + pad - k) // stride)
    return slice(first, last + 1) if first <= last else None


def transpose_conv(p: TransposeConvParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]
    batch = x.shape[0]
    x = x.reshape((-1,) + x.shape[-3:]).astype(np.float64) + p.input_offset
    _, in_h, in_w, _ = x.shape
    out_c, k_h, k_w, _ = p.filter.shape
    _, out_h, out_w, _ = p.output_shape
    (s_h, s_w), (pad_h, pad_w) = p.stride, p.pad
    # float64 sums are exact here (|products| < 2**23, far fewer than 2**30 terms)
    acc = np.zeros((x.shape[0], out_h, out_w, out_c), np.float64)
    weights = p.filter.astype(np.float64)
    for ky in range(k_h):
        rows = _landing(out_h, pad_h, ky, s_h, in_h)
        for kx in range(k_w):
            cols = _landing(out_w, pad_w, kx, s_w, in_w)
            if rows is None or cols is None:
                continue
            y0, x0 = rows.start * s_h - pad_h + ky, cols.start * s_w - pad_w + kx
            y1 = y0 + (rows.stop - rows.start - 1) * s_h + 1
            x1 = x0 + (cols.stop - cols.start - 1) * s_w + 1
            acc[:, y0:y1:s_h, x0:x1:s_w] += x[:, rows, cols] @ weights[:, ky, kx, :].T
    total = acc.astype(np.int64)
    if p.bias is not None:
        total = total + p.bias.astype(np.int64)
    if p.wide:
        out = fp.multiply_by_quantized_multiplier_64(total, p.multiplier, p.shift)
    else:  # TFLM's int32 scratch buffer wraps
        out = fp.multiply_by_quantized_multiplier(fp.wrap32(total), p.multiplier, p.shift)
    out = np.clip(out + p.output_offset, p.act_min, p.act_max)
    dtype = np.int16 if p.wide else np.int8
    return out.astype(dtype).reshape((batch,) + p.output_shape)
