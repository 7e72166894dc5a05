"""Stateful operators (tests/cases_state.py): SVDF against TFLM's interpreter with its
state carried over sequences, and its C kernel bit-exact on QEMU (M4 `ref`, M0 default),
with the host resetting the firmware's state at each sequence start."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cases
from cases_state import (SEQUENCE_LENGTH, SVDF_CASES, svdf_edge_model, svdf_int16_model,
                         svdf_kws_model)
from hilbench.codegen.c_model import generate_model
from hilbench.compare.outputs import compare_outputs
from hilbench.errors import ModelError
from hilbench.model.builder import GraphBuilder
from hilbench.model.tflite_writer import write_tflite
from hilbench.reference import Reference
from support import (assert_one_line_error, compare_with_tflm, hilbench, roundtrip,
                     run_bit_exact, vectors)

VECTORS = 200
QEMU_VECTORS = 3 * SEQUENCE_LENGTH


@pytest.mark.oracle
@pytest.mark.parametrize("steps", [1, SEQUENCE_LENGTH])
@pytest.mark.parametrize("build", [svdf_edge_model, svdf_kws_model, svdf_int16_model])
def test_svdf_against_tflm(build, steps):
    graph, model = roundtrip(build())
    assert [t.is_variable for t in graph.tensors].count(True) >= 1  # survived the file
    compare_with_tflm(graph, model, VECTORS, sequence_length=steps)


def test_sequences_carry_state_and_reset_it():
    """Within a sequence the outputs depend on the earlier steps; a sequence's first step
    equals a lone vector's, and a chunk boundary inside the run changes nothing."""
    graph = svdf_edge_model()
    reference = Reference(graph)
    x = vectors(graph.input_tensors[0], 4 * SEQUENCE_LENGTH, np.random.default_rng(2), "uniform")
    alone = reference.run([x]).outputs
    carried = reference.run([x], sequence_length=SEQUENCE_LENGTH).outputs
    chunked = reference.run([x], sequence_length=SEQUENCE_LENGTH,
                            chunk=SEQUENCE_LENGTH).outputs
    starts = np.arange(0, len(x), SEQUENCE_LENGTH)
    for a, c, k in zip(alone, carried, chunked):
        np.testing.assert_array_equal(a[starts], c[starts])
        np.testing.assert_array_equal(c, k)
    later = np.setdiff1d(np.arange(len(x)), starts)
    assert any((a[later] != c[later]).any() for a, c in zip(alone, carried))


@pytest.mark.hil
@pytest.mark.parametrize("board, kernels", [("qemu-mps2-an386", "ref"),
                                            ("qemu-microbit", None)])
def test_svdf_edge_cases_on_qemu(board, kernels, tmp_path):
    path = tmp_path / "svdf_edge.tflite"
    write_tflite(svdf_edge_model(), path)
    result = run_bit_exact(path, board, QEMU_VECTORS, kernels=kernels,
                           sequence_length=SEQUENCE_LENGTH)
    assert result.request.sequence_length == SEQUENCE_LENGTH


@pytest.mark.hil
def test_svdf_keyword_model_end_to_end_with_sequences(tmp_path):
    """The KWS-shaped SVDF model through the CLI on the M4 with its default kernels:
    sequences of 5, state reset by the host at each start, recorded in the JSON."""
    path = tmp_path / "svdf_kws.tflite"
    write_tflite(svdf_kws_model(), path)
    result = hilbench("run", path, "--vectors", 2 * SEQUENCE_LENGTH, "--sequence-length",
                      SEQUENCE_LENGTH, "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["bit_exact"] is True and record["vectors"] == 2 * SEQUENCE_LENGTH
    assert record["sequence_length"] == SEQUENCE_LENGTH
    assert "sequences" in result.stdout


@pytest.mark.hil
@pytest.mark.parametrize("board", ["qemu-mps2-an386", "qemu-microbit"])
def test_svdf_model_with_int16_activations_end_to_end(board, tmp_path):
    """The SVDF model behind an int16x8 front end (float input quantized to int16 by the
    model), in sequences, with each board's default kernels."""
    graph = svdf_int16_model()
    assert {t.dtype.name for t in graph.tensors if not t.is_constant} >= {"int16", "int8"}
    path = tmp_path / "svdf_int16.tflite"
    write_tflite(graph, path)
    result = run_bit_exact(path, board, QEMU_VECTORS, sequence_length=SEQUENCE_LENGTH)
    assert result.request.sequence_length == SEQUENCE_LENGTH


@pytest.mark.parametrize("args, fragment", [
    (("--vectors", 7, "--sequence-length", 3), "not a multiple of --sequence-length 3"),
    (("--sequence-length", 0), "--sequence-length must be a positive integer"),
])
def test_bad_sequence_length_is_one_line(args, fragment, tmp_path):
    path = tmp_path / "svdf_kws.tflite"
    write_tflite(svdf_kws_model(), path)
    assert_one_line_error(hilbench("run", path, *args), fragment)


def test_reference_command_takes_sequences(tmp_path):
    path = tmp_path / "svdf_kws.tflite"
    graph = svdf_kws_model()
    write_tflite(graph, path)
    x = vectors(graph.input_tensors[0], 6, np.random.default_rng(4), "uniform")
    np.save(tmp_path / "x.npy", x)
    for steps in (1, 3):
        out = tmp_path / f"y{steps}.npy"
        result = hilbench("reference", path, "--input", tmp_path / "x.npy", "--output", out,
                          "--sequence-length", steps)
        assert result.returncode == 0, result.stderr
        expected = Reference(graph).run([x], sequence_length=steps).outputs[0]
        np.testing.assert_array_equal(np.load(out), expected)
    assert_one_line_error(hilbench("reference", path, "--input", tmp_path / "x.npy",
                                   "--sequence-length", 4), "do not form sequences of 4")


def test_state_lives_outside_the_arena_and_stateless_models_have_none():
    graph = svdf_edge_model()
    generated = generate_model(graph, b"model")
    variables = [t.index for t in graph.tensors if t.is_variable]
    assert len(variables) == len(SVDF_CASES) + 1
    assert not set(variables) & set(generated.plan.buffers)  # never planned over
    assert generated.state_bytes >= sum(graph.tensor(i).nbytes for i in variables)
    assert "void hb_model_reset_state(void)" in generated.source
    plain = generate_model(cases.fc_model(np.random.default_rng(3)), b"model")
    assert plain.state_bytes == 0
    assert "hb_state" not in plain.source and "reset_state" not in plain.source


@pytest.mark.parametrize("change, fragment", [
    (lambda b, v: b.graph().tensors[v].__setattr__("data", np.zeros((1, 8), np.int16)),
     "has constant data"),
    (lambda b, v: b.inputs.append(v), "is a graph input"),
])
def test_variable_tensors_the_runtime_cannot_own_are_refused(change, fragment):
    b = GraphBuilder()
    x = b.input("x", (1, 8), scale=0.1, zero_point=0)
    v = b.variable("v", (1, 8), np.int8, scale=0.1, zero_point=0)
    y = b.tensor("y", (1, 8), scale=0.2, zero_point=0)
    b.op("ADD", [x, v], [y], activation="NONE")
    b.output(y)
    change(b, v)
    with pytest.raises(ModelError, match=fragment):
        Reference(b.graph())


def test_a_mismatch_names_its_sequence_and_step():
    expected = np.zeros((12, 3), np.int8)
    actual = expected.copy()
    actual[7, 2] = 1
    first = compare_outputs(expected, actual, 4).first
    assert (first.vector, first.sequence, first.step) == (7, 1, 3)
    assert compare_outputs(expected, actual).first.sequence == 7
