"""The user's own data on the chip: recorded inputs and labels, metrics beside
bit-exactness, saved failures that replay, models with several inputs and outputs, and the
first layer where the chip diverges (issue I)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from hilbench.board import load_board
from hilbench.compare.metrics import output_metrics
from hilbench.errors import InputError
from hilbench.model import load_model
from hilbench.model.builder import GraphBuilder
from hilbench.model.tflite_writer import write_tflite
from hilbench.paths import FIRMWARE_DIR, REPO
from hilbench.reference import Reference
from hilbench.run import RunRequest, run
from hilbench.run.data import load_data
from support import SHARED_MODELS, assert_one_line_error, hilbench

KWS = SHARED_MODELS / "kws_ds_cnn_int8.tflite"
HELLO = SHARED_MODELS / "tflm_hello_world_int8.tflite"
TOUCH = REPO / "examples" / "touch_classifier" / "touch_mlp_int8.tflite"
BOARD = load_board("qemu-mps2-an386")


@pytest.fixture
def plus_one_pool(tmp_path):
    """A user's kernel variant, outside the tree: AVERAGE_POOL_2D one LSB high, which in
    KWS is layer 9 of 13."""
    variant = tmp_path / "variants" / "plus1"
    variant.mkdir(parents=True)
    source = (FIRMWARE_DIR / "kernels" / "ref" / "avg_pool2d.c").read_text()
    planted = source.replace("hb_clamp(acc, p->act_min", "hb_clamp(acc + 1, p->act_min")
    assert planted != source
    (variant / "avg_pool2d.c").write_text(planted.replace('"../hb_fixedpoint.h"',
                                                          '"hb_fixedpoint.h"'))
    return {"HILBENCH_KERNEL_PATH": str(tmp_path / "variants")}


@pytest.mark.hil
def test_first_diverging_layer_is_named_and_failures_replay(plus_one_pool, tmp_path):
    failures = tmp_path / "failures"
    result = hilbench("run", KWS, "--kernels", "plus1", "--vectors", 4, "--json",
                      tmp_path / "r.json", "--save-failures", failures, env=plus_one_pool)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "first divergence" in result.stdout and "layer 9 AVERAGE_POOL_2D" in result.stdout
    record = json.loads((tmp_path / "r.json").read_text())
    divergence = record["first_divergence"]
    assert (divergence["layer"], divergence["op"]) == (9, "AVERAGE_POOL_2D")
    assert divergence["output_shape"] == [1, 1, 1, 64] and divergence["max_abs_diff"] == 1
    assert divergence["differing_values"] > 0 and divergence["vector"] == 0
    assert record["failures_saved"] == str(failures)
    saved = np.load(failures / "inputs.npy")
    assert saved.shape[0] == record["mismatching_vectors"] > 0

    replay = hilbench("run", KWS, "--kernels", "plus1", "--data", failures / "inputs.npy",
                      "--json", tmp_path / "replay.json", env=plus_one_pool)
    assert replay.returncode == 1, replay.stdout + replay.stderr
    again = json.loads((tmp_path / "replay.json").read_text())
    assert again["vectors"] == saved.shape[0] and again["mismatches"] == record["mismatches"]
    target = np.load(failures / "target.npy")
    reference = np.load(failures / "reference.npy")
    assert np.count_nonzero(target != reference) == record["mismatches"]
    assert again["first_divergence"]["layer"] == 9


@pytest.mark.hil
def test_per_layer_mode_on_a_bit_exact_run_keeps_exact_counts():
    plain = run(RunRequest(HELLO, BOARD, 3, seed=1))
    layered = run(RunRequest(HELLO, BOARD, 3, seed=1, per_layer=True))
    assert layered.comparison.bit_exact and layered.first_divergence is None
    assert layered.timing.instructions == plain.timing.instructions


@pytest.mark.hil
def test_labelled_data_accuracy_on_target_equals_the_reference(tmp_path):
    sys.path.insert(0, str(TOUCH.parent))
    from make_model import synthetic_touches

    x, labels = synthetic_touches(40, np.random.default_rng(7))
    np.save(tmp_path / "touches.npy", x)  # float: quantized with the input's scale
    np.save(tmp_path / "labels.npy", labels)
    result = run(RunRequest(TOUCH, BOARD, data=(tmp_path / "touches.npy",),
                            labels=tmp_path / "labels.npy"))
    assert result.vectors == 40 and result.comparison.bit_exact
    metrics = result.metrics[0]
    assert metrics.accuracy == metrics.reference_accuracy > 0.5
    assert metrics.l2r == 0 and metrics.cosine == 1 and metrics.top1_agreement == 1
    graph = load_model(TOUCH)  # the same accuracy from the reference alone
    scores = Reference(graph).run(load_data(graph, [tmp_path / "touches.npy"]).inputs)
    assert np.mean(scores.outputs[0].reshape(40, -1).argmax(1) == labels) == metrics.accuracy


def _two_in_two_out(path):
    """a, b -> ADD -> y (then RELU), and MUL(a, b) -> z: two inputs, two outputs."""
    b = GraphBuilder()
    a_in = b.input("a", (1, 5, 3), scale=0.05, zero_point=-3)
    b_in = b.input("b", (1, 5, 3), scale=0.04, zero_point=7)
    s = b.tensor("s", (1, 5, 3), scale=0.07, zero_point=2)
    b.op("ADD", [a_in, b_in], [s], activation="NONE")
    y = b.tensor("y", (1, 5, 3), scale=0.07, zero_point=2)
    b.op("RELU", [s], [y])
    z = b.tensor("z", (1, 5, 3), scale=0.01, zero_point=-5)
    b.op("MUL", [a_in, b_in], [z], activation="NONE")
    b.output(y)
    b.output(z)
    write_tflite(b.graph(), path)
    return path


@pytest.mark.hil
def test_two_inputs_two_outputs_from_npz(tmp_path):
    model = _two_in_two_out(tmp_path / "two.tflite")
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "data.npz", a=rng.integers(-128, 128, (9, 1, 5, 3), dtype=np.int8),
             b=rng.integers(-128, 128, (9, 5, 3), dtype=np.int8))  # (N, 5, 3) works too
    result = hilbench("run", model, "--data", tmp_path / "data.npz", "--per-layer",
                      "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["bit_exact"] and record["vectors"] == 9 and len(record["metrics"]) == 2
    assert record["first_divergence"] is None
    random = run(RunRequest(model, BOARD, 6, seed=2))  # and generated vectors, both inputs
    assert random.comparison.bit_exact and random.comparison.values == 6 * 2 * 15


@pytest.mark.hil
def test_simple_add_two_inputs(tmp_path):
    """TFLM's simple_add: two inputs added, one output."""
    b = GraphBuilder()
    x = b.input("x", (1, 16), scale=0.1, zero_point=0)
    y = b.input("y", (1, 16), scale=0.1, zero_point=0)
    out = b.tensor("sum", (1, 16), scale=0.2, zero_point=0)
    b.op("ADD", [x, y], [out], activation="NONE")
    b.output(out)
    write_tflite(b.graph(), tmp_path / "simple_add.tflite")
    rng = np.random.default_rng(5)
    np.save(tmp_path / "x.npy", rng.uniform(-12, 12, (5, 16)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.integers(-128, 128, (5, 1, 16), dtype=np.int8))
    result = run(RunRequest(tmp_path / "simple_add.tflite", BOARD,
                            data=(tmp_path / "x.npy", tmp_path / "y.npy")))
    assert result.comparison.bit_exact and result.vectors == 5


def test_metrics_match_an_independent_computation():
    graph = load_model(TOUCH)
    tensor = graph.output_tensors[0]
    rng = np.random.default_rng(11)
    expected = rng.integers(-100, 100, (30, 1, 4), dtype=np.int8)
    actual = expected.copy()
    actual[3, 0, 1] += 5  # a planted non-bit-exact output
    actual[17, 0, expected[17, 0].argmin()] = 127  # and this one moves vector 17's class
    labels = rng.integers(0, 4, 30)
    m = output_metrics(expected, actual, tensor, labels)
    e = expected.astype(np.float64).reshape(30, 4) * float(tensor.scale)
    a = actual.astype(np.float64).reshape(30, 4) * float(tensor.scale)
    assert m.l2r == pytest.approx(np.sqrt(((a - e) ** 2).sum() / (e ** 2).sum()))
    assert m.mae == pytest.approx(np.abs(a - e).mean())
    assert m.rmse == pytest.approx(np.sqrt(((a - e) ** 2).mean()))
    assert m.cosine == pytest.approx((a * e).sum() / np.sqrt((a * a).sum() * (e * e).sum()))
    assert m.top1_agreement == pytest.approx(np.mean(a.argmax(1) == e.argmax(1)))
    assert m.accuracy == pytest.approx(np.mean(a.argmax(1) == labels))
    assert m.reference_accuracy == pytest.approx(np.mean(e.argmax(1) == labels))
    assert m.top1_agreement < 1  # the planted change moved a class


@pytest.mark.parametrize("make,fragment", [
    (lambda d: np.save(d / "x.npy", np.zeros((3, 7), np.int8)), "shape (3, 7) does not fit"),
    (lambda d: np.save(d / "x.npy", np.zeros((3, 8), np.int32)), "dtype int32 for int8 input"),
    (lambda d: np.save(d / "x.npy", np.full((3, 8), np.nan, np.float32)), "NaN"),
    (lambda d: (d / "x.npy").write_text("not numpy"), "is not a NumPy .npy array"),
])
def test_bad_data_is_one_line_naming_the_file(tmp_path, make, fragment):
    make(tmp_path)
    result = hilbench("run", TOUCH, "--data", tmp_path / "x.npy")
    assert_one_line_error(result, fragment)
    assert "x.npy" in result.stderr


def test_bad_labels_and_npz_keys_are_named(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 8), np.float32))
    np.save(tmp_path / "labels.npy", np.zeros(4, np.int64))
    result = hilbench("run", TOUCH, "--data", tmp_path / "x.npy", "--labels",
                      tmp_path / "labels.npy")
    assert_one_line_error(result, "labels.npy holds 4 labels for 3 vectors")
    np.savez(tmp_path / "d.npz", wrong=np.zeros((3, 8), np.int8))
    with pytest.raises(InputError, match="d.npz has no array for input 'electrodes'"):
        load_data(load_model(TOUCH), [tmp_path / "d.npz"])
    with pytest.raises(InputError, match="the model has 1 inputs"):
        load_data(load_model(TOUCH), [tmp_path / "x.npy", tmp_path / "x.npy"])


def test_float_data_is_quantized_as_tflm_does(tmp_path):
    graph = load_model(TOUCH)
    scale = float(graph.input_tensors[0].scale)
    halves = np.array([[0.5, 1.5, -0.5, -1.5, 2.5, 127.4, 300.0, -300.0]]) * scale
    np.save(tmp_path / "x.npy", halves.astype(np.float32))
    q = load_data(graph, [tmp_path / "x.npy"]).inputs[0]
    assert q.reshape(-1).tolist() == [1, 2, -1, -2, 3, 127, 127, -128]  # half away from 0
