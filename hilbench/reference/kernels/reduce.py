"""MEAN over any set of axes, int8 in and out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError
from hilbench.model.graph import Graph, Operator
from hilbench.reference.fixedpoint import round_half_away_array
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
    axes: tuple[int, ...]
    input_zero_point: int
    scale: np.float32  # float32(input_scale / output_scale), as TFLM computes it
    output_zero_point: int
    output_shape: tuple[int, ...]


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
    return MeanParams(tuple(axes), x.zero_point, np.float32(x.scale / y.scale),
                      y.zero_point, y.shape)


def mean(p: MeanParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]
    axes = tuple(a + 1 for a in p.axes)
    total = x.astype(np.int64).sum(axis=axes)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    # TFLM's reference MEAN finishes in float32; reproduce each float32 rounding step
    f32 = np.float32
    bias = f32(-p.input_zero_point) * p.scale
    float_mean = total.astype(f32) / f32(count)
    result = round_half_away_array(float_mean * p.scale + bias).astype(f32) + f32(p.output_zero_point)
    result = np.clip(result, f32(INT8_MIN), f32(INT8_MAX))
    return result.astype(np.int8).reshape((x.shape[0],) + p.output_shape)
