"""Stateful operators' models, shared by the reference-vs-TFLM tests and the QEMU tests
(tests/test_ops_state.py): SVDF edge cases in one model, and a small keyword-spotting
shaped model (FULLY_CONNECTED -> SVDF -> FULLY_CONNECTED -> SOFTMAX) whose builder other
stages can extend (`svdf_stack`)."""

from __future__ import annotations

import numpy as np

from hilbench.model import Graph
from hilbench.model.builder import GraphBuilder

SEQUENCE_LENGTH = 5  # steps per sequence in the tests: the state carries over 4 of them

# SVDF branches of one model, all reading the same input: the edge cases of the kernel.
# memory 1 (no history), rank 2 (filters summed per unit), a feature scale that saturates
# the int16 state, output zero points at the int8 limits, a batch of 2 (state per row).
SVDF_CASES = {
    "rank1_memory4": dict(units=5, rank=1, memory=4, state_scale=0.004, out_q=(0.05, 3)),
    "rank2_memory8": dict(units=3, rank=2, memory=8, state_scale=0.002, out_q=(0.08, -20)),
    "memory1": dict(units=4, rank=1, memory=1, state_scale=0.003, out_q=(0.03, 127)),
    "saturating_state": dict(units=3, rank=1, memory=3, state_scale=2e-6,
                             out_q=(3e-4, -128), time_range=200),
}


def _svdf(b: GraphBuilder, rng: np.random.Generator, x: int, name: str, batch: int,
          input_size: int, in_scale: float, units: int, rank: int, memory: int,
          state_scale: float, out_q: tuple[float, int], feature_scale: float = 0.004,
          time_scale: float = 0.0005, time_range: int = 1500) -> int:
    """One SVDF layer reading tensor x (batch, input_size); returns its output tensor."""
    filters = units * rank
    wf = b.constant(f"{name}_wf", rng.integers(-127, 128, (filters, input_size), dtype=np.int8),
                    scale=feature_scale, zero_point=0)
    wt = b.constant(f"{name}_wt", rng.integers(-time_range, time_range + 1, (filters, memory))
                    .astype(np.int16), scale=time_scale, zero_point=0)
    bias_scale = np.float32(state_scale) * np.float32(time_scale)
    bias = b.constant(f"{name}_bias", rng.integers(-20000, 20000, units).astype(np.int32),
                      scale=bias_scale, zero_point=0)
    state = b.variable(f"{name}_state", (batch, memory * filters), np.int16,
                       scale=state_scale, zero_point=0)
    y = b.tensor(name, (batch, units), scale=out_q[0], zero_point=out_q[1])
    b.op("SVDF", [x, wf, wt, bias, state], [y], rank=rank, activation="NONE",
         asymmetric_quantize_inputs=False)
    return y


def svdf_edge_model(seed: int = 11, batch: int = 2, input_size: int = 12,
                    in_q: tuple[float, int] = (0.05, -7)) -> Graph:
    """Every SVDF_CASES branch on one shared input, each branch a model output; and an
    int8 variable tensor that no op writes, read by an ADD: it must read its reset value,
    which for int8 is the zero point (TFLM's ResetVariableTensors), on every step."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("SVDF edge cases")
    x = b.input("x", (batch, input_size), scale=in_q[0], zero_point=in_q[1])
    outputs = [_svdf(b, rng, x, name, batch, input_size, in_q[0], **case)
               for name, case in SVDF_CASES.items()]
    unwritten = b.variable("int8_state", (batch, input_size), np.int8, scale=0.07,
                           zero_point=9)
    total = b.tensor("x_plus_reset_value", (batch, input_size), scale=0.1, zero_point=-2)
    b.op("ADD", [x, unwritten], [total], activation="NONE")
    b.output(*outputs, total)
    return b.graph()


def svdf_stack(b: GraphBuilder, rng: np.random.Generator, x: int, in_q: tuple[float, int],
               features: int, hidden: int = 16, memory: int = 6, rank: int = 2,
               classes: int = 4) -> int:
    """FULLY_CONNECTED -> SVDF -> FULLY_CONNECTED -> SOFTMAX after tensor x (1, features):
    the layer order of TFLM's SVDF keyword models, small. Returns the softmax output."""
    h_q = (0.06, -5)
    w1 = b.constant("fc1_w", rng.integers(-127, 128, (hidden, features), dtype=np.int8),
                    scale=0.01, zero_point=0)
    b1 = b.constant("fc1_b", rng.integers(-800, 800, hidden).astype(np.int32),
                    scale=np.float32(in_q[0]) * np.float32(0.01), zero_point=0)
    h = b.tensor("fc1", (1, hidden), scale=h_q[0], zero_point=h_q[1])
    b.op("FULLY_CONNECTED", [x, w1, b1], [h], activation="RELU", weights_format=0,
         keep_num_dims=False)
    s_q = (0.05, 2)
    s = _svdf(b, rng, h, "svdf", 1, hidden, h_q[0], units=hidden // rank, rank=rank,
              memory=memory, state_scale=0.002, out_q=s_q)
    w2 = b.constant("fc2_w", rng.integers(-127, 128, (classes, hidden // rank), dtype=np.int8),
                    scale=0.02, zero_point=0)
    b2 = b.constant("fc2_b", rng.integers(-500, 500, classes).astype(np.int32),
                    scale=np.float32(s_q[0]) * np.float32(0.02), zero_point=0)
    logits = b.tensor("logits", (1, classes), scale=0.1, zero_point=10)
    b.op("FULLY_CONNECTED", [s, w2, b2], [logits], activation="NONE", weights_format=0,
         keep_num_dims=False)
    y = b.tensor("probabilities", (1, classes), scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [logits], [y], beta=1.0)
    return y


def svdf_kws_model(seed: int = 12, features: int = 20) -> Graph:
    """input -> FULLY_CONNECTED -> SVDF -> FULLY_CONNECTED -> SOFTMAX."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("SVDF keyword-spotting shape")
    in_q = (0.04, 3)
    x = b.input("features", (1, features), scale=in_q[0], zero_point=in_q[1])
    b.output(svdf_stack(b, rng, x, in_q, features))
    return b.graph()


def svdf_int16_model(seed: int = 13, features: int = 16) -> Graph:
    """SVDF behind int16 activations: float input -> QUANTIZE to int16 -> FULLY_CONNECTED
    int16x8 (int64 bias, RELU) -> QUANTIZE to int8 -> FULLY_CONNECTED -> SVDF ->
    FULLY_CONNECTED -> SOFTMAX, the front end of a keyword model run at int16 precision."""
    from cases_int16 import _fc  # the int16x8 dense layer of the int16 edge cases

    rng = np.random.default_rng(seed)
    b = GraphBuilder("SVDF with int16 activations")
    f = b.input("features", (1, features), np.float32)
    x16 = b.tensor("features_int16", (1, features), np.int16, scale=0.0005, zero_point=0)
    b.op("QUANTIZE", [f], [x16])
    h16 = _fc(b, rng, x16, "dense_int16", features, activation="RELU", out_scale=0.0008)
    in_q = (0.03, -128)
    h8 = b.tensor("dense_int8", (1, features), scale=in_q[0], zero_point=in_q[1])
    b.op("QUANTIZE", [h16], [h8])
    b.output(svdf_stack(b, rng, h8, in_q, features))
    return b.graph()
