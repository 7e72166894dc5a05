"""ADD, SUB and MUL with NumPy-style broadcasting (TFLM supports broadcasting up to 6-D)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError
from hilbench.model.graph import Graph, Operator
from hilbench.reference.fixedpoint import (
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    wrap32,
)
from hilbench.reference.prepare_common import (
    activation_range,
    option,
    require_int8,
    require_per_tensor,
    require_type,
)

ADD_LEFT_SHIFT = 20  # TFLM's headroom for int8 ADD
ADD_LEFT_SHIFT_INT16 = 15  # and for int16 ADD, which takes the same general-scale path


@dataclass
class AddParams:
    input1_offset: int
    input2_offset: int
    output_offset: int
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int
    input_ranks: tuple[int, int]
    output_shape: tuple[int, ...]
    output_type: type = np.int8  # np.int16 for the int16x8 ADD


@dataclass
class MulParams:
    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int
    input_ranks: tuple[int, int]
    output_shape: tuple[int, ...]


def _check_binary(graph: Graph, op: Operator, wide: bool = False):
    if wide:  # int16 activations: both inputs and the output
        require_type(graph, op, op.inputs[:2] + op.outputs, "activation", np.int16)
    else:
        require_int8(graph, op, op.inputs[:2], "input")
        require_int8(graph, op, op.outputs, "output")
    a, b, y = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]),
               graph.tensor(op.outputs[0]))
    for t in (a, b, y):
        require_per_tensor(t, op)
    try:
        broadcast = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ModelError(f"op {op.index} {op.opcode}: shapes {a.shape} and {b.shape} "
                         f"do not broadcast") from None
    if tuple(broadcast) != y.shape:
        raise ModelError(f"op {op.index} {op.opcode}: output {y.shape} is not the broadcast "
                         f"shape {tuple(broadcast)}")
    return a, b, y


def prepare_add(graph: Graph, op: Operator, wide: bool = False) -> AddParams:
    a, b, y = _check_binary(graph, op, wide)
    left_shift = ADD_LEFT_SHIFT_INT16 if wide else ADD_LEFT_SHIFT
    twice_max_input_scale = 2 * float(max(a.scale, b.scale))
    m1, s1 = quantize_multiplier(float(a.scale) / twice_max_input_scale)
    m2, s2 = quantize_multiplier(float(b.scale) / twice_max_input_scale)
    mo, so = quantize_multiplier(twice_max_input_scale / ((1 << left_shift) * float(y.scale)))
    act_min, act_max = activation_range(option(op, "activation"), y, op)
    return AddParams(-a.zero_point, -b.zero_point, y.zero_point, left_shift,
                     m1, s1, m2, s2, mo, so, act_min, act_max,
                     (len(a.shape), len(b.shape)), y.shape, y.dtype.type)


def prepare_mul(graph: Graph, op: Operator) -> MulParams:
    a, b, y = _check_binary(graph, op)
    m, s = quantize_multiplier(float(a.scale) * float(b.scale) / float(y.scale))
    act_min, act_max = activation_range(option(op, "activation"), y, op)
    return MulParams(-a.zero_point, -b.zero_point, y.zero_point, m, s, act_min, act_max,
                     (len(a.shape), len(b.shape)), y.shape)


def _aligned(x: np.ndarray, rank: int, out_rank: int) -> np.ndarray:
    """Insert unit axes after the batch axis so that broadcasting aligns tensor axes."""
    return x.reshape((x.shape[0],) + (1,) * (out_rank - rank) + x.shape[1:]).astype(np.int64)


def _rescaled(p: AddParams, inputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """ADD's and SUB's first step: both operands on the common 2^20-scaled base."""
    rank = len(p.output_shape)
    a = _aligned(inputs[0], p.input_ranks[0], rank) + p.input1_offset
    b = _aligned(inputs[1], p.input_ranks[1], rank) + p.input2_offset
    scaled_a = multiply_by_quantized_multiplier(a << p.left_shift, p.input1_multiplier,
                                                p.input1_shift)
    scaled_b = multiply_by_quantized_multiplier(b << p.left_shift, p.input2_multiplier,
                                                p.input2_shift)
    return scaled_a, scaled_b


def _requantized(p: AddParams, raw: np.ndarray) -> np.ndarray:
    out = multiply_by_quantized_multiplier(wrap32(raw), p.output_multiplier,
                                           p.output_shift) + p.output_offset
    return np.clip(out, p.act_min, p.act_max).astype(p.output_type)


def add(p: AddParams, inputs: list[np.ndarray]) -> np.ndarray:
    scaled_a, scaled_b = _rescaled(p, inputs)
    return _requantized(p, scaled_a + scaled_b)


def prepare_sub(graph: Graph, op: Operator) -> AddParams:
    """TFLM's CalculateOpDataSub: ADD's rescaling (the pinned TFLM computes the real
    multipliers in double, as for ADD), but QuantizeMultiplierSmallerThanOneExp aborts the
    interpreter unless every real multiplier lies strictly between 0 and 1: refused here."""
    p = prepare_add(graph, op)
    a, b, y = (graph.tensor(i) for i in (*op.inputs[:2], op.outputs[0]))
    output_real = 2 * float(max(a.scale, b.scale)) / ((1 << ADD_LEFT_SHIFT) * float(y.scale))
    if not 0.0 < output_real < 1.0 or p.output_shift > 0:
        raise ModelError(f"op {op.index} SUB: output rescaling {output_real:.3g} is not in "
                         f"(0, 1): output scale {float(y.scale):.3g} against input scales "
                         f"{float(a.scale):.3g} and {float(b.scale):.3g} (TFLM refuses it)")
    return p


def sub(p: AddParams, inputs: list[np.ndarray]) -> np.ndarray:
    """A true subtraction of the rescaled operands: negating input 2's multiplier instead
    is not bit-exact (the high multiply rounds ties upward, not symmetrically)."""
    scaled_a, scaled_b = _rescaled(p, inputs)
    return _requantized(p, scaled_a - scaled_b)


def mul(p: MulParams, inputs: list[np.ndarray]) -> np.ndarray:
    rank = len(p.output_shape)
    a = _aligned(inputs[0], p.input_ranks[0], rank) + p.input1_offset
    b = _aligned(inputs[1], p.input_ranks[1], rank) + p.input2_offset
    raw = multiply_by_quantized_multiplier(a * b, p.output_multiplier,
                                           p.output_shift) + p.output_offset
    return np.clip(raw, p.act_min, p.act_max).astype(np.int8)
