"""Helpers shared by the Prepare step of several operators (TFLM's kernel_util/padding)."""

from __future__ import annotations

from typing import Any

import numpy as np

from hilbench.errors import ModelError, UnsupportedOperatorError
from hilbench.model.graph import Graph, Operator, Tensor
from hilbench.reference.fixedpoint import round_half_away

INT8_MIN, INT8_MAX = -128, 127
INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1
# the operators with int16x8 kernels (kernels/int16.py, transpose_conv.py, lstm.py), for
# the refusal of any other
INT16_OPERATORS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SOFTMAX",
                   "QUANTIZE", "DEQUANTIZE", "RESHAPE", "TRANSPOSE_CONV",
                   "UNIDIRECTIONAL_SEQUENCE_LSTM")


def activation_range(activation: str, output: Tensor, op: Operator) -> tuple[int, int]:
    """TFLM CalculateActivationRangeQuantized: fused activation -> clamp bounds of the
    output's type (int8, or int16 for the int16x8 kernels)."""
    low, high = (INT16_MIN, INT16_MAX) if output.dtype == np.int16 else (INT8_MIN, INT8_MAX)
    scale = output.scale
    zero_point = output.zero_point

    def quantize(value: float) -> int:
        return zero_point + round_half_away(float(np.float32(value) / scale))

    if activation == "NONE":
        return low, high
    if activation == "RELU":
        return max(low, quantize(0.0)), high
    if activation == "RELU6":
        return max(low, quantize(0.0)), min(high, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(low, quantize(-1.0)), min(high, quantize(1.0))
    raise UnsupportedOperatorError(op.opcode, op.index, f"fused activation {activation}")


def out_size(padding: str, in_size: int, filter_size: int, stride: int, dilation: int) -> int:
    effective = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size + stride - effective) // stride


def padding_before(stride: int, dilation: int, in_size: int, filter_size: int,
                   out: int) -> int:
    """TFLM ComputePadding: the top/left pad; any odd extra pad falls at the bottom/right."""
    effective = (filter_size - 1) * dilation + 1
    pad = ((out - 1) * stride + effective - in_size) // 2
    return max(pad, 0)


def require_int8(graph: Graph, op: Operator, tensors: list[int], role: str) -> None:
    for index in tensors:
        if index < 0:
            continue
        t = graph.tensor(index)
        if t.dtype == np.int16:  # an int16x8 model, through an op without an int16 kernel
            raise ModelError(f"op {op.index} {op.opcode} has {role} tensor {t.name!r} of "
                             f"type int16; hilbench runs int16 activations in "
                             f"{', '.join(INT16_OPERATORS)} only")
        if t.dtype != np.int8:
            raise ModelError(
                f"not an int8 model: op {op.index} {op.opcode} has {role} tensor "
                f"{t.name!r} of type {t.dtype.name}; hilbench runs int8-quantized models "
                f"(float only at QUANTIZE inputs and DEQUANTIZE outputs)")
        if t.quantization is None:
            raise ModelError(f"op {op.index} {op.opcode}: int8 tensor {t.name!r} "
                             f"has no quantization parameters")


def require_type(graph: Graph, op: Operator, tensors: list[int], role: str,
                 dtype: type) -> None:
    """Like require_int8 for the int16x8 kernels: each tensor of `dtype`, quantized."""
    for index in tensors:
        if index < 0:
            continue
        t = graph.tensor(index)
        want = np.dtype(dtype).name
        if t.dtype != dtype:
            raise ModelError(f"op {op.index} {op.opcode} with int16 activations has {role} "
                             f"tensor {t.name!r} of type {t.dtype.name}; TFLM needs {want}")
        if t.quantization is None:
            raise ModelError(f"op {op.index} {op.opcode}: {want} tensor {t.name!r} "
                             f"has no quantization parameters")


def require_per_tensor(t: Tensor, op: Operator) -> None:
    if t.quantization is not None and t.quantization.per_channel:
        raise UnsupportedOperatorError(op.opcode, op.index,
                                       f"per-channel quantized activation {t.name!r}")


def constant(graph: Graph, op: Operator, position: int, what: str) -> np.ndarray:
    if position >= len(op.inputs) or op.inputs[position] < 0:
        raise ModelError(f"op {op.index} {op.opcode} is missing its {what} input")
    t = graph.tensor(op.inputs[position])
    if t.data is None:
        raise UnsupportedOperatorError(op.opcode, op.index, f"non-constant {what} {t.name!r}")
    return t.data


def option(op: Operator, key: str) -> Any:
    try:
        return op.options[key]
    except KeyError:
        raise ModelError(f"op {op.index} {op.opcode} has no options table") from None
