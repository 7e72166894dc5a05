"""hilbench quantize (issue #6, first slice): PyTorch MLPs exported to ONNX become int8
models that TFLM runs bit-exact with hilbench's reference and that run bit-exact on the
chip."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch  # a test dependency (torch==2.13.0, the local CPU build)

from hilbench.board import load_board
from hilbench.paths import REPO
from hilbench.model import load_model
from hilbench.run import RunRequest, run
from support import compare_with_tflm
from test_cli import assert_one_line_error, hilbench

sys.path.insert(0, str(REPO / "examples" / "touch_classifier"))
from make_model import synthetic_touches  # noqa: E402


def quantize_cli(model, calib, out, held_out=None) -> float:
    """`hilbench quantize`; returns the printed top-1 agreement (held-out if given), in %."""
    extra = ["--eval", held_out] if held_out is not None else []
    result = hilbench("quantize", model, "--calib", calib, "-o", out, *extra)
    assert result.returncode == 0, result.stderr
    label = "on eval" if held_out is not None else "on calibration"
    line = [text for text in result.stdout.splitlines() if label in text][0]
    print(line)
    return float(line.rsplit(":", 1)[1].strip().rstrip("%"))


@pytest.fixture(scope="module")
def touch_mlp(tmp_path_factory):
    """A touch-gesture MLP with HardTanh and ReLU6, trained briefly, exported to ONNX."""
    folder = tmp_path_factory.mktemp("touch")
    x, y = synthetic_touches(3000, np.random.default_rng(0))
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Hardtanh(),
                                torch.nn.Linear(16, 8), torch.nn.ReLU6(),
                                torch.nn.Linear(8, 4))
    optimizer = torch.optim.Adam(model.parameters(), 0.02)
    inputs, labels = torch.tensor(x), torch.tensor(y)
    for _ in range(200):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs), labels).backward()
        optimizer.step()
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 8), str(folder / "touch.onnx"), dynamo=False,
                      opset_version=17)
    np.save(folder / "calib.npy", x[:400])
    np.save(folder / "eval.npy", synthetic_touches(1000, np.random.default_rng(1))[0])
    return folder


def test_touch_mlp_quantizes_reloads_and_runs_bit_exact(touch_mlp):
    out = touch_mlp / "touch_int8.tflite"
    assert quantize_cli(touch_mlp / "touch.onnx", touch_mlp / "calib.npy", out,
                        touch_mlp / "eval.npy") >= 98.0
    graph = load_model(out)  # reloads with hilbench's loader
    assert [op.options["activation"] for op in graph.operators] == [
        "RELU_N1_TO_1", "RELU6", "NONE"]  # HardTanh and ReLU6 fused as TFLM clamps
    assert compare_with_tflm(graph, out.read_bytes(), 200) == {"uniform": 0, "near_zp": 0}
    result = run(RunRequest(out, load_board("qemu-microbit"), 12, seed=1))  # a Cortex-M0
    assert result.comparison.bit_exact


def test_percentile_ranges(touch_mlp):
    result = hilbench("quantize", touch_mlp / "touch.onnx", "--calib", touch_mlp / "calib.npy",
                      "--ranges", "percentile", "-o", touch_mlp / "p.tflite")
    assert result.returncode == 0, result.stderr
    assert "SNR dB" in result.stdout


def test_unsupported_layer_named_with_its_onnx_node(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    torch.onnx.export(model, torch.zeros(1, 4), str(tmp_path / "norm.onnx"),
                      dynamo=False, opset_version=17)
    np.save(tmp_path / "calib.npy", np.zeros((4, 4), np.float32))
    result = hilbench("quantize", tmp_path / "norm.onnx", "--calib", tmp_path / "calib.npy",
                      "-o", tmp_path / "out.tflite")
    assert_one_line_error(result, "unsupported ONNX operator LayerNormalization",
                          "node '/1/LayerNormalization'")


def test_malformed_onnx_is_one_line(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x01garbage")
    np.save(tmp_path / "calib.npy", np.zeros((2, 8), np.float32))
    result = hilbench("quantize", tmp_path / "bad.onnx", "--calib", tmp_path / "calib.npy",
                      "-o", tmp_path / "out.tflite")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1



def test_cnn_quantizes_bit_exact_on_tflm_and_qemu(tmp_path):
    """Conv-BN-ReLU6, a stride-2 depthwise conv with HardTanh, a pointwise conv, average
    pooling and a Linear head: the issue's CNN."""
    from torch_models import train_cnn

    accuracy, calib, held_out = train_cnn(tmp_path / "cnn.onnx")
    assert accuracy > 0.95
    np.save(tmp_path / "calib.npy", calib)
    np.save(tmp_path / "eval.npy", held_out)
    out = tmp_path / "cnn_int8.tflite"
    assert quantize_cli(tmp_path / "cnn.onnx", tmp_path / "calib.npy", out,
                        tmp_path / "eval.npy") >= 98.0
    graph = load_model(out)
    assert [op.opcode for op in graph.operators] == [
        "CONV_2D", "PAD", "DEPTHWISE_CONV_2D", "CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED"]
    assert compare_with_tflm(graph, out.read_bytes(), 200) == {"uniform": 0, "near_zp": 0}
    assert run(RunRequest(out, load_board("qemu-mps2-an386"), 10, seed=2)).comparison.bit_exact


@pytest.mark.parametrize("keep_batch_norm", [False, True])
def test_residual_concat_and_activation_ops(tmp_path, keep_batch_norm):
    """Add, Concat, HardSwish, Sigmoid, Tanh, MaxPool, global pooling and Softmax; with
    BatchNormalization either folded by the exporter or kept as nodes for hilbench to fold."""
    import onnx

    from torch_models import train_branchy

    calib, held_out = train_branchy(tmp_path / "m.onnx", keep_batch_norm)
    has_bn = any(n.op_type == "BatchNormalization"
                 for n in onnx.load(str(tmp_path / "m.onnx")).graph.node)
    assert has_bn == keep_batch_norm
    np.save(tmp_path / "calib.npy", calib)
    np.save(tmp_path / "eval.npy", held_out)
    out = tmp_path / "m_int8.tflite"
    assert quantize_cli(tmp_path / "m.onnx", tmp_path / "calib.npy", out,
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


@pytest.mark.parametrize("case", ["mlp", "cnn"])
def test_qdq_models_keep_their_quantization(case, touch_mlp, tmp_path):
    import onnx
    from onnx import numpy_helper

    from torch_models import train_cnn

    if case == "mlp":
        source, calib = touch_mlp / "touch.onnx", np.load(touch_mlp / "calib.npy")
        board = "qemu-microbit"
    else:
        source = tmp_path / "cnn.onnx"
        _, calib, _ = train_cnn(source)
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
