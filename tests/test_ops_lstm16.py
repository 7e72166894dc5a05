"""The int16x8 UNIDIRECTIONAL_SEQUENCE_LSTM (issue #17): TFLM's EvalLstm<int16, int8, int16,
int64> (int16 input, output and hidden state, int8 weights, int64 biases, int16 cell
state). The host reference against TFLM's interpreter on tests/cases_lstm.py's int16 cases
(outputs and intermediates, 200 + 200 vectors, sequences of 1 and 4), the C kernel
hb_lstm_s16 bit-exact on QEMU (Cortex-M4 `ref`, Cortex-M0 default variant), and the bias
types TFLM's int16 path cannot read refused in one line."""

from __future__ import annotations

import numpy as np
import pytest

import cases_lstm
from hilbench.board import load_board
from hilbench.errors import ModelError
from hilbench.model.tflite_writer import write_tflite
from hilbench.reference import Reference
from support import assert_one_line_error, compare_with_tflm, hilbench, roundtrip, run_bit_exact

VECTORS = 200
QEMU_VECTORS = 12


# each case at sequence length 1, and the model the QEMU tests run also with sequences of
# 4, where the int16 hidden state and the cell state carry from one inference to the next
ORACLE_RUNS = {**{case: (case, 1) for case in cases_lstm.LSTM16_CASES},
               "qemu_edge_model": ("edges", 1), "qemu_edge_model_sequences_of_4": ("edges", 4)}


@pytest.mark.oracle
@pytest.mark.parametrize("run", ORACLE_RUNS)
def test_lstm_s16_matches_tflm(run):
    case, steps = ORACLE_RUNS[run]
    graph = (cases_lstm.edge_case_graph_s16() if case == "edges"
             else cases_lstm.lstm_model(**cases_lstm.LSTM16_CASES[case]))
    compare_with_tflm(*roundtrip(graph), VECTORS, sequence_length=steps)


def test_lstm_s16_uses_the_int16_range():
    """The outputs are int16 and spread well beyond int8's range (a reference that kept the
    int8 clamp, or truncated to int8, would fail here before TFLM is asked)."""
    graph = cases_lstm.lstm_model(**cases_lstm.LSTM16_CASES["odd_units_input_wider"])
    x = np.random.default_rng(3).integers(-32768, 32768, (20,) + graph.input_tensors[0].shape,
                                          dtype=np.int16)
    out = Reference(graph).run([x]).outputs[0]
    assert out.dtype == np.int16
    assert out.max() > 1000 and out.min() < -1000


def _with_bias_type(dtype):
    graph = cases_lstm.lstm_model(steps=2, features=3, units=2, **cases_lstm.S16)
    for t in graph.tensors:
        if t.name.endswith("_bias"):
            t.data = t.data.astype(dtype)
            t.dtype = np.dtype(dtype)
    return graph


def test_int32_bias_with_int16_activations_is_refused():
    """TFLM's int16 path reads every bias as int64 whatever its type: refused by name."""
    with pytest.raises(ModelError, match=r"lstm_input_bias.*must be constant int64 \(int16 "
                                         r"LSTM\), got int32"):
        Reference(_with_bias_type(np.int32))


def test_int32_bias_with_int16_activations_is_one_line_at_the_cli(tmp_path):
    path = tmp_path / "lstm16_int32_bias.tflite"
    write_tflite(_with_bias_type(np.int32), path)
    assert_one_line_error(hilbench("reference", path, "--random", 2),
                          "UNIDIRECTIONAL_SEQUENCE_LSTM", "int64")


@pytest.mark.hil
@pytest.mark.parametrize("board, kernels", [("qemu-mps2-an386", "ref"), ("qemu-microbit", None)])
def test_lstm_s16_edge_cases_on_qemu(board, kernels, tmp_path):
    """Sequences of 4 (state carried, reset by the host at each start): four int16x8 LSTMs
    in one firmware (odd units; time-major with a fine clipped cell state; coarse
    saturating cell state behind an int16 QUANTIZE; time-major batch 2), every output
    bit-exact with the reference."""
    path = tmp_path / "lstm16_edges.tflite"
    write_tflite(cases_lstm.edge_case_graph_s16(), path)
    run_bit_exact(path, load_board(board), QEMU_VECTORS, kernels=kernels, sequence_length=4)
