"""SVDF as TFLM's integer kernel defines it: int8 input and feature weights, int16 time
weights and int16 state (a variable tensor), int32 bias, int8 output.

Each invocation shifts every filter's memory one step left, writes the filter's new
feature activation (requantized to the state's scale) into the freed last slot, then
takes each filter's dot product with its time weights over the whole memory, sums the
`rank` filters of each unit, adds the bias and requantizes to the output. The fused
activation is not applied on this path (TFLM's integer SVDF ignores it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError, UnsupportedOperatorError
from hilbench.model.graph import Graph, Operator
from hilbench.reference.fixedpoint import (multiply_by_quantized_multiplier,
                                           quantize_multiplier, wrap32)
from hilbench.reference.prepare_common import (constant, option, require_int8,
                                               require_per_tensor)

INPUT, WEIGHTS_FEATURE, WEIGHTS_TIME, BIAS, STATE = range(5)
_INT16_MIN, _INT16_MAX = -(1 << 15), (1 << 15) - 1


@dataclass
class SvdfParams:
    weights_feature: np.ndarray  # int8 (filters, input_size)
    weights_time: np.ndarray  # int16 (filters, memory)
    bias: np.ndarray  # int32 (units,)
    rank: int
    batch: int
    input_size: int
    filters: int
    memory: int
    units: int
    input_zero_point: int
    state_zero_point: int
    output_zero_point: int
    feature_multiplier: int  # input x feature weights -> state scale
    feature_shift: int
    output_multiplier: int  # state x time weights -> output scale
    output_shift: int


def prepare_svdf(graph: Graph, op: Operator) -> SvdfParams:
    """TFLM's PrepareSvdf for an int8 input: shapes, types, the bias scale check and the two
    effective scales (computed in float32 as TFLM does, then made fixed point)."""
    where = f"op {op.index} SVDF"
    require_int8(graph, op, [op.inputs[INPUT], op.inputs[WEIGHTS_FEATURE]], "input")
    require_int8(graph, op, op.outputs, "output")
    if len(op.inputs) != 5 or op.inputs[BIAS] < 0:
        # TFLM reads the bias's scale unconditionally: a model without one does not run
        raise ModelError(f"{where} needs its bias input (5 inputs)")
    x, wf, wt, bias_t, state = (graph.tensor(i) for i in op.inputs)
    y = graph.tensor(op.outputs[0])
    for t in (x, y):
        require_per_tensor(t, op)
    rank = option(op, "rank")
    if len(x.shape) != 2 or len(y.shape) != 2:
        raise ModelError(f"{where}: input and output must be 2-D, got {list(x.shape)} and "
                         f"{list(y.shape)}")
    batch, input_size = x.shape
    weights_feature = constant(graph, op, WEIGHTS_FEATURE, "feature weights")
    weights_time = constant(graph, op, WEIGHTS_TIME, "time weights")
    bias = constant(graph, op, BIAS, "bias")
    if weights_feature.ndim != 2 or weights_feature.shape[1] != input_size:
        raise ModelError(f"{where}: feature weights {list(weights_feature.shape)} do not take "
                         f"an input of {input_size}")
    filters = weights_feature.shape[0]
    if not isinstance(rank, int) or rank < 1 or filters % rank:
        raise ModelError(f"{where}: rank {rank!r} does not divide {filters} filters")
    units = filters // rank
    if weights_time.ndim != 2 or weights_time.shape[0] != filters:
        raise ModelError(f"{where}: time weights {list(weights_time.shape)} need "
                         f"{filters} rows")
    memory = weights_time.shape[1]
    if y.shape != (batch, units):
        raise ModelError(f"{where}: output {list(y.shape)}, expected [{batch}, {units}]")
    if bias.shape != (units,) or bias_t.dtype != np.int32:
        raise ModelError(f"{where}: bias must be int32 of {units} values")
    if not state.is_variable:
        raise ModelError(f"{where}: state tensor {state.name!r} is not a variable tensor")
    if state.shape != (batch, memory * filters):
        raise ModelError(f"{where}: state {list(state.shape)}, expected "
                         f"[{batch}, {memory * filters}]")
    if wt.dtype != np.int16 or state.dtype != np.int16:
        raise UnsupportedOperatorError(op.opcode, op.index,
                                       f"time weights {wt.dtype.name} and state "
                                       f"{state.dtype.name} (hilbench runs int16 ones)")
    for t in (wf, wt, bias_t, state):
        if t.quantization is None:
            raise ModelError(f"{where}: tensor {t.name!r} has no quantization parameters")
    # TFLM multiplies and divides the float32 scales, then widens to double
    s_in, s_wf, s_wt = (np.float32(t.quantization.scale[0]) for t in (x, wf, wt))
    s_state, s_out = np.float32(state.quantization.scale[0]), np.float32(y.scale)
    s_bias = float(bias_t.quantization.scale[0])
    if not abs(s_bias - float(np.float32(s_state * s_wt))) < 1e-5:
        raise ModelError(f"{where}: bias scale {s_bias:.6g} is not state x time weights "
                         f"scale {float(s_state * s_wt):.6g}")
    feature = float(np.float32(s_in * s_wf) / s_state)
    output = float(np.float32(s_state * s_wt) / s_out)
    feature_multiplier, feature_shift = quantize_multiplier(feature)
    output_multiplier, output_shift = quantize_multiplier(output)
    return SvdfParams(
        weights_feature=weights_feature, weights_time=weights_time, bias=bias, rank=rank,
        batch=batch, input_size=input_size, filters=filters, memory=memory, units=units,
        input_zero_point=x.zero_point, state_zero_point=state.zero_point,
        output_zero_point=y.zero_point, feature_multiplier=feature_multiplier,
        feature_shift=feature_shift, output_multiplier=output_multiplier,
        output_shift=output_shift)


def svdf(p: SvdfParams, args: list[np.ndarray]) -> np.ndarray:
    """args: the input (N, batch, input_size) and the state (N, batch, memory * filters),
    which is updated in place. Sums are exact in int64 and wrapped to int32 where TFLM's
    int32 accumulators would wrap."""
    x, state = args
    n = x.shape[0]
    rows = state.reshape(n, p.batch, p.filters, p.memory)
    # the memory moves one step left; its last slot takes the new feature activation
    rows[..., :-1] = rows[..., 1:].copy()
    centred = x.astype(np.int64) - p.input_zero_point
    dot = wrap32(np.einsum("nbi,fi->nbf", centred, p.weights_feature.astype(np.int64)))
    feature = multiply_by_quantized_multiplier(dot, p.feature_multiplier, p.feature_shift)
    rows[..., -1] = np.clip(feature + p.state_zero_point, _INT16_MIN, _INT16_MAX)
    history = rows.astype(np.int64) - p.state_zero_point
    per_filter = wrap32(np.einsum("nbfm,fm->nbf", history, p.weights_time.astype(np.int64)))
    per_unit = per_filter.reshape(n, p.batch, p.units, p.rank).sum(axis=-1)
    acc = wrap32(per_unit + p.bias.astype(np.int64))
    out = multiply_by_quantized_multiplier(acc, p.output_multiplier, p.output_shift)
    return np.clip(out + p.output_zero_point, -128, 127).astype(np.int8)
