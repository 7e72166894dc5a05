"""MAXIMUM, MINIMUM, LEAKY_RELU and PRELU on int8, as TFLM's reference kernels compute them.

MAXIMUM and MINIMUM compare the raw int8 values (TFLM has no Prepare for them and never
looks at the quantization); LEAKY_RELU and PRELU rescale the two sides of zero with two
multipliers. The binary ones broadcast like ADD (elementwise._aligned), within the ranks
TFLM's broadcasting code handles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError, UnsupportedOperatorError
from hilbench.model.graph import Graph, Operator
from hilbench.reference.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier
from hilbench.reference.kernels.elementwise import _aligned, _check_binary
from hilbench.reference.prepare_common import (INT8_MAX, INT8_MIN, option, require_int8,
                                               require_per_tensor)

# MaximumMinimumBroadcastSlow and BroadcastPrelu4DSlow index through NdArrayDesc<5> and
# <4>; a higher rank would be read out of bounds in TFLM (its checks are debug-only).
MINMAX_BROADCAST_RANK = 5
PRELU_RANK = 4


@dataclass
class MinMaxParams:
    """The broadcast walk of hb_binary_params; no rescaling (the fields the firmware's
    binary struct carries for ADD stay neutral)."""
    input_ranks: tuple[int, int]
    output_shape: tuple[int, ...]
    input1_offset: int = 0
    input2_offset: int = 0
    output_offset: int = 0
    output_multiplier: int = 0
    output_shift: int = 0
    act_min: int = INT8_MIN
    act_max: int = INT8_MAX


def prepare_minmax(graph: Graph, op: Operator) -> MinMaxParams:
    a, b, y = _check_binary(graph, op)
    if a.shape != b.shape and max(len(a.shape), len(b.shape), len(y.shape)) > MINMAX_BROADCAST_RANK:
        raise UnsupportedOperatorError(op.opcode, op.index, f"broadcasting above "
                                       f"{MINMAX_BROADCAST_RANK}-D (TFLM's limit)")
    return MinMaxParams((len(a.shape), len(b.shape)), y.shape)


def _operands(p: MinMaxParams, inputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    rank = len(p.output_shape)
    return (_aligned(inputs[0], p.input_ranks[0], rank),
            _aligned(inputs[1], p.input_ranks[1], rank))


def maximum(p: MinMaxParams, inputs: list[np.ndarray]) -> np.ndarray:
    return np.maximum(*_operands(p, inputs)).astype(np.int8)


def minimum(p: MinMaxParams, inputs: list[np.ndarray]) -> np.ndarray:
    return np.minimum(*_operands(p, inputs)).astype(np.int8)


@dataclass
class LeakyReluParams:
    input_zero_point: int
    output_zero_point: int
    identity_multiplier: int  # x >= 0: input scale / output scale
    identity_shift: int
    alpha_multiplier: int  # x < 0: |alpha| * input scale / output scale
    alpha_shift: int
    alpha_negative: bool  # TFLM rescales by |alpha|'s multiplier, then negates the result


def prepare_leaky_relu(graph: Graph, op: Operator) -> LeakyReluParams:
    """TFLM's CalculateOpDataLeakyRelu: both real multipliers computed in float32."""
    require_int8(graph, op, op.inputs[:1], "input")
    require_int8(graph, op, op.outputs, "output")
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    for t in (x, y):
        require_per_tensor(t, op)
    if x.size != y.size:
        raise ModelError(f"op {op.index} LEAKY_RELU: input {x.shape} and output {y.shape} "
                         f"differ in size")
    alpha = np.float32(option(op, "alpha"))
    with np.errstate(over="ignore"):  # an overflow to infinity is refused just below
        alpha_real = float(np.float32(np.float32(x.scale) * alpha) / np.float32(y.scale))
        identity_real = float(np.float32(x.scale) / np.float32(y.scale))
    if not (math.isfinite(alpha_real) and math.isfinite(identity_real)):  # float32 overflow
        raise ModelError(f"op {op.index} LEAKY_RELU: alpha {float(alpha)} with scales "
                         f"{float(x.scale):.3g} -> {float(y.scale):.3g} has no multiplier")
    am, ash = quantize_multiplier(alpha_real)
    im, ish = quantize_multiplier(identity_real)
    if am == -(1 << 31):  # TFLM's int32 negation of it overflows
        raise UnsupportedOperatorError(op.opcode, op.index, f"alpha {float(alpha)} at these "
                                       f"scales (its multiplier is -2^31)")
    return LeakyReluParams(x.zero_point, y.zero_point, im, ish, abs(am), ash, am < 0)


def leaky_relu(p: LeakyReluParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0].astype(np.int64) - p.input_zero_point
    positive = x >= 0
    multiplier = np.where(positive, p.identity_multiplier, p.alpha_multiplier)
    shift = np.where(positive, p.identity_shift, p.alpha_shift)
    scaled = multiply_by_quantized_multiplier(x, multiplier, shift)
    if p.alpha_negative:
        scaled = np.where(positive, scaled, -scaled)
    return np.clip(scaled + p.output_zero_point, INT8_MIN, INT8_MAX).astype(np.int8)


@dataclass
class PreluParams:
    """Named as TFLM's ArithmeticParams so that the firmware's binary struct carries it:
    input 1 is the data, input 2 alpha; multiplier 1 rescales x >= 0, multiplier 2 the
    product x * alpha."""
    input1_offset: int
    input2_offset: int
    output_offset: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    input_ranks: tuple[int, int]
    output_shape: tuple[int, ...]
    output_multiplier: int = 0
    output_shift: int = 0
    act_min: int = INT8_MIN
    act_max: int = INT8_MAX


def prepare_prelu(graph: Graph, op: Operator) -> PreluParams:
    """TFLM's CalculatePreluParams (double precision), alpha broadcast against the input
    (one alpha per channel, shared over the other axes, is the usual form)."""
    x, alpha, y = _check_binary(graph, op)
    if max(len(x.shape), len(alpha.shape), len(y.shape)) > PRELU_RANK:
        raise UnsupportedOperatorError(op.opcode, op.index, f"tensors above {PRELU_RANK}-D "
                                       f"(TFLM's limit)")
    m1, s1 = quantize_multiplier(float(x.scale) / float(y.scale))
    m2, s2 = quantize_multiplier(float(x.scale) * float(alpha.scale) / float(y.scale))
    return PreluParams(-x.zero_point, -alpha.zero_point, y.zero_point, m1, s1, m2, s2,
                       (len(x.shape), len(alpha.shape)), y.shape)


def prelu(p: PreluParams, inputs: list[np.ndarray]) -> np.ndarray:
    rank = len(p.output_shape)
    x = _aligned(inputs[0], p.input_ranks[0], rank) + p.input1_offset
    alpha = _aligned(inputs[1], p.input_ranks[1], rank) + p.input2_offset
    x, alpha = np.broadcast_arrays(x, alpha)
    out = np.where(x >= 0,
                   multiply_by_quantized_multiplier(x, p.input1_multiplier, p.input1_shift),
                   multiply_by_quantized_multiplier(x * alpha, p.input2_multiplier,
                                                    p.input2_shift)) + p.output_offset
    return np.clip(out, INT8_MIN, INT8_MAX).astype(np.int8)
