"""UNIDIRECTIONAL_SEQUENCE_LSTM (issue #17): the host reference against TFLM's interpreter
on the edge cases of tests/cases_lstm.py (outputs and intermediates, 200 + 200 vectors),
the C kernel hb_lstm_s8 bit-exact on QEMU (Cortex-M4 `ref`, Cortex-M0 default variant),
a sequence classifier end to end, and the LSTM variants TFLM refuses refused in one line."""

from __future__ import annotations

import math

import numpy as np
import pytest

import cases_lstm
from hilbench.board import load_board
from hilbench.errors import ModelError, UnsupportedOperatorError
from hilbench.model.tflite_writer import write_tflite
from hilbench.reference import Reference
from hilbench.reference.kernels.lstm import SIGMOID_TABLE
from support import assert_one_line_error, compare_with_tflm, hilbench, roundtrip, run_bit_exact

VECTORS = 200
QEMU_VECTORS = 12


@pytest.mark.oracle
@pytest.mark.parametrize("case", cases_lstm.LSTM_CASES)
def test_lstm_matches_tflm(case):
    graph, model = roundtrip(cases_lstm.lstm_model(**cases_lstm.LSTM_CASES[case]))
    compare_with_tflm(graph, model, VECTORS)


@pytest.mark.oracle
@pytest.mark.parametrize("steps", [1, 4])
def test_lstm_edge_case_model_and_classifier_match_tflm(steps):
    """The two models the QEMU tests run, checked against TFLM first; with sequences of 4
    the hidden and cell state carry from one inference to the next."""
    for graph in (cases_lstm.edge_case_graph(), cases_lstm.lstm_classifier()):
        compare_with_tflm(*roundtrip(graph), VECTORS, sequence_length=steps)


def test_state_tensors_round_trip_as_variables():
    graph, _ = roundtrip(cases_lstm.lstm_model(steps=2, features=3, units=2,
                                               hidden_q=(0.01, -7)))
    variables = [t for t in graph.tensors if t.is_variable]
    assert [(t.dtype.name, t.reset_value) for t in variables] == [("int8", -7), ("int16", 0)]
    assert not any(t.index in graph.inputs for t in variables)
    assert graph.operators[0].options["cell_activation"] == "TANH"


def test_state_is_reset_for_every_vector():
    """With sequence length 1, a vector's output does not depend on the vectors before it."""
    graph = cases_lstm.lstm_model(**cases_lstm.LSTM_CASES["odd_units_input_wider"])
    x = np.random.default_rng(1).integers(-128, 128, (6,) + graph.input_tensors[0].shape,
                                          dtype=np.int8)
    reference = Reference(graph)
    together = reference.run([x]).outputs[0]
    alone = np.concatenate([reference.run([x[i:i + 1]]).outputs[0] for i in range(6)])
    np.testing.assert_array_equal(together, alone)
    assert len({together[i].tobytes() for i in range(6)}) == 6


def test_sigmoid_table_tracks_the_function():
    """TFLM's table (kept as data) is sigmoid(i / 24) in 0.16 within 1.2 units (it rounds
    up more often than to nearest), and never decreases."""
    exact = np.array([65536 / (1 + math.exp(-i / 24)) for i in range(256)])
    assert SIGMOID_TABLE.shape == (256,) and SIGMOID_TABLE[0] == 32768
    assert np.abs(SIGMOID_TABLE - exact).max() < 1.2
    assert np.all(np.diff(SIGMOID_TABLE) >= 0)


def _lstm_with(**change):
    graph = cases_lstm.lstm_model(steps=2, features=3, units=2)
    op = graph.operators[0]
    for position, tensor in change.pop("inputs", {}).items():
        op.inputs[position] = tensor(graph) if callable(tensor) else tensor
    op.options.update(change)
    return graph


def _extra_weights(graph):
    """A 1-D int8 tensor of `units` values, as a peephole or layer-norm operand."""
    from hilbench.model.graph import Quantization, Tensor
    index = len(graph.tensors)
    graph.tensors.append(Tensor(index, "extra", (2,), np.dtype(np.int8),
                                Quantization(np.array([0.01], np.float32), np.zeros(1, np.int64)),
                                np.ones(2, np.int8)))
    return index


@pytest.mark.parametrize("change, fragment", [
    (dict(inputs={9: _extra_weights}), "peephole"),
    (dict(inputs={16: _extra_weights}), "projection"),
    (dict(inputs={20: _extra_weights}), "layer norm"),
    (dict(inputs={1: -1}), "required input 1 is missing"),
    (dict(cell_activation="RELU"), "cell activation RELU"),
])
def test_lstm_variants_are_refused_by_name(change, fragment):
    with pytest.raises((ModelError, UnsupportedOperatorError), match=fragment):
        Reference(_lstm_with(**change))


@pytest.mark.oracle
@pytest.mark.parametrize("change", [dict(inputs={9: _extra_weights}),
                                    dict(inputs={16: _extra_weights}),
                                    dict(inputs={21: _extra_weights})],
                         ids=["peephole", "projection", "layer-norm"])
def test_tflm_refuses_the_variants_too(change):
    """What hilbench refuses above, TFLM's interpreter refuses in its Prepare."""
    from hilbench.reference.tflm_oracle import TflmOracle
    graph = _lstm_with(**change)
    with pytest.raises(RuntimeError, match="allocate tensors"):
        TflmOracle(write_tflite(graph), graph)


@pytest.mark.oracle
def test_negative_cell_clip_means_no_clipping_as_in_tflm():
    graph, model = roundtrip(_lstm_with(cell_clip=-0.5))
    compare_with_tflm(graph, model, 20)


def test_cell_scale_outside_what_the_int16_tanh_computes_is_refused():
    graph = cases_lstm.lstm_model(steps=2, features=3, units=2, cell_scale=16.0)
    with pytest.raises(ModelError, match=r"2\^4\); TFLM's integer LSTM computes"):
        Reference(graph)


def test_state_must_be_a_variable_tensor():
    graph = cases_lstm.lstm_model(steps=2, features=3, units=2)
    graph.tensor(graph.operators[0].inputs[19]).is_variable = False
    with pytest.raises(ModelError, match="not a variable tensor"):
        Reference(graph)


def test_projection_lstm_is_one_line_at_the_cli(tmp_path):
    path = tmp_path / "projection.tflite"
    write_tflite(_lstm_with(inputs={16: _extra_weights}), path)
    assert_one_line_error(hilbench("reference", path, "--random", 2), "UNIDIRECTIONAL_SEQUENCE_LSTM",
                          "projection")


@pytest.mark.hil
@pytest.mark.parametrize("board, kernels", [("qemu-mps2-an386", "ref"), ("qemu-microbit", None)])
def test_lstm_edge_cases_on_qemu(board, kernels, tmp_path):
    """Sequences of 4 (state carried, reset by the host at each start). Four LSTMs in one
    firmware (odd units, time-major with a fine clipped cell state
    and hidden zero point -128, input and hidden zero point 127 with a coarse cell state,
    time-major batch 2), every output bit-exact with the reference."""
    path = tmp_path / "lstm_edges.tflite"
    write_tflite(cases_lstm.edge_case_graph(), path)
    run_bit_exact(path, load_board(board), QEMU_VECTORS, kernels=kernels, sequence_length=4)


@pytest.mark.hil
def test_lstm_classifier_end_to_end_on_qemu(tmp_path):
    """(1, T, F) -> LSTM -> FULLY_CONNECTED -> SOFTMAX, built here and run as a user runs
    a model: the board's default kernels, bit-exact."""
    path = tmp_path / "lstm_classifier.tflite"
    write_tflite(cases_lstm.lstm_classifier(), path)
    result = run_bit_exact(path, load_board("qemu-mps2-an386"), QEMU_VECTORS)
    assert result.comparison.bit_exact
