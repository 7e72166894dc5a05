"""UNIDIRECTIONAL_SEQUENCE_LSTM, TFLM's integer paths: for int8 models ("8x8->16"), int8
input, weights and hidden state, int32 biases, int16 cell state; for int16x8 models
("16x8->16"), int16 input, output and hidden state, int8 weights, int64 biases, int16 cell
state. One implementation for both, as TFLM's EvalLstm template: only the gate products
differ (int16x8 accumulates in int64 and requantizes with the 64-bit
MultiplyByQuantizedMultiplier) and the hidden state's type bounds its last product.

As TFLM's lstm_eval (the standard Keras/PyTorch LSTM; validate.check_lstm refuses the
variants): every gate is an int8 fully connected product of the input plus one of the
previous hidden state, each requantized to int16 Q3.12, added with saturation, then a
sigmoid (tanh for the cell gate) from a 256-entry table with linear interpolation, giving
Q0.15. The cell state (int16, a power-of-two scale) becomes forget*cell + input*cell_gate,
and the hidden state (int8) tanh(cell)*output. Gate parameters come from the tensors'
scales and the fixed Q3.12 / Q0.15 nonlinearity scales, not from intermediate tensors.

State: the op reads the hidden and cell state variable tensors (data inputs 18 and 19)
and writes them back in place, one row per vector; the executor resets them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hilbench.errors import ModelError, UnsupportedOperatorError
from hilbench.model.graph import Graph, Operator, Tensor
from hilbench.model.validate import (LSTM_BIASES, LSTM_CELL_STATE, LSTM_INPUT,
                                     LSTM_INPUT_WEIGHTS, LSTM_OUTPUT_STATE,
                                     LSTM_RECURRENT_WEIGHTS)
from hilbench.reference import fixedpoint as fp
from hilbench.reference.prepare_common import require_int8, require_per_tensor, require_type

DATA_INPUTS = (LSTM_INPUT, LSTM_OUTPUT_STATE, LSTM_CELL_STATE)
GATES = ("input", "forget", "cell", "output")  # the order of TFLM's operand positions

# The fixed scales TFLM's PrepareGateParametersInteger uses: gate products are requantized
# to Q3.12 (the nonlinearities' input) and the nonlinearities give Q0.15.
NONLINEAR_INPUT_SCALE = np.float32(2.0 ** -12)
NONLINEAR_OUTPUT_SCALE = np.float32(2.0 ** -15)
_INT16_MIN, _INT16_MAX = -(1 << 15), (1 << 15) - 1

# TFLM's sigmoid_table_uint16: sigmoid(i / 24) in 0.16 fixed point, as TFLM's integer
# LOGISTIC and TANH (int16) interpolate it. Numeric data the C runtime receives from here
# (the code generator emits it), so host and target share one copy. It is not exactly
# round(65536 * sigmoid(i / 24)) (44 entries are 1 above), so the values are kept as given;
# tests/test_ops_lstm.py checks them against the function (within 1.2).
SIGMOID_TABLE = np.array([
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535], dtype=np.int64)


@dataclass(frozen=True)
class Requant:
    multiplier: int
    shift: int


@dataclass
class GateParams:
    """One gate: input and recurrent products, each requantized to int16 Q3.12."""
    input_weights: np.ndarray  # int8 (units, features)
    recurrent_weights: np.ndarray  # int8 (units, units)
    bias: np.ndarray  # int32 (int64 for int16x8) (units,), added to the input product only
    input_requant: Requant
    recurrent_requant: Requant


@dataclass
class LstmParams:
    batch: int
    time_steps: int
    features: int
    units: int
    time_major: bool
    input_offset: int  # -input zero point
    hidden_offset: int  # -hidden state zero point (the recurrent products' input)
    hidden_zero_point: int
    gates: dict[str, GateParams]  # by GATES name
    forget_cell: Requant  # forget gate x cell state -> cell state
    input_cell: Requant  # input gate x cell gate -> cell state
    hidden: Requant  # tanh(cell) x output gate -> hidden state (int8)
    cell_scale_power: int  # the cell state's scale is 2^cell_scale_power
    cell_clip: int  # quantized; 0: no clipping
    output_shape: tuple[int, ...]
    wide: bool = False  # int16x8: int16 activations, int64 biases and accumulators

    @property
    def activation_type(self) -> type:
        return np.int16 if self.wide else np.int8


def _requant(real: float) -> Requant:
    return Requant(*fp.quantize_multiplier(real))


def _checked_log2(scale: np.float32) -> int:
    """TFLM CheckedLog2 as CreateLstmCellStateInfo uses it: log2 in float32, rounded half
    away from zero (its 'is a power of two' verdict is not checked there)."""
    log2 = np.float32(np.log(np.float32(scale))) * (np.float32(1.0) / np.float32(np.log(np.float32(2.0))))
    return fp.round_half_away(float(np.float32(log2)))


def _product_requant(x: Tensor, w: Tensor) -> Requant:
    """TFLM GetQuantizedConvolutionMultipler (per-tensor FULLY_CONNECTED): the scales'
    product in float32, divided in double by the Q3.12 output scale."""
    product = float(np.float32(x.scale) * np.float32(w.scale))
    return _requant(product / float(NONLINEAR_INPUT_SCALE))


def prepare_lstm(graph: Graph, op: Operator) -> LstmParams:
    where = f"op {op.index} {op.opcode}"
    operands = graph.op_inputs(op)
    x, hidden, cell = operands[LSTM_INPUT], operands[LSTM_OUTPUT_STATE], operands[LSTM_CELL_STATE]
    y = graph.tensor(op.outputs[0])
    assert x is not None and hidden is not None and cell is not None  # validate.check_lstm
    weights = LSTM_INPUT_WEIGHTS + LSTM_RECURRENT_WEIGHTS
    wide = x.dtype == np.int16  # TFLM dispatches on the input's type
    activations = [op.inputs[LSTM_INPUT], op.inputs[LSTM_OUTPUT_STATE]]
    if wide:
        require_type(graph, op, activations, "input", np.int16)
        require_type(graph, op, op.outputs, "output", np.int16)
        require_type(graph, op, [op.inputs[p] for p in weights], "weights", np.int8)
    else:
        require_int8(graph, op, activations + [op.inputs[p] for p in weights], "input")
        require_int8(graph, op, op.outputs, "output")
    bias_type = np.int64 if wide else np.int32
    for t in (x, hidden, y, *(operands[p] for p in weights)):
        require_per_tensor(t, op)
    for p in weights:
        w = operands[p]
        if w.data is None:
            raise UnsupportedOperatorError(op.opcode, op.index, f"non-constant weights {w.name!r}")
        if w.zero_point != 0:  # TFLM's FULLY_CONNECTED assumes symmetric weights
            raise ModelError(f"{where}: weights {w.name!r} have zero point {w.zero_point}; "
                             f"TFLM requires 0")
    for p in LSTM_BIASES:
        b = operands[p]
        if b.dtype != bias_type or b.data is None:  # TFLM reads them as bias_type regardless
            raise ModelError(f"{where}: bias {b.name!r} must be constant "
                             f"{np.dtype(bias_type).name} ({np.dtype(x.dtype).name} LSTM), "
                             f"got {b.dtype.name}")
    if cell.dtype != np.int16 or cell.quantization is None:
        raise ModelError(f"{where}: cell state {cell.name!r} must be quantized int16 "
                         f"(TFLM's integer LSTM), got {cell.dtype.name}")
    activation = op.options.get("cell_activation")
    if activation != "TANH":
        raise UnsupportedOperatorError(op.opcode, op.index,
                                       f"cell activation {activation} (TFLM runs TANH)")
    time_major = bool(op.options.get("time_major", False))
    batch, steps = (x.shape[1], x.shape[0]) if time_major else (x.shape[0], x.shape[1])
    units = hidden.shape[1]

    gates = {}
    for name, pi, pr, pb in zip(GATES, LSTM_INPUT_WEIGHTS, LSTM_RECURRENT_WEIGHTS, LSTM_BIASES):
        wi, wr = operands[pi], operands[pr]
        gates[name] = GateParams(wi.data, wr.data, operands[pb].data.reshape(units),
                                 _product_requant(x, wi), _product_requant(hidden, wr))

    power = _checked_log2(cell.scale)
    if not -43 <= power <= 2:  # TFLM's int16 tanh would shift or overflow an int32 (UB)
        raise ModelError(f"{where}: cell state {cell.name!r} has scale {float(cell.scale):.3g} "
                         f"(2^{power}); TFLM's integer LSTM computes 2^-43..2^2 only")
    out_scale, cell_scale = float(NONLINEAR_OUTPUT_SCALE), float(cell.scale)
    clip = float(op.options.get("cell_clip", 0.0))
    quantized_clip = 0
    if clip > 0:  # (NaN and negative: no clipping) the int16 cast truncates toward zero
        quantized_clip = int(math.trunc(min(max(clip / cell_scale, -32768.0), 32767.0)))
    return LstmParams(
        batch=batch, time_steps=steps, features=x.shape[2], units=units,
        time_major=time_major, input_offset=-x.zero_point, hidden_offset=-hidden.zero_point,
        hidden_zero_point=hidden.zero_point, gates=gates,
        forget_cell=_requant(out_scale * cell_scale / cell_scale),
        input_cell=_requant(out_scale * out_scale / cell_scale),
        hidden=_requant(out_scale * out_scale / float(hidden.scale)),
        cell_scale_power=power, cell_clip=quantized_clip,
        output_shape=y.shape, wide=wide)


# --- TFLM's int16 primitives, vectorized --------------------------------------------------

def _fc_int16(x: np.ndarray, offset: int, weights: np.ndarray, bias: np.ndarray | None,
              r: Requant, wide: bool) -> np.ndarray:
    """reference_integer_ops::FullyConnected, int8 (int16 when wide) x int8 -> int16 (zero
    point 0). Wide: the accumulator is the int64 bias type, so TFLM picks the 64-bit
    MultiplyByQuantizedMultiplier, even for the bias-free recurrent product."""
    acc = (x.astype(np.int64) + offset) @ weights.astype(np.int64).T
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    if wide:
        out = fp.multiply_by_quantized_multiplier_64(acc, r.multiplier, r.shift)
    else:
        out = fp.multiply_by_quantized_multiplier(acc, r.multiplier, r.shift)
    return np.clip(out, _INT16_MIN, _INT16_MAX)


def _lookup(x: np.ndarray, index_bits: int) -> np.ndarray:
    """|x| split into a table index and an interpolation fraction of index_bits bits:
    table[h] << bits + frac * (table[h+1] - table[h]); None where |x| saturates."""
    magnitude = np.abs(x)
    high = magnitude >> index_bits
    inside = high < 255
    h = np.where(inside, high, 0)
    frac = magnitude & ((1 << index_bits) - 1)
    value = (SIGMOID_TABLE[h] << index_bits) + frac * (SIGMOID_TABLE[h + 1] - SIGMOID_TABLE[h])
    return np.where(inside, value, -1)


def sigmoid_int16(x: np.ndarray) -> np.ndarray:
    """reference_integer_ops::Logistic for int16 Q3.12 in, Q0.15 out (multiplier 3, as TFLM
    sets it for the power-of-two input scale)."""
    v = x.astype(np.int64) * 3
    value = _lookup(v, 9)
    value = np.where(value < 0, 0x7FFF << 10, value)
    value = np.where(v >= 0, value + (1 << 9), (1 << 25) - value + (1 << 9) - 1)
    return (value >> 10).astype(np.int64)


def tanh_int16(x: np.ndarray, scale_power: int) -> np.ndarray:
    """reference_integer_ops::Tanh for int16 with TFLM's LSTM input rescaling (the input
    has scale 2^scale_power)."""
    shift = 15 + scale_power - 3
    if shift >= 0:
        v = x.astype(np.int64) * (3 << shift)
    else:
        v = (x.astype(np.int64) * 3 + (1 << (-shift - 1))) >> -shift
    value = _lookup(v, 8)
    value = np.where(value < 0, 0xFFFF << 8, value)
    value = np.where(v >= 0, value - (1 << 23) + (1 << 7), -value + (1 << 23) + (1 << 7) - 1)
    return value >> 8  # within int16: saturation gives +-32767


def _mul(a: np.ndarray, b: np.ndarray, r: Requant, offset: int, low: int, high: int) -> np.ndarray:
    """reference_integer_ops::MulElementwise on int16 inputs (offsets 0)."""
    out = fp.multiply_by_quantized_multiplier(a.astype(np.int64) * b, r.multiplier, r.shift)
    return np.clip(out + offset, low, high)


def _add_sat16(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.clip(a + b, _INT16_MIN, _INT16_MAX)


def lstm(p: LstmParams, args: list[np.ndarray]) -> np.ndarray:
    """args: input (N,) + input shape, hidden and cell state (N,) + their shapes (written
    in place). Batches are independent sequences, so both layouts run as (N, B, T, F)."""
    x, hidden_state, cell_state = args
    n = x.shape[0]
    x = x.reshape((n,) + ((p.time_steps, p.batch) if p.time_major else (p.batch, p.time_steps))
                  + (p.features,))
    if p.time_major:
        x = x.transpose(0, 2, 1, 3)
    h = hidden_state.reshape(n, p.batch, p.units).astype(np.int64)
    c = cell_state.reshape(n, p.batch, p.units).astype(np.int64)
    out = np.empty((n, p.batch, p.time_steps, p.units), p.activation_type)
    info = np.iinfo(p.activation_type)

    def gate(name: str, x_t: np.ndarray, h_prev: np.ndarray) -> np.ndarray:
        g = p.gates[name]
        from_input = _fc_int16(x_t, p.input_offset, g.input_weights, g.bias, g.input_requant,
                               p.wide)
        from_hidden = _fc_int16(h_prev, p.hidden_offset, g.recurrent_weights, None,
                                g.recurrent_requant, p.wide)
        total = _add_sat16(from_input, from_hidden)
        return tanh_int16(total, -12) if name == "cell" else sigmoid_int16(total)

    for t in range(p.time_steps):
        x_t = x[:, :, t, :]
        forget, input_gate, cell_gate = (gate(k, x_t, h) for k in ("forget", "input", "cell"))
        c = _mul(forget, c, p.forget_cell, 0, _INT16_MIN, _INT16_MAX)
        c = _add_sat16(c, _mul(input_gate, cell_gate, p.input_cell, 0, _INT16_MIN, _INT16_MAX))
        if p.cell_clip > 0:
            c = np.clip(c, -p.cell_clip, p.cell_clip)
        output_gate = gate("output", x_t, h)  # still the previous hidden state
        h = _mul(tanh_int16(c, p.cell_scale_power), output_gate, p.hidden,
                 p.hidden_zero_point, int(info.min), int(info.max))
        out[:, :, t, :] = h
    hidden_state[...] = h.reshape(hidden_state.shape).astype(hidden_state.dtype)
    cell_state[...] = c.reshape(cell_state.shape).astype(cell_state.dtype)
    if p.time_major:
        out = out.transpose(0, 2, 1, 3)
    return np.ascontiguousarray(out).reshape((n,) + p.output_shape)
