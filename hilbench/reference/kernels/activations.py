"""RELU, RELU6, LOGISTIC, TANH, HARD_SWISH and SOFTMAX on int8, TFLM's integer algorithms."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError
from hilbench.model.graph import Graph, Operator
from hilbench.reference import fixedpoint as fp
from hilbench.reference.prepare_common import INT8_MAX, INT8_MIN, require_int8, require_per_tensor


def _unary(graph: Graph, op: Operator):
    require_int8(graph, op, op.inputs[:1], "input")
    require_int8(graph, op, op.outputs, "output")
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_per_tensor(x, op)
    require_per_tensor(y, op)
    if x.size != y.size:
        raise ModelError(f"op {op.index} {op.opcode}: input {x.shape} and output {y.shape} differ")
    return x, y


@dataclass
class ReluParams:
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    act_min: int
    act_max: int


def prepare_relu(graph: Graph, op: Operator) -> ReluParams:
    x, y = _unary(graph, op)
    multiplier, shift = fp.quantize_multiplier(float(x.scale) / float(y.scale))
    act_min = max(INT8_MIN, y.zero_point + fp.round_half_away(float(np.float32(0.0) / y.scale)))
    return ReluParams(x.zero_point, y.zero_point, multiplier, shift, act_min, INT8_MAX)


def relu(p: ReluParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0].astype(np.int64) - p.input_zero_point
    out = fp.multiply_by_quantized_multiplier(x, p.multiplier, p.shift) + p.output_zero_point
    return np.clip(out, p.act_min, p.act_max).astype(np.int8)


@dataclass
class Relu6Params:
    zero: int  # quantized 0.0 and 6.0 on the input scale; TFLM keeps the input quantization
    six: int


def prepare_relu6(graph: Graph, op: Operator) -> Relu6Params:
    x, _ = _unary(graph, op)
    six = x.zero_point + fp.round_half_away(float(np.float32(6.0) / x.scale))
    if not INT8_MIN <= six <= INT8_MAX:
        raise ModelError(f"op {op.index} RELU6: 6.0 is not representable on scale {x.scale}")
    return Relu6Params(x.zero_point, six)


def relu6(p: Relu6Params, inputs: list[np.ndarray]) -> np.ndarray:
    return np.clip(inputs[0], p.zero, p.six).astype(np.int8)


@dataclass
class SigmoidLikeParams:
    """LOGISTIC and TANH: input rescaled to Q4.27 and evaluated in gemmlowp fixed point."""

    input_zero_point: int
    input_multiplier: int
    input_left_shift: int
    input_range_radius: int


_SIGMOID_INPUT_INTEGER_BITS = 4


def _prepare_sigmoid_like(graph: Graph, op: Operator) -> SigmoidLikeParams:
    x, _ = _unary(graph, op)
    real_multiplier = float(x.scale) * float(1 << (31 - _SIGMOID_INPUT_INTEGER_BITS))
    fraction, left_shift = math.frexp(real_multiplier)
    multiplier = fp.round_half_away(fraction * (1 << 31))
    radius = fp.calculate_input_radius(_SIGMOID_INPUT_INTEGER_BITS, left_shift)
    return SigmoidLikeParams(x.zero_point, multiplier, left_shift, radius)


def prepare_logistic(graph: Graph, op: Operator) -> SigmoidLikeParams:
    y = graph.tensor(op.outputs[0])
    if y.quantization is not None and y.zero_point != INT8_MIN:
        raise ModelError(f"op {op.index} LOGISTIC: int8 output zero point must be -128, "
                         f"got {y.zero_point}")
    return _prepare_sigmoid_like(graph, op)


def prepare_tanh(graph: Graph, op: Operator) -> SigmoidLikeParams:
    return _prepare_sigmoid_like(graph, op)


def _sigmoid_like(p: SigmoidLikeParams, x: np.ndarray, function, output_shift: int,
                  output_offset: int) -> np.ndarray:
    centered = x.astype(np.int64) - p.input_zero_point
    in_q4 = fp.multiply_by_quantized_multiplier(centered, p.input_multiplier, p.input_left_shift)
    out_q0 = function(in_q4, _SIGMOID_INPUT_INTEGER_BITS)
    out = np.clip(fp.rounding_divide_by_pot(out_q0, output_shift) + output_offset,
                  INT8_MIN, INT8_MAX)
    out = np.where(centered <= -p.input_range_radius, INT8_MIN, out)
    out = np.where(centered >= p.input_range_radius, INT8_MAX, out)
    return out.astype(np.int8)


def logistic(p: SigmoidLikeParams, inputs: list[np.ndarray]) -> np.ndarray:
    return _sigmoid_like(p, inputs[0], fp.logistic, 31 - 8, INT8_MIN)


def tanh(p: SigmoidLikeParams, inputs: list[np.ndarray]) -> np.ndarray:
    return _sigmoid_like(p, inputs[0], fp.tanh, 31 - 7, 0)


@dataclass
class HardSwishParams:
    input_zero_point: int
    output_zero_point: int
    output_multiplier_fixedpoint_int16: int
    output_multiplier_exponent: int
    reluish_multiplier_fixedpoint_int16: int
    reluish_multiplier_exponent: int


def prepare_hard_swish(graph: Graph, op: Operator) -> HardSwishParams:
    x, y = _unary(graph, op)
    # TFLM forms these ratios in float32 before widening to double
    hires_input_scale = np.float32(1.0 / 128.0) * x.scale
    reluish_scale = np.float32(3.0 / 32768.0)
    out_m, out_e = fp.quantize_multiplier(float(np.float32(hires_input_scale / y.scale)))
    relu_m, relu_e = fp.quantize_multiplier(float(np.float32(hires_input_scale / reluish_scale)))
    if out_e > 0:
        raise ModelError(f"op {op.index} HARD_SWISH: output scale too small for TFLM's kernel")
    return HardSwishParams(x.zero_point, y.zero_point,
                           fp.downscale_int32_to_int16_multiplier(out_m), out_e,
                           fp.downscale_int32_to_int16_multiplier(relu_m), relu_e)


def hard_swish(p: HardSwishParams, inputs: list[np.ndarray]) -> np.ndarray:
    value = inputs[0].astype(np.int64) - p.input_zero_point
    hires = value * 128  # fits int16: |value| <= 255
    preshift_output = fp.saturating_rounding_doubling_high_mul16(
        hires, p.output_multiplier_fixedpoint_int16)
    reluish = hires
    if p.reluish_multiplier_exponent > 0:
        reluish = fp.saturating_left_shift16(reluish, p.reluish_multiplier_exponent - 1)
    reluish = fp.saturating_rounding_doubling_high_mul16(reluish,
                                                          p.reluish_multiplier_fixedpoint_int16)
    if p.reluish_multiplier_exponent > 0:
        reluish = fp.saturating_left_shift16(reluish, 1)
    if p.reluish_multiplier_exponent < 0:
        reluish = fp.rounding_divide_by_pot(reluish, -p.reluish_multiplier_exponent)
    reluish = (reluish + (1 << 15)) >> 1  # [-1, 1] -> [0, 1]
    preshift = fp.saturating_doubling_high_mul16(reluish, preshift_output)
    out = fp.rounding_divide_by_pot(preshift, -p.output_multiplier_exponent) + p.output_zero_point
    return np.clip(out, INT8_MIN, INT8_MAX).astype(np.int8)


@dataclass
class SoftmaxParams:
    input_multiplier: int
    input_left_shift: int
    diff_min: int


_SOFTMAX_SCALED_DIFF_INTEGER_BITS = 5
_SOFTMAX_ACCUMULATION_INTEGER_BITS = 12


def prepare_softmax(graph: Graph, op: Operator) -> SoftmaxParams:
    x, y = _unary(graph, op)
    # TFLM's SoftmaxPrepare compares the float32 scale for equality, not within a tolerance
    if y.zero_point != INT8_MIN or y.scale != np.float32(1 / 256):
        raise ModelError(f"op {op.index} SOFTMAX: int8 output tensor {y.index} must have scale "
                         f"1/256 and zero point -128 (TFLM), got {float(y.scale):.9g} / "
                         f"{y.zero_point}")
    beta = float(np.float32(op.options.get("beta", 1.0)))
    real = min(beta * float(x.scale) * (1 << (31 - _SOFTMAX_SCALED_DIFF_INTEGER_BITS)),
               (1 << 31) - 1.0)
    multiplier, left_shift = fp.quantize_multiplier(real)
    diff_min = -fp.calculate_input_radius(_SOFTMAX_SCALED_DIFF_INTEGER_BITS, left_shift)
    return SoftmaxParams(multiplier, left_shift, diff_min)


def softmax(p: SoftmaxParams, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0].astype(np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    in_range = diff >= p.diff_min
    scaled_diff = fp.saturating_rounding_doubling_high_mul(
        fp.wrap32(diff << p.input_left_shift), p.input_multiplier)
    exps = fp.exp_on_negative_values(scaled_diff, _SOFTMAX_SCALED_DIFF_INTEGER_BITS)
    rescaled = fp.saturating_rounding_multiply_by_pot(exps, -_SOFTMAX_ACCUMULATION_INTEGER_BITS)
    sum_of_exps = fp.wrap32(np.where(in_range, rescaled, 0).sum(axis=-1, keepdims=True))
    scale, bits_over_unit = fp.get_reciprocal(sum_of_exps, _SOFTMAX_ACCUMULATION_INTEGER_BITS)
    exponent = bits_over_unit + 31 - 8
    out = fp.rounding_divide_by_pot(fp.saturating_rounding_doubling_high_mul(scale, exps),
                                    exponent) + INT8_MIN
    out = np.clip(out, INT8_MIN, INT8_MAX)
    return np.where(in_range, out, INT8_MIN).astype(np.int8)
