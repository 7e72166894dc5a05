"""int16 activations with int8 weights ("int16x8"), as TFLM's int16 kernels define them:
CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, SOFTMAX, QUANTIZE, DEQUANTIZE and
RESHAPE (TRANSPOSE_CONV takes both types in transpose_conv.py).

The same opcodes as the int8 kernels; `widened()` puts both behind one table entry and
picks by the op's activation type. Differences from int8 that matter for bit-exactness:
- activations have zero point 0 (the reader refuses anything else), so no input offset;
- conv and fully connected accumulate in int64 with an int64 bias and requantize with the
  int64 MultiplyByQuantizedMultiplier (multiplier rounded to 16 bits, one rounding); with
  an int32 bias TFLM accumulates in int32 and uses the int32 (double-rounding) one;
- ADD rescales to a 2**15 base instead of 2**20;
- SOFTMAX uses two 513-entry tables (exp on [-10, 0], 1/(1+x) on [0, 1]) that TFLM fills
  in Prepare; they are computed here and travel to the firmware as constants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Callable

import numpy as np

from hilbench.errors import ModelError, UnsupportedOperatorError
from hilbench.model.graph import Graph, Operator
from hilbench.reference import fixedpoint as fp
from hilbench.reference.kernels import conv, elementwise, quantize as quant, shape
from hilbench.reference.prepare_common import (
    INT16_MAX,
    INT16_MIN,
    require_per_tensor,
    require_type,
)


def is_wide(graph: Graph, op: Operator) -> bool:
    """True when the op's data input or output is int16: TFLM's int16x8 kernels."""
    ends = [i for i in op.inputs[:1] + op.outputs[:1] if i >= 0]
    return any(graph.tensor(i).dtype == np.int16 for i in ends)


@dataclass
class Conv16Params(conv.ConvParams):
    wide_bias: bool = True  # int64 bias (or none): int64 accumulator, 64-bit requantization


@dataclass
class FullyConnected16Params(conv.FullyConnectedParams):
    wide_bias: bool = True


def _widen(params: Any, cls: type, bias: np.ndarray | None) -> Any:
    values = {f.name: getattr(params, f.name) for f in fields(params)}
    return cls(**values, wide_bias=bias is None or bias.dtype == np.int64)


def prepare_conv2d(graph: Graph, op: Operator) -> Conv16Params:
    p = conv.prepare_conv2d(graph, op, wide=True)
    return _widen(p, Conv16Params, p.bias)


def prepare_depthwise_conv2d(graph: Graph, op: Operator) -> Conv16Params:
    p = conv.prepare_depthwise_conv2d(graph, op, wide=True)
    if p.bias is not None and p.bias.dtype != np.int64:
        # TFLM's int16 depthwise reads its bias as int64 whatever the type: refuse
        raise ModelError(f"op {op.index} DEPTHWISE_CONV_2D with int16 activations needs an "
                         f"int64 bias, got {p.bias.dtype.name}")
    return _widen(p, Conv16Params, p.bias)


def prepare_fully_connected(graph: Graph, op: Operator) -> FullyConnected16Params:
    p = conv.prepare_fully_connected(graph, op, wide=True)
    return _widen(p, FullyConnected16Params, p.bias)


def requantize(p: Conv16Params | FullyConnected16Params, acc: np.ndarray) -> np.ndarray:
    """Bias, requantization and clamp of int16x8 accumulators (exact int64 sums)."""
    acc = acc.astype(np.int64)
    if p.bias is not None:
        acc = acc + p.bias.astype(np.int64)
    if p.wide_bias:
        out = fp.multiply_by_quantized_multiplier_64(acc, p.multiplier, p.shift)
    else:  # int32 accumulator: wraps as the C code does
        out = fp.multiply_by_quantized_multiplier(fp.wrap32(acc), p.multiplier, p.shift)
    return np.clip(out, p.act_min, p.act_max).astype(np.int16)


def conv2d(p: Conv16Params, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]
    batch = x.shape[0]
    # float64 BLAS is exact: products < 2**22, sums < 2**53 for any MCU layer
    acc = conv.conv_accumulate(p, x.reshape((-1,) + x.shape[-3:]), np.float64)
    return requantize(p, acc).reshape((batch,) + p.output_shape)


def depthwise_conv2d(p: Conv16Params, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]
    batch = x.shape[0]
    acc = conv.depthwise_accumulate(p, x.reshape((-1,) + x.shape[-3:]), np.int64)
    return requantize(p, acc).reshape((batch,) + p.output_shape)


def fully_connected(p: FullyConnected16Params, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0]
    batch = x.shape[0]
    rows = x.reshape(-1, p.weights.shape[1]).astype(np.float64)
    weights = p.weights.astype(np.float64) + p.weights_offset
    return requantize(p, rows @ weights.T).reshape((batch,) + p.output_shape)


def prepare_add(graph: Graph, op: Operator) -> elementwise.AddParams:
    return elementwise.prepare_add(graph, op, wide=True)


# --- QUANTIZE and DEQUANTIZE ------------------------------------------------------------

_QUANTIZE_TYPES = {  # (input, output) pairs with int16 that TFLM's QUANTIZE runs
    ("float32", "int16"), ("int8", "int16"), ("int16", "int8"), ("int16", "int16"),
}


def prepare_quantize(graph: Graph, op: Operator) -> quant.QuantizeParams:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if (x.dtype.name, y.dtype.name) not in _QUANTIZE_TYPES:
        raise UnsupportedOperatorError(op.opcode, op.index,
                                       f"{x.dtype.name} to {y.dtype.name}")
    require_type(graph, op, op.outputs, "output", y.dtype.type)
    require_per_tensor(y, op)
    if x.dtype == np.float32:
        return quant.QuantizeParams(y.scale, y.zero_point, output_type=np.int16)
    require_type(graph, op, op.inputs[:1], "input", x.dtype.type)
    require_per_tensor(x, op)
    multiplier, shift = fp.quantize_multiplier(float(x.scale) / float(y.scale))
    return quant.QuantizeParams(y.scale, y.zero_point, x.zero_point, multiplier, shift,
                                output_type=y.dtype.type)


def prepare_dequantize(graph: Graph, op: Operator) -> quant.DequantizeParams:
    require_type(graph, op, op.inputs[:1], "input", np.int16)
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_per_tensor(x, op)
    if y.dtype != np.float32:
        raise UnsupportedOperatorError(op.opcode, op.index, f"{y.dtype.name} output")
    return quant.DequantizeParams(x.scale, x.zero_point)


# --- SOFTMAX ----------------------------------------------------------------------------

LUT_SIZE = 513  # 512 segments and the end point


def _expf(x: float) -> float:
    return float(np.float32(math.exp(x)))  # the correctly rounded float, as glibc's expf


def _one_over_one_plus(x: float) -> float:
    return float(np.float32(1.0) / (np.float32(1.0) + np.float32(x)))


def int16_lut(func: Callable[[float], float], low: float, high: float) -> np.ndarray:
    """TFLM's gen_lut<float, int16_t, int16_t> with outputs on [-1, 1]: float32 arithmetic
    step by step, each segment's value biased by half its midpoint interpolation error."""
    f32 = np.float32
    steps = 512
    step = f32((f32(high) - f32(low)) / f32(steps))
    half = f32(step / f32(2))
    scaling = f32(f32(65536) / f32(2))

    def at(v: np.float32) -> np.float32:
        return f32(func(float(v)))

    def rnd(v: float) -> np.float32:
        return f32(fp.round_half_away(float(v)))

    lut = np.zeros(LUT_SIZE, np.int16)
    for i in range(steps):
        base = f32(f32(low) + f32(f32(i) * step))
        val = at(base)
        mid = at(f32(base + half))
        nxt = at(f32(f32(low) + f32(f32(i + 1) * step)))
        sample = rnd(f32(val * scaling))
        interp = rnd(f32(f32(f32(nxt * scaling) + rnd(f32(val * scaling))) / f32(2)))
        err = f32(interp - rnd(f32(mid * scaling)))
        bias = rnd(f32(err / f32(2)))
        lut[i] = int(min(max(f32(sample - bias), INT16_MIN), INT16_MAX))
    lut[steps] = int(min(max(rnd(f32(at(f32(high)) * scaling)), INT16_MIN), INT16_MAX))
    return lut


@dataclass
class Softmax16Params:
    input_multiplier: int
    input_left_shift: int
    exp_lut: np.ndarray  # int16 (513,)
    one_over_one_plus_x_lut: np.ndarray


def prepare_softmax(graph: Graph, op: Operator) -> Softmax16Params:
    require_type(graph, op, op.inputs[:1] + op.outputs, "activation", np.int16)
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    require_per_tensor(x, op)
    require_per_tensor(y, op)
    if x.size != y.size or not x.shape:
        raise ModelError(f"op {op.index} SOFTMAX: input {x.shape} and output {y.shape} differ")
    if x.shape[-1] > (1 << 16):  # TFLM's int32 sum of Q0.15 exps would overflow
        raise ModelError(f"op {op.index} SOFTMAX: int16 rows of {x.shape[-1]} values; "
                         f"at most 65536")
    if y.zero_point != 0 or abs(float(y.scale) - 1 / 32768) > 0.001 / 32768:
        raise ModelError(f"op {op.index} SOFTMAX: int16 output must have scale 1/32768 and "
                         f"zero point 0 (TFLM), got {float(y.scale):.6g} / {y.zero_point}")
    beta = float(np.float32(op.options.get("beta", 1.0)))
    # the input difference scaled so that [-65535, 0] is [-10, 0], the exp table's range
    multiplier, shift = fp.quantize_multiplier(float(x.scale) * beta / (10.0 / 65535.0))
    return Softmax16Params(multiplier, shift, _EXP_LUT, _RECIPROCAL_LUT)


_EXP_LUT = int16_lut(_expf, -10.0, 0.0)
_RECIPROCAL_LUT = int16_lut(_one_over_one_plus, 0.0, 1.0)


def softmax(p: Softmax16Params, inputs: list[np.ndarray]) -> np.ndarray:
    x = inputs[0].astype(np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    scaled = fp.multiply_by_quantized_multiplier(diff, p.input_multiplier, p.input_left_shift)
    exps = fp.int16_table_lookup(np.clip(scaled + 32767, INT16_MIN, INT16_MAX), p.exp_lut)
    total = exps.sum(axis=-1, keepdims=True)  # Q16.15, at most depth * 32767
    headroom_plus_one = fp.count_leading_zeros32(total)
    shifted = ((total << (headroom_plus_one - 1)) + (1 << 13)) >> 14
    centered = np.clip(shifted - ((1 << 15) + (1 << 16)), INT16_MIN, INT16_MAX)
    reciprocal = fp.int16_table_lookup(centered, p.one_over_one_plus_x_lut)
    right_shift = 31 - headroom_plus_one
    out = (exps * reciprocal + (np.int64(1) << (right_shift - 1))) >> right_shift
    return np.clip(out, 0, INT16_MAX).astype(np.int16)


# --- one table entry for both activation types ------------------------------------------

_WIDE_TYPES = (Conv16Params, FullyConnected16Params, Softmax16Params)


def widened(base: Any, prepare: Callable[[Graph, Operator], Any],
            run: Callable[[Any, list[np.ndarray]], np.ndarray] | None = None) -> Any:
    """`base` (an int8 Kernel) with the int16x8 `prepare` (and `run`, when the int8 run
    does not already follow the params' output type) for ops with int16 activations."""
    from hilbench.reference.kernels import Kernel

    def prepare_either(graph: Graph, op: Operator) -> Any:
        return (prepare if is_wide(graph, op) else base.prepare)(graph, op)

    def run_either(params: Any, args: list[np.ndarray]) -> np.ndarray:
        wide = run is not None and isinstance(params, _WIDE_TYPES)
        return (run if wide else base.run)(params, args)  # type: ignore[misc]

    return Kernel(prepare_either, run_either, base.data_inputs)


WIDE_KERNELS: dict[str, tuple[Callable[..., Any], Callable[..., np.ndarray] | None]] = {
    "CONV_2D": (prepare_conv2d, conv2d),
    "DEPTHWISE_CONV_2D": (prepare_depthwise_conv2d, depthwise_conv2d),
    "FULLY_CONNECTED": (prepare_fully_connected, fully_connected),
    "ADD": (prepare_add, None),
    "SOFTMAX": (prepare_softmax, softmax),
    "QUANTIZE": (prepare_quantize, None),
    "DEQUANTIZE": (prepare_dequantize, None),
    "RESHAPE": (lambda graph, op: shape.prepare_reshape(graph, op, wide=True), None),
}
