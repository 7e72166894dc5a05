"""MEAN over any set of axes, int8 in and out, in integers only.

TFLM folds 1/count into the requantization multiplier: with (m, s) the multiplier of
input_scale / output_scale and k = min(floor(log2(count)), 32, 31 + s), it uses
m' = (m << k) // count and s' = s - k, then requantizes sum - count * input_zero_point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError
from hilbench.model.graph import Graph, Operator
from hilbench.reference.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from hilbench.reference.prepare_common import (
    INT8_MAX,
    INT8_MIN,
    constant,
    option,
    require_int8,
    require_per_tensor,
)


@dataclass
class MeanParams:
    axes: tuple[int, ...]  # tensor axes, non-negative, sorted
    count: int  # values averaged into each output
    input_zero_point: int
    output_zero_point: int
    multiplier: int  # includes the 1/count factor
    shift: int
    output_shape: tuple[int, ...]


def mean_multiplier(input_scale: np.float32, output_scale: np.float32,
                    count: int) -> tuple[int, int]:
    multiplier, shift = quantize_multiplier(float(input_scale) / float(output_scale))
    k = min(count.bit_length() - 1, 32, 31 + shift)
    # C's int64 division truncates; both operands are non-negative here
    return int((multiplier << k) // count), shift - k


def prepare_mean(graph: Graph, op: Operator) -> MeanParams:
    require_int8(graph, op, op.inputs[:1], "input")
    require_int8(graph, op, op.outputs, "output")
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_per_tensor(x, op)
    require_per_tensor(y, op)
    rank = len(x.shape)
    axes = sorted({int(a) + rank if a < 0 else int(a)
                   for a in constant(graph, op, 1, "axis").reshape(-1)})
    if any(not 0 <= a < rank for a in axes):
        raise ModelError(f"op {op.index} MEAN: axis out of range for {x.shape}")
    reduced = [d for i, d in enumerate(x.shape) if i not in axes]
    kept = [1 if i in axes else d for i, d in enumerate(x.shape)]
    if int(np.prod(reduced, dtype=np.int64)) != y.size or (
            option(op, "keep_dims") and tuple(kept) != y.shape):
        raise ModelError(f"op {op.index} MEAN: output {y.shape} does not match reducing "
                         f"{x.shape} over {axes}")
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if count < 1:
        raise ModelError(f"op {op.index} MEAN: reduces over an empty axis")
    multiplier, shift = mean_multiplier(x.scale, y.scale, count)
    return MeanParams(tuple(axes), count, x.zero_point, y.zero_point, multiplier, shift,
                      y.shape)


def mean(p: MeanParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]
    total = x.astype(np.int64).sum(axis=tuple(a + 1 for a in p.axes))
    centered = total - p.input_zero_point * p.count
    out = multiply_by_quantized_multiplier(centered, p.multiplier, p.shift) + p.output_zero_point
    out = np.clip(out, INT8_MIN, INT8_MAX).astype(np.int8)
    return out.reshape((x.shape[0],) + p.output_shape)
