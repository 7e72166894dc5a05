"""QUANTIZE (float32 -> int8, int8 -> int8) and DEQUANTIZE (int8 -> float32)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hilbench.errors import UnsupportedOperatorError
from hilbench.model.graph import Graph, Operator
from hilbench.reference.fixedpoint import (
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    round_half_away_array,
)
from hilbench.reference.prepare_common import require_int8, require_per_tensor


@dataclass
class QuantizeParams:
    scale: np.float32
    zero_point: int
    input_zero_point: int | None = None  # set for int8 -> int8 requantization
    multiplier: int = 0
    shift: int = 0
    output_type: type = np.int8  # np.int16 for the int16x8 models


def prepare_quantize(graph: Graph, op: Operator) -> QuantizeParams:
    require_int8(graph, op, op.outputs, "output")
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_per_tensor(y, op)
    if x.dtype == np.float32:
        return QuantizeParams(y.scale, y.zero_point)
    if x.dtype == np.int8 and x.quantization is not None:
        require_per_tensor(x, op)
        multiplier, shift = quantize_multiplier(float(x.scale) / float(y.scale))
        return QuantizeParams(y.scale, y.zero_point, x.zero_point, multiplier, shift)
    raise UnsupportedOperatorError(op.opcode, op.index, f"{x.dtype.name} input")


def quantize(p: QuantizeParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]
    if p.input_zero_point is None:
        scaled = x.astype(np.float32) / p.scale  # float32 division, as TFLM's AffineQuantize
        q = round_half_away_array(scaled).astype(np.int64) + p.zero_point
    else:
        q = multiply_by_quantized_multiplier(x.astype(np.int64) - p.input_zero_point,
                                             p.multiplier, p.shift) + p.zero_point
    limits = np.iinfo(p.output_type)
    return np.clip(q, limits.min, limits.max).astype(p.output_type)


@dataclass
class DequantizeParams:
    scale: np.float32
    zero_point: int


def prepare_dequantize(graph: Graph, op: Operator) -> DequantizeParams:
    require_int8(graph, op, op.inputs[:1], "input")
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_per_tensor(x, op)
    if y.dtype != np.float32:
        raise UnsupportedOperatorError(op.opcode, op.index, f"{y.dtype.name} output")
    return DequantizeParams(x.scale, x.zero_point)


def dequantize(p: DequantizeParams, inputs: list[np.ndarray]) -> np.ndarray:
    centered = inputs[0].astype(np.float64) - p.zero_point
    return (float(p.scale) * centered).astype(np.float32)
