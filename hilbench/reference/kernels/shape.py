"""RESHAPE, PAD/PADV2 and CONCATENATION: pure data movement."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError, UnsupportedOperatorError
from hilbench.model.graph import Graph, Operator
from hilbench.reference.prepare_common import (
    constant,
    option,
    require_int8,
    require_per_tensor,
    require_type,
)


@dataclass
class ReshapeParams:
    output_shape: tuple[int, ...]


def prepare_reshape(graph: Graph, op: Operator, wide: bool = False) -> ReshapeParams:
    if wide:  # int16 activations: the same byte copy
        require_type(graph, op, op.inputs[:1] + op.outputs, "activation", np.int16)
    else:
        require_int8(graph, op, op.inputs[:1], "input")
        require_int8(graph, op, op.outputs, "output")
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if x.size != y.size:
        raise ModelError(f"op {op.index} RESHAPE: {x.shape} has {x.size} values, "
                         f"{y.shape} has {y.size}")
    return ReshapeParams(y.shape)


def reshape(p: ReshapeParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]
    return x.reshape((x.shape[0],) + p.output_shape)


@dataclass
class PadParams:
    paddings: tuple[tuple[int, int], ...]
    value: int


def prepare_pad(graph: Graph, op: Operator) -> PadParams:
    require_int8(graph, op, op.inputs[:1], "input")
    require_int8(graph, op, op.outputs, "output")
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    paddings = constant(graph, op, 1, "paddings").astype(np.int64)
    if paddings.shape != (len(x.shape), 2) or (paddings < 0).any():
        raise ModelError(f"op {op.index} {op.opcode}: paddings {paddings.tolist()} do not fit "
                         f"input {x.shape}")
    padded = tuple(int(d + a + b) for d, (a, b) in zip(x.shape, paddings))
    if padded != y.shape:
        raise ModelError(f"op {op.index} {op.opcode}: output {y.shape} is not {padded}")
    value = y.zero_point  # TFLM pads int8 with the output zero point (real 0.0)
    if op.opcode == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        value = int(constant(graph, op, 2, "constant_values").reshape(-1)[0])
    return PadParams(tuple((int(a), int(b)) for a, b in paddings), value)


def pad(p: PadParams, inputs: list[np.ndarray]) -> np.ndarray:
    return np.pad(inputs[0], ((0, 0),) + p.paddings, constant_values=p.value)


_CONCAT_MAX_INPUTS = 10


@dataclass
class ConcatenationParams:
    axis: int  # in tensor coordinates, non-negative


def prepare_concatenation(graph: Graph, op: Operator) -> ConcatenationParams:
    require_int8(graph, op, op.inputs, "input")
    require_int8(graph, op, op.outputs, "output")
    y = graph.tensor(op.outputs[0])
    rank = len(y.shape)
    axis = option(op, "axis")
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise ModelError(f"op {op.index} CONCATENATION: axis {option(op, 'axis')} out of range")
    if option(op, "activation") != "NONE":
        raise UnsupportedOperatorError(op.opcode, op.index, "fused activation on CONCATENATION")
    if len(op.inputs) > _CONCAT_MAX_INPUTS:  # TFLM's kMaxInputNum
        raise ModelError(f"op {op.index} CONCATENATION has {len(op.inputs)} inputs; TFLM "
                         f"takes at most {_CONCAT_MAX_INPUTS}")
    total = 0
    for i in op.inputs:
        t = graph.tensor(i)
        require_per_tensor(t, op)
        if len(t.shape) > 4:  # TFLM: "does not currently support num dimensions >4"
            raise ModelError(f"op {op.index} CONCATENATION: input tensor {t.index} has "
                             f"{len(t.shape)} dimensions; TFLM takes at most 4")
        if len(t.shape) != rank or any(t.shape[d] != y.shape[d] for d in range(rank) if d != axis):
            raise ModelError(f"op {op.index} CONCATENATION: input {t.shape} does not fit "
                             f"output {y.shape} on axis {axis}")
        total += t.shape[axis]
    if total != y.shape[axis]:
        raise ModelError(f"op {op.index} CONCATENATION: inputs add up to {total} on axis "
                         f"{axis}, output has {y.shape[axis]}")
    return ConcatenationParams(axis)


def concatenation(p: ConcatenationParams, inputs: list[np.ndarray]) -> np.ndarray:
    # TFLM copies int8 bytes unchanged: inputs are expected to share the output quantization
    batch = max(x.shape[0] for x in inputs)
    parts = [np.broadcast_to(x, (batch,) + x.shape[1:]) for x in inputs]
    return np.concatenate(parts, axis=p.axis + 1)
