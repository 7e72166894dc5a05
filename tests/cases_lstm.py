"""UNIDIRECTIONAL_SEQUENCE_LSTM edge cases, shared by the reference-vs-TFLM tests and the
QEMU tests (tests/test_ops_lstm.py): tiny generated models as the TFLite converter lays a
Keras/PyTorch LSTM out (24 operands, no peephole, projection or layer norm, the hidden and
cell state as variable tensors), with odd and even unit counts, input size != units,
several time steps, both layouts, batch 2, zero points at the int8 limits, cell state
scales that take each of TFLM's tanh rescaling paths, and cell clipping."""

from __future__ import annotations

from typing import Any

import numpy as np

from hilbench.model import Graph
from hilbench.model.builder import GraphBuilder


def lstm_layer(b: GraphBuilder, rng: np.random.Generator, x: int, name: str, *, steps: int,
               features: int, units: int, batch: int = 1, time_major: bool = False,
               in_q: tuple[float, int] = (0.05, 3), hidden_q: tuple[float, int] = (1 / 128, 0),
               cell_scale: float = 2.0 ** -11, cell_clip: float = 0.0,
               w_scale: float = 0.004, bias_range: int = 4000, dtype: Any = np.int8) -> int:
    """Adds one LSTM reading tensor x; returns its output tensor. dtype int16: TFLM's
    int16x8 LSTM (int16 activations and hidden state, int64 biases)."""
    gates = ("input", "forget", "cell", "output")
    inputs = [x]
    for source, depth in (("input", features), ("recurrent", units)):
        for gate in gates:
            scale = w_scale * rng.uniform(0.5, 2.0)
            inputs.append(b.constant(f"{name}_{source}_to_{gate}",
                                     rng.integers(-127, 128, (units, depth), dtype=np.int8),
                                     scale=scale, zero_point=0))
    inputs += [-1, -1, -1]  # no peephole
    for gate in gates:
        in_to_gate = b.tensors[inputs[1 + gates.index(gate)]]
        bias_scale = np.float32(in_q[0]) * np.float32(in_to_gate.scale)
        inputs.append(b.constant(f"{name}_{gate}_bias",
                                 rng.integers(-bias_range, bias_range + 1, units).astype(
                                     np.int64 if dtype == np.int16 else np.int32),
                                 scale=float(bias_scale), zero_point=0))
    inputs += [-1, -1]  # no projection
    inputs.append(b.variable(f"{name}_hidden_state", (batch, units), dtype,
                             scale=hidden_q[0], zero_point=hidden_q[1]))
    inputs.append(b.variable(f"{name}_cell_state", (batch, units), np.int16,
                             scale=cell_scale, zero_point=0))
    inputs += [-1, -1, -1, -1]  # no layer norm
    shape = (steps, batch, units) if time_major else (batch, steps, units)
    y = b.tensor(f"{name}_out", shape, dtype, scale=hidden_q[0], zero_point=hidden_q[1])
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, [y], cell_activation="TANH",
         cell_clip=float(cell_clip), proj_clip=0.0, time_major=time_major,
         asymmetric_quantize_inputs=False)
    return y


def lstm_model(seed: int = 7, **spec: Any) -> Graph:
    rng = np.random.default_rng(seed)
    steps, features = spec["steps"], spec["features"]
    batch, time_major = spec.get("batch", 1), spec.get("time_major", False)
    in_q = spec.get("in_q", (0.05, 3))
    b = GraphBuilder()
    shape = (steps, batch, features) if time_major else (batch, steps, features)
    x = b.input("x", shape, spec.get("dtype", np.int8), scale=in_q[0], zero_point=in_q[1])
    b.output(lstm_layer(b, rng, x, "lstm", **spec))
    return b.graph()


LSTM_CASES: dict[str, dict[str, Any]] = {
    "odd_units_input_wider": dict(steps=3, features=6, units=5),
    "one_unit_one_step": dict(steps=1, features=2, units=1, w_scale=0.02),
    "even_units_long": dict(steps=8, features=3, units=4, w_scale=0.01, bias_range=20000),
    "zero_points_at_limits": dict(steps=4, features=5, units=7, in_q=(0.03, -128),
                                  hidden_q=(2 / 255, -128)),
    "zp127_fine_cell_clipped": dict(steps=5, features=4, units=3, in_q=(0.08, 127),
                                    hidden_q=(1 / 100, 127), cell_scale=2.0 ** -15,
                                    cell_clip=0.6, w_scale=0.02),
    "coarse_cell_saturating": dict(steps=6, features=4, units=6, cell_scale=2.0 ** -8,
                                   w_scale=0.05, bias_range=30000, cell_clip=3.0),
    "time_major_batch2": dict(steps=3, features=5, units=3, batch=2, time_major=True),
    "batch2": dict(steps=3, features=2, units=5, batch=2, hidden_q=(0.01, -20)),
}


def edge_case_graph() -> Graph:
    """Several LSTMs in one model, for one firmware per board: the edge cases of
    LSTM_CASES that a shared (1, 4, 6) input can reach; a QUANTIZE moves the input zero point
    to 127, RESHAPEs give the time-major layout, with batch 1 and with batch 2."""
    rng = np.random.default_rng(11)
    b = GraphBuilder()
    steps, features = 4, 6
    x = b.input("x", (1, steps, features), scale=0.05, zero_point=3)
    a = lstm_layer(b, rng, x, "odd", steps=steps, features=features, units=5)
    shape = b.constant("tm_shape", np.array([steps, 1, features], np.int32))
    xt = b.tensor("x_time_major", (steps, 1, features), scale=0.05, zero_point=3)
    b.op("RESHAPE", [x, shape], [xt])
    t = lstm_layer(b, rng, xt, "tm", steps=steps, features=features, units=3,
                   time_major=True, hidden_q=(2 / 255, -128), cell_scale=2.0 ** -15,
                   cell_clip=0.6, w_scale=0.02)
    xq = b.tensor("x_zp127", (1, steps, features), scale=0.06, zero_point=127)
    b.op("QUANTIZE", [x], [xq])
    c = lstm_layer(b, rng, xq, "zp", steps=steps, features=features, units=4,
                   in_q=(0.06, 127), hidden_q=(1 / 100, 127), cell_scale=2.0 ** -8,
                   w_scale=0.05, bias_range=30000)
    shape2 = b.constant("tm2_shape", np.array([2, 2, features], np.int32))
    x2 = b.tensor("x_two_steps_two_batches", (2, 2, features), scale=0.05, zero_point=3)
    b.op("RESHAPE", [x, shape2], [x2])
    d = lstm_layer(b, rng, x2, "batch2", steps=2, batch=2, features=features, units=2,
                   time_major=True, hidden_q=(0.01, -20))
    b.output(a, t, c, d)
    return b.graph()


def lstm_classifier(steps: int = 6, features: int = 5, units: int = 8,
                    classes: int = 4) -> Graph:
    """A sequence classifier as deployed: (1, T, F) -> LSTM -> the flattened sequence ->
    FULLY_CONNECTED -> SOFTMAX."""
    rng = np.random.default_rng(21)
    b = GraphBuilder()
    x = b.input("x", (1, steps, features), scale=0.04, zero_point=-2)
    h = lstm_layer(b, rng, x, "lstm", steps=steps, features=features, units=units,
                   in_q=(0.04, -2), hidden_q=(1 / 128, 0), w_scale=0.01)
    shape = b.constant("flat", np.array([1, steps * units], np.int32))
    flat = b.tensor("flat_h", (1, steps * units), scale=1 / 128, zero_point=0)
    b.op("RESHAPE", [h, shape], [flat])
    w = b.constant("fc_w", rng.integers(-127, 128, (classes, steps * units), dtype=np.int8),
                   scale=0.01, zero_point=0)
    bias = b.constant("fc_b", rng.integers(-300, 300, classes).astype(np.int32),
                      scale=float(np.float32(1 / 128) * np.float32(0.01)), zero_point=0)
    logits = b.tensor("logits", (1, classes), scale=0.05, zero_point=-10)
    b.op("FULLY_CONNECTED", [flat, w, bias], [logits], activation="NONE", weights_format=0,
         keep_num_dims=False)
    probs = b.tensor("probs", (1, classes), scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [logits], [probs], beta=1.0)
    b.output(probs)
    return b.graph()


# --- int16x8 (TFLM's EvalLstm<int16, int8, int16, int64>) ---------------------------------
# int16 activations have zero point 0; an input scale of 0.05 / 128 puts a uniform int16
# vector on about +-12.8, a hidden scale of 2^-12 the hidden state's +-1 on +-4096.
S16_IN_Q = (0.05 / 128, 0)
S16_HIDDEN_Q = (2.0 ** -12, 0)
S16 = dict(dtype=np.int16, in_q=S16_IN_Q, hidden_q=S16_HIDDEN_Q, bias_range=2_000_000)

LSTM16_CASES: dict[str, dict[str, Any]] = {
    "odd_units_input_wider": dict(S16, steps=3, features=6, units=5),
    "one_unit_one_step": dict(S16, steps=1, features=2, units=1, w_scale=0.02),
    "fine_hidden_clipped_cell": dict(S16, steps=5, features=4, units=3, hidden_q=(2.0 ** -15, 0),
                                     cell_scale=2.0 ** -15, cell_clip=0.6, w_scale=0.02),
    "coarse_cell_saturating": dict(S16, steps=6, features=4, units=6, cell_scale=2.0 ** -8,
                                   w_scale=0.05, bias_range=40_000_000, cell_clip=3.0),
    "time_major_batch2": dict(S16, steps=3, features=5, units=3, batch=2, time_major=True),
}


def edge_case_graph_s16() -> Graph:
    """The int16x8 edge cases in one model (one firmware per board), as edge_case_graph:
    batch-major odd units; time-major through a RESHAPE with a fine, clipped cell state
    and hidden scale 2^-15; a coarse, saturating cell state behind an int16 QUANTIZE
    (another input scale); time-major batch 2."""
    rng = np.random.default_rng(12)
    b = GraphBuilder()
    steps, features = 4, 6
    s16 = dict(dtype=np.int16, hidden_q=S16_HIDDEN_Q, bias_range=2_000_000)
    x = b.input("x", (1, steps, features), np.int16, scale=S16_IN_Q[0], zero_point=0)
    a = lstm_layer(b, rng, x, "odd", steps=steps, features=features, units=5, in_q=S16_IN_Q,
                   **s16)
    shape = b.constant("tm_shape", np.array([steps, 1, features], np.int32))
    xt = b.tensor("x_time_major", (steps, 1, features), np.int16, scale=S16_IN_Q[0])
    b.op("RESHAPE", [x, shape], [xt])
    t = lstm_layer(b, rng, xt, "tm", steps=steps, features=features, units=3, in_q=S16_IN_Q,
                   time_major=True, cell_scale=2.0 ** -15, cell_clip=0.6, w_scale=0.02,
                   **dict(s16, hidden_q=(2.0 ** -15, 0)))
    coarse_q = (0.2 / 128, 0)
    xq = b.tensor("x_coarse", (1, steps, features), np.int16, scale=coarse_q[0])
    b.op("QUANTIZE", [x], [xq])
    c = lstm_layer(b, rng, xq, "coarse", steps=steps, features=features, units=4,
                   in_q=coarse_q, cell_scale=2.0 ** -8, w_scale=0.05,
                   **dict(s16, bias_range=40_000_000))
    shape2 = b.constant("tm2_shape", np.array([2, 2, features], np.int32))
    x2 = b.tensor("x_two_steps_two_batches", (2, 2, features), np.int16, scale=S16_IN_Q[0])
    b.op("RESHAPE", [x, shape2], [x2])
    d = lstm_layer(b, rng, x2, "batch2", steps=2, batch=2, features=features, units=2,
                   in_q=S16_IN_Q, time_major=True, **s16)
    b.output(a, t, c, d)
    return b.graph()
