"""RESIZE_NEAREST_NEIGHBOR on int8 NHWC tensors, as TFLM's reference kernel.

TFLM computes each output row's and column's source index in float32 at every Eval; the
size is a constant, so here the two index tables are computed once in Prepare (with the
same float32 arithmetic) and the firmware receives them as tables: no float on the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError
from hilbench.model.graph import Graph, Operator
from hilbench.reference.fixedpoint import round_half_away
from hilbench.reference.prepare_common import constant, option, require_int8


@dataclass
class ResizeParams:
    rows: np.ndarray  # int32 (out_h,): the input row each output row copies
    cols: np.ndarray  # int32 (out_w,)


def nearest_indices(in_size: int, out_size: int, align_corners: bool,
                    half_pixel_centers: bool) -> np.ndarray:
    """TFLM's GetNearestNeighbor for every output position, in float32 as C++ computes it."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    indices = []
    for i in range(out_size):
        value = (f32(i) + offset) * scale
        index = round_half_away(float(value)) if align_corners else math.floor(float(value))
        index = min(index, in_size - 1)
        if half_pixel_centers:
            index = max(0, index)
        indices.append(index)
    return np.array(indices, np.int32)


def prepare_resize_nearest(graph: Graph, op: Operator) -> ResizeParams:
    """TFLM's Prepare: a 4-D input and a constant int32 size of two elements; the output
    tensor must have the shape that size gives (TFLM writes size[0] x size[1] pixels
    whatever the output tensor says)."""
    require_int8(graph, op, op.inputs[:1], "input")
    require_int8(graph, op, op.outputs, "output")
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    where = f"op {op.index} RESIZE_NEAREST_NEIGHBOR"
    if len(x.shape) != 4:
        raise ModelError(f"{where}: input has shape {x.shape}; TFLM requires 4-D")
    size_tensor = graph.tensor(op.inputs[1])
    if size_tensor.dtype != np.int32 or size_tensor.shape != (2,):
        raise ModelError(f"{where}: size must be an int32 tensor of shape (2,), got "
                         f"{size_tensor.dtype.name} {size_tensor.shape}")
    size = constant(graph, op, 1, "size")  # TFLM: a non-constant size is not supported
    out_h, out_w = int(size[0]), int(size[1])
    expected = (x.shape[0], out_h, out_w, x.shape[3])
    if out_h < 1 or out_w < 1 or y.shape != expected:
        raise ModelError(f"{where}: output shape {y.shape} is not {expected} (size "
                         f"{[out_h, out_w]})")
    # bytes are copied: TFLM ignores the output quantization, and so does this kernel
    align, half = bool(option(op, "align_corners")), bool(option(op, "half_pixel_centers"))
    return ResizeParams(nearest_indices(x.shape[1], out_h, align, half),
                        nearest_indices(x.shape[2], out_w, align, half))


def resize_nearest(p: ResizeParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]  # (N, batch, H, W, C)
    return x[:, :, p.rows][:, :, :, p.cols]
