"""The `hilbench` command as users run it: a real subprocess, exit codes, output files,
and one clear line (never a traceback) for every kind of bad input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hilbench.board import load_board
from hilbench.codegen.c_model import generate_model
from hilbench.model.builder import GraphBuilder
from hilbench.model.tflite_writer import write_tflite
from hilbench.reference import Reference
from hilbench.model import load_model
from support import SHARED_MODELS, assert_one_line_error, hilbench

KWS = SHARED_MODELS / "kws_ds_cnn_int8.tflite"


def test_inspect_reports_macs_and_memory():
    result = hilbench("inspect", KWS)
    assert result.returncode == 0, result.stderr
    assert "DEPTHWISE_CONV_2D" in result.stdout
    assert "MACs per inference: 2,656,768" in result.stdout
    # 25x5x64 int8 in and out of one depthwise layer
    assert "activation memory lower bound: 16,000 B" in result.stdout


@pytest.mark.parametrize("board, kernels", [("qemu-mps2-an386", None),
                                             ("qemu-mps2-an386", "ref")])
def test_inspect_plans_memory_as_the_build_does(board, kernels):
    """The patch plan's arena depends on the kernels' scratch: inspect plans with the
    board's variant (dsp on the M4), or --kernels, and shows what the build gets."""
    vww = SHARED_MODELS / "vww_mobilenet_v1_025_int8.tflite"
    result = hilbench("inspect", vww, "--memory", "patch", "--board", board,
                      *(["--kernels", kernels] if kernels else []))
    assert result.returncode == 0, result.stderr
    variant = kernels or load_board(board).build.kernels
    built = generate_model(load_model(vww), vww.read_bytes(), vww.stem, variant, "patch")
    shown = re.search(r"patch ([\d,]+) B", result.stdout)
    assert shown and int(shown.group(1).replace(",", "")) == built.plan.arena_size
    assert f"{board}, {variant} kernels" in result.stdout.replace("\n", "")


def test_inspect_and_run_refuse_a_bad_board_or_memory_mode_in_one_line():
    assert_one_line_error(hilbench("inspect", KWS, "--board", "nope"), "nope")
    assert_one_line_error(hilbench("run", KWS, "--memory", "fit"), "fit")


def test_reference_writes_outputs_and_intermediates(tmp_path):
    x = np.random.default_rng(0).integers(-128, 128, (9, 1, 49, 10, 1), dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    result = hilbench("reference", KWS, "--input", tmp_path / "x.npy", "--output",
                      tmp_path / "y.npy", "--intermediates", tmp_path / "layers")
    assert result.returncode == 0, result.stderr
    y = np.load(tmp_path / "y.npy")
    graph = load_model(KWS)
    expected = Reference(graph).run([x], intermediates=True)
    np.testing.assert_array_equal(y, expected.outputs[0])
    assert y.shape == (9, 1, 12)
    files = sorted(tmp_path.joinpath("layers").glob("*.npy"), key=lambda p: int(p.stem))
    assert [int(p.stem) for p in files] == list(range(len(graph.operators)))
    for i, path in enumerate(files):
        layer = np.load(path)
        assert layer.shape == (9,) + graph.tensor(graph.operators[i].outputs[0]).shape
        np.testing.assert_array_equal(layer, expected.intermediates[i])


def test_reference_accepts_vectors_without_the_unit_batch_axis(tmp_path):
    x = np.zeros((3, 49, 10, 1), np.int8)
    np.save(tmp_path / "x.npy", x)
    result = hilbench("reference", KWS, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "y.npy").shape == (3, 1, 12)


def test_truncated_model(tmp_path):
    bad = tmp_path / "truncated.tflite"
    bad.write_bytes(KWS.read_bytes()[:3000])
    assert_one_line_error(hilbench("reference", bad, "--random", "2"), "truncated.tflite")


def test_random_bytes_model(tmp_path):
    bad = tmp_path / "noise.tflite"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    assert_one_line_error(hilbench("inspect", bad), "not a TFLite flatbuffer")


def test_random_bytes_behind_a_valid_identifier(tmp_path):
    noise = bytearray(np.random.default_rng(1).bytes(5000))
    noise[4:8] = b"TFL3"
    bad = tmp_path / "corrupt.tflite"
    bad.write_bytes(bytes(noise))
    assert_one_line_error(hilbench("inspect", bad), "corrupt.tflite")


def test_missing_model(tmp_path):
    assert_one_line_error(hilbench("inspect", tmp_path / "none.tflite"), "not found")


def _float_model(path: Path) -> Path:
    rng = np.random.default_rng(0)
    b = GraphBuilder()
    x = b.input("x", (1, 4), np.float32)
    w = b.constant("w", rng.standard_normal((3, 4)).astype(np.float32))
    y = b.tensor("y", (1, 3), np.float32)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], activation="NONE", weights_format=0,
         keep_num_dims=False)
    b.output(y)
    write_tflite(b.graph(), path)
    return path


def test_float_model_is_refused(tmp_path):
    model = _float_model(tmp_path / "float.tflite")
    assert_one_line_error(hilbench("reference", model, "--random", "2"),
                          "not an int8 model", "op 0 FULLY_CONNECTED")


def test_unsupported_operator_named_with_index(tmp_path):
    b = GraphBuilder()
    x = b.input("x", (1, 8), scale=0.1, zero_point=0)
    h = b.tensor("h", (1, 8), scale=0.1, zero_point=0)
    b.op("RELU", [x], [h])
    y = b.tensor("y", (1, 8), scale=0.1, zero_point=0)
    b.op("EXP", [h], [y])
    b.output(y)
    model = tmp_path / "exp.tflite"
    write_tflite(b.graph(), model)
    assert_one_line_error(hilbench("reference", model, "--random", "2"),
                          "unsupported operator EXP at op index 1")
    shown = hilbench("inspect", model)  # inspect still shows it, and says why it cannot run
    assert shown.returncode == 0 and "EXP" in shown.stdout and "op index 1" in shown.stdout


@pytest.mark.parametrize("array,fragment", [
    (np.zeros((4, 1, 49, 10), np.int8), "expected (N, 1, 49, 10, 1)"),
    (np.zeros((4, 1, 49, 10, 1), np.float32), "must be int8"),
    (np.zeros((4, 1, 49, 10, 1), np.int16), "must be int8"),
])
def test_wrong_input_shape_or_dtype(tmp_path, array, fragment):
    np.save(tmp_path / "x.npy", array)
    assert_one_line_error(hilbench("reference", KWS, "--input", tmp_path / "x.npy"), fragment)


def test_input_not_npy(tmp_path):
    (tmp_path / "x.npy").write_text("hello")
    assert_one_line_error(hilbench("reference", KWS, "--input", tmp_path / "x.npy"),
                          "not a NumPy .npy array")


def test_pickled_input_is_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert_one_line_error(hilbench("reference", KWS, "--input", tmp_path / "x.npy"),
                          "not a NumPy .npy array")


def test_bad_usage_is_one_line():
    assert_one_line_error(hilbench("reference", KWS), "--input")


def test_every_option_has_help_and_the_top_level_says_what_hilbench_does():
    import argparse

    from hilbench.cli import _build_parser

    parser = _build_parser()
    assert "int8 neural networks on Cortex-M" in parser.format_help()
    missing = []

    def walk(p: argparse.ArgumentParser, path: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)) \
                    and not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(parser, "hilbench")
    assert not missing, f"options without help: {missing}"
