"""AVERAGE_POOL_2D and MAX_POOL_2D (int8, same quantization in and out, as TFLM requires)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError, UnsupportedOperatorError
from hilbench.model.graph import Graph, Operator, Tensor
from hilbench.model.validate import short
from hilbench.reference.prepare_common import (
    activation_range,
    option,
    out_size,
    padding_before,
    require_int8,
    require_per_tensor,
)


@dataclass
class PoolParams:
    filter: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    act_min: int
    act_max: int
    output_shape: tuple[int, ...]


def prepare_pool(graph: Graph, op: Operator) -> PoolParams:
    require_int8(graph, op, op.inputs[:1], "input")
    require_int8(graph, op, op.outputs, "output")
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_per_tensor(x, op)
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise UnsupportedOperatorError(op.opcode, op.index, "only 4-D NHWC tensors")
    _require_same_quantization(op, x, y)
    filt = (option(op, "filter_h"), option(op, "filter_w"))
    stride = (option(op, "stride_h"), option(op, "stride_w"))
    padding = option(op, "padding")
    if min(filt) < 1 or min(stride) < 1 or padding not in ("SAME", "VALID"):
        raise ModelError(f"op {op.index} {op.opcode}: bad filter/stride/padding")
    _, in_h, in_w, _ = x.shape
    out_h = out_size(padding, in_h, filt[0], stride[0], 1)
    out_w = out_size(padding, in_w, filt[1], stride[1], 1)
    if (out_h, out_w) != tuple(y.shape[1:3]) or x.shape[::3] != y.shape[::3]:
        raise ModelError(f"op {op.index} {op.opcode}: output {y.shape} does not match input "
                         f"{x.shape}")
    act_min, act_max = activation_range(option(op, "activation"), y, op)
    return PoolParams(filt, stride,
                      (padding_before(stride[0], 1, in_h, filt[0], out_h),
                       padding_before(stride[1], 1, in_w, filt[1], out_w)),
                      act_min, act_max, y.shape)


def _require_same_quantization(op: Operator, x: Tensor, y: Tensor) -> None:
    """TFLM's PoolingPrepare: the kernels copy or average int8 values without
    requantizing, so the output must carry the input's scale (within 1e-6, compared as
    doubles of the float32 values) and zero point."""
    if abs(float(x.scale) - float(y.scale)) > 1e-6 or x.zero_point != y.zero_point:
        raise ModelError(f"op {op.index} {op.opcode}: output tensor {y.index} "
                         f"{short(repr(y.name))} has scale {float(y.scale):.7g} zero point "
                         f"{y.zero_point}; TFLM requires the input's, {float(x.scale):.7g} "
                         f"and {x.zero_point}")


def _windows(p: PoolParams, padded: np.ndarray):
    out_h, out_w = p.output_shape[1:3]
    for ky in range(p.filter[0]):
        for kx in range(p.filter[1]):
            yield padded[..., ky: ky + (out_h - 1) * p.stride[0] + 1: p.stride[0],
                         kx: kx + (out_w - 1) * p.stride[1] + 1: p.stride[1], :]


def _pad(p: PoolParams, x: np.ndarray, value: int) -> np.ndarray:
    in_h, in_w = x.shape[-3:-1]
    out_h, out_w = p.output_shape[1:3]
    bottom = max(0, (out_h - 1) * p.stride[0] + p.filter[0] - in_h - p.pad[0])
    right = max(0, (out_w - 1) * p.stride[1] + p.filter[1] - in_w - p.pad[1])
    widths = [(0, 0)] * (x.ndim - 3) + [(p.pad[0], bottom), (p.pad[1], right), (0, 0)]
    return np.pad(x, widths, constant_values=value)


def average_pool2d(p: PoolParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0].astype(np.int64)
    total = sum(_windows(p, _pad(p, x, 0)))
    valid = _pad(p, np.ones(x.shape[-3:-1] + (1,), np.int64), 0)
    count = sum(_windows(p, valid))  # taps inside the image, per output position
    half = count // 2
    # TFLM rounds to nearest with C division (truncating toward zero)
    average = np.where(total > 0, (total + half) // count, -((half - total) // count))
    return np.clip(average, p.act_min, p.act_max).astype(np.int8)


def max_pool2d(p: PoolParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0].astype(np.int16)
    result = np.maximum.reduce(list(_windows(p, _pad(p, x, -129))))
    return np.clip(result, p.act_min, p.act_max).astype(np.int8)
