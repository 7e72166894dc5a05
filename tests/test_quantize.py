"""hilbench quantize (issue #6, first slice): PyTorch MLPs exported to ONNX become int8
models that TFLM runs bit-exact with hilbench's reference and that run bit-exact on the
chip.

The PyTorch models are trained once, by tests/fixtures/make_fixtures.py, and committed as
ONNX files; their calibration and held-out data are regenerated here from fixed seeds
(tests/datasets.py). No PyTorch at test time."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from datasets import FIXTURES, calib_and_eval, cnn_train
from hilbench.board import load_board
from hilbench.model import load_model
from hilbench.run import RunRequest, run
from support import assert_one_line_error, compare_with_tflm, hilbench


def quantize_cli(model, calib, out, held_out=None) -> float:
    """`hilbench quantize`; returns the printed top-1 agreement (held-out if given), in %."""
    extra = ["--eval", held_out] if held_out is not None else []
    result = hilbench("quantize", model, "--calib", calib, "-o", out, *extra)
    assert result.returncode == 0, result.stderr
    label = "on eval" if held_out is not None else "on calibration"
    line = [text for text in result.stdout.splitlines() if label in text][0]
    print(line)
    return float(line.rsplit(":", 1)[1].strip().rstrip("%"))


def committed_model(name: str, folder):
    """Copy the committed ONNX model `name` into `folder` as model.onnx, with its
    calibration (calib.npy) and held-out (eval.npy) inputs as the CLI takes them."""
    shutil.copy(FIXTURES / f"{name}.onnx", folder / "model.onnx")
    calib, held_out = calib_and_eval(name)
    np.save(folder / "calib.npy", calib)
    np.save(folder / "eval.npy", held_out)
    return folder


@pytest.fixture(scope="module")
def touch_mlp(tmp_path_factory):
    """A touch-gesture MLP with HardTanh and ReLU6, trained briefly, exported to ONNX."""
    return committed_model("touch_mlp", tmp_path_factory.mktemp("touch"))


@pytest.mark.hil
@pytest.mark.oracle
def test_touch_mlp_quantizes_reloads_and_runs_bit_exact(touch_mlp):
    out = touch_mlp / "touch_int8.tflite"
    assert quantize_cli(touch_mlp / "model.onnx", touch_mlp / "calib.npy", out,
                        touch_mlp / "eval.npy") >= 98.0
    graph = load_model(out)  # reloads with hilbench's loader
    assert [op.options["activation"] for op in graph.operators] == [
        "RELU_N1_TO_1", "RELU6", "NONE"]  # HardTanh and ReLU6 fused as TFLM clamps
    assert compare_with_tflm(graph, out.read_bytes(), 200) == {"uniform": 0, "near_zp": 0}
    result = run(RunRequest(out, load_board("qemu-microbit"), 12, seed=1))  # a Cortex-M0
    assert result.comparison.bit_exact


def test_percentile_ranges(touch_mlp):
    result = hilbench("quantize", touch_mlp / "model.onnx", "--calib", touch_mlp / "calib.npy",
                      "--ranges", "percentile", "-o", touch_mlp / "p.tflite")
    assert result.returncode == 0, result.stderr
    assert "SNR dB" in result.stdout


def test_unsupported_layer_named_with_its_onnx_node(tmp_path):
    # torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4)), exported
    np.save(tmp_path / "calib.npy", np.zeros((4, 4), np.float32))
    result = hilbench("quantize", FIXTURES / "layernorm.onnx", "--calib", tmp_path / "calib.npy",
                      "-o", tmp_path / "out.tflite")
    assert_one_line_error(result, "unsupported ONNX operator LayerNormalization",
                          "node '/1/LayerNormalization'")


def test_malformed_onnx_is_one_line(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x01garbage")
    np.save(tmp_path / "calib.npy", np.zeros((2, 8), np.float32))
    result = hilbench("quantize", tmp_path / "bad.onnx", "--calib", tmp_path / "calib.npy",
                      "-o", tmp_path / "out.tflite")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def float_accuracy(model, x, y) -> float:
    """Top-1 accuracy of the float ONNX model, run by onnxruntime."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    logits = np.concatenate([session.run(None, {name: row[None]})[0] for row in x])
    return float(np.mean(logits.argmax(1) == y))


@pytest.mark.hil
@pytest.mark.oracle
def test_cnn_quantizes_bit_exact_on_tflm_and_qemu(tmp_path):
    """Conv-BN-ReLU6, a stride-2 depthwise conv with HardTanh, a pointwise conv, average
    pooling and a Linear head: the issue's CNN."""
    committed_model("cnn", tmp_path)
    assert float_accuracy(tmp_path / "model.onnx", *cnn_train()) > 0.95  # it was trained
    out = tmp_path / "cnn_int8.tflite"
    assert quantize_cli(tmp_path / "model.onnx", tmp_path / "calib.npy", out,
                        tmp_path / "eval.npy") >= 98.0
    graph = load_model(out)
    assert [op.opcode for op in graph.operators] == [
        "CONV_2D", "PAD", "DEPTHWISE_CONV_2D", "CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED"]
    assert compare_with_tflm(graph, out.read_bytes(), 200) == {"uniform": 0, "near_zp": 0}
    assert run(RunRequest(out, load_board("qemu-mps2-an386"), 10, seed=2)).comparison.bit_exact


@pytest.mark.hil
@pytest.mark.oracle
@pytest.mark.parametrize("keep_batch_norm", [False, True])
def test_residual_concat_and_activation_ops(tmp_path, keep_batch_norm):
    """Add, Concat, HardSwish, Sigmoid, Tanh, MaxPool, global pooling and Softmax; with
    BatchNormalization either folded by the exporter or kept as nodes for hilbench to fold."""
    import onnx

    committed_model("branchy_bn" if keep_batch_norm else "branchy", tmp_path)
    has_bn = any(n.op_type == "BatchNormalization"
                 for n in onnx.load(str(tmp_path / "model.onnx")).graph.node)
    assert has_bn == keep_batch_norm
    out = tmp_path / "m_int8.tflite"
    assert quantize_cli(tmp_path / "model.onnx", tmp_path / "calib.npy", out,
                        tmp_path / "eval.npy") >= 98.0
    graph = load_model(out)
    ops = [op.opcode for op in graph.operators]
    for opcode in ("ADD", "CONCATENATION", "HARD_SWISH", "LOGISTIC", "TANH", "MAX_POOL_2D",
                   "SOFTMAX"):
        assert opcode in ops
    assert compare_with_tflm(graph, out.read_bytes(), 200) == {"uniform": 0, "near_zp": 0}
    assert run(RunRequest(out, load_board("qemu-mps2-an386"), 6, seed=3)).comparison.bit_exact


def _qdq(source, target, calib):
    """Quantize an ONNX model in QDQ form with onnxruntime, as users do."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    name = onnx.load(str(source)).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{name: row[None].astype(np.float32)} for row in calib])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    per_channel=True)


@pytest.mark.hil
@pytest.mark.oracle
@pytest.mark.parametrize("case", ["mlp", "cnn"])
def test_qdq_models_keep_their_quantization(case, touch_mlp, tmp_path):
    import onnx
    from onnx import numpy_helper

    if case == "mlp":
        source, calib = touch_mlp / "model.onnx", np.load(touch_mlp / "calib.npy")
        board = "qemu-microbit"
    else:
        source, calib = FIXTURES / "cnn.onnx", calib_and_eval("cnn")[0]
        board = "qemu-mps2-an386"
    _qdq(source, tmp_path / "qdq.onnx", calib[:100])
    np.save(tmp_path / "calib.npy", calib)
    out = tmp_path / "qdq_int8.tflite"
    assert quantize_cli(tmp_path / "qdq.onnx", tmp_path / "calib.npy", out) >= 98.0
    graph = load_model(out)
    prescribed = {float(numpy_helper.to_array(t)) for t in onnx.load(str(tmp_path / "qdq.onnx"))
                  .graph.initializer if t.name.endswith("_scale") and t.dims == []}
    activations = [t for t in graph.tensors if t.data is None and t.quantization is not None]
    # activation scales come from the QDQ model, not from hilbench's calibration
    assert all(float(t.scale) in prescribed for t in activations if t.dtype == np.int8
               and "/padded" not in t.name)
    assert compare_with_tflm(graph, out.read_bytes(), 200) == {"uniform": 0, "near_zp": 0}
    assert run(RunRequest(out, load_board(board), 6, seed=5)).comparison.bit_exact
