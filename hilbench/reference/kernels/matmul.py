"""BATCH_MATMUL, int8, as TFLM's batch_matmul.cc: lhs (..., rows, depth) times
rhs (..., depth, cols) with NumPy-style broadcasting of the batch dimensions, adj_x / adj_y
transposing the last two axes of an operand, zero points on both operands, one per-tensor
requantization and no fused activation (the output clamps to the int8 range)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError
from hilbench.model.graph import Graph, Operator
from hilbench.reference.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from hilbench.reference.prepare_common import (INT8_MAX, INT8_MIN, option, require_int8,
                                               require_per_tensor)

MIN_RANK, MAX_RANK = 2, 5  # TFLM's BatchMatMulPrepare


@dataclass(frozen=True)
class BatchMatMulParams:
    lhs_shape: tuple[int, ...]  # both extended to the output rank
    rhs_shape: tuple[int, ...]
    adj_x: bool
    adj_y: bool
    rows: int
    cols: int
    depth: int
    lhs_offset: int  # -lhs zero point
    rhs_offset: int  # -rhs zero point
    output_offset: int
    multiplier: int
    shift: int
    output_shape: tuple[int, ...]


def prepare_batch_matmul(graph: Graph, op: Operator) -> BatchMatMulParams:
    require_int8(graph, op, op.inputs[:2], "input")
    require_int8(graph, op, op.outputs, "output")
    lhs, rhs, y = (graph.tensor(i) for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    for t in (lhs, rhs, y):
        require_per_tensor(t, op)
    ranks = (len(lhs.shape), len(rhs.shape))
    if not all(MIN_RANK <= r <= MAX_RANK for r in ranks):
        raise ModelError(f"op {op.index} BATCH_MATMUL: operands of rank {ranks}; TFLM takes "
                         f"{MIN_RANK}-D to {MAX_RANK}-D")
    rank = max(ranks)
    a = (1,) * (rank - ranks[0]) + lhs.shape
    b = (1,) * (rank - ranks[1]) + rhs.shape
    batch = []
    for da, db in zip(a[:-2], b[:-2]):
        if da != db and da != 1 and db != 1:
            raise ModelError(f"op {op.index} BATCH_MATMUL: batch dimensions of {lhs.shape} "
                             f"and {rhs.shape} do not broadcast")
        batch.append(db if da == 1 else da)
    adj_x, adj_y = bool(option(op, "adj_x")), bool(option(op, "adj_y"))
    rows, depth = (a[-1], a[-2]) if adj_x else (a[-2], a[-1])
    depth_b, cols = (b[-1], b[-2]) if adj_y else (b[-2], b[-1])
    if depth != depth_b:
        raise ModelError(f"op {op.index} BATCH_MATMUL: lhs {lhs.shape} (adj_x {adj_x}) and "
                         f"rhs {rhs.shape} (adj_y {adj_y}) disagree on the depth: {depth} "
                         f"and {depth_b}")
    expected = tuple(batch) + (rows, cols)
    if expected != y.shape:
        raise ModelError(f"op {op.index} BATCH_MATMUL: output {y.shape} is not {expected}")
    # TFLM's GetQuantizedConvolutionMultipler: the scales' product in float32, then double
    product = float(np.float32(lhs.scale) * np.float32(rhs.scale))
    multiplier, shift = quantize_multiplier(product / float(y.scale))
    return BatchMatMulParams(a, b, adj_x, adj_y, rows, cols, depth, -lhs.zero_point,
                             -rhs.zero_point, y.zero_point, multiplier, shift, y.shape)


def batch_matmul(p: BatchMatMulParams, inputs: list[np.ndarray]) -> np.ndarray:
    lhs, rhs = inputs
    a = lhs.reshape((lhs.shape[0],) + p.lhs_shape).astype(np.int64) + p.lhs_offset
    b = rhs.reshape((rhs.shape[0],) + p.rhs_shape).astype(np.int64) + p.rhs_offset
    if p.adj_x:
        a = np.swapaxes(a, -1, -2)
    if p.adj_y:
        b = np.swapaxes(b, -1, -2)
    acc = np.matmul(a, b)  # int64: exact, as TFLM's int32 sums of at most 2^16 terms
    out = multiply_by_quantized_multiplier(acc, p.multiplier, p.shift) + p.output_offset
    out = np.clip(out, INT8_MIN, INT8_MAX).astype(np.int8)
    return out.reshape((out.shape[0],) + p.output_shape)
