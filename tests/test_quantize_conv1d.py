"""hilbench quantize on 1-D convolutional models (issue #17): a PyTorch Conv1d + LeakyReLU
network (trained by tests/fixtures/make_fixtures.py on tests/datasets.py's two-channel
signals, committed as ONNX) becomes CONV_2D / DEPTHWISE_CONV_2D over H = 1 with
LEAKY_RELU, agrees with the float model on held-out data, and runs bit-exact on TFLM and
QEMU; an ONNX operator the quantizer cannot represent (LSTM) is refused in one line that
names its node."""

from __future__ import annotations

import numpy as np
import pytest

from datasets import FIXTURES, conv1d_train
from hilbench.board import load_board
from hilbench.model import load_model
from hilbench.run import RunRequest, run
from support import compare_with_tflm
from test_quantize import committed_model, float_accuracy, quantize_cli


@pytest.mark.hil
@pytest.mark.oracle
def test_conv1d_leaky_relu_quantizes_and_runs_bit_exact(tmp_path):
    committed_model("conv1d", tmp_path)
    assert float_accuracy(tmp_path / "model.onnx", *conv1d_train()) > 0.95  # it was trained
    out = tmp_path / "conv1d_int8.tflite"
    agreement = quantize_cli(tmp_path / "model.onnx", tmp_path / "calib.npy", out,
                             tmp_path / "eval.npy")
    assert agreement >= 98.0, f"top-1 agreement with the float model {agreement} %"
    graph = load_model(out)
    assert [op.opcode for op in graph.operators] == [
        "CONV_2D", "LEAKY_RELU", "PAD", "DEPTHWISE_CONV_2D", "LEAKY_RELU", "MAX_POOL_2D",
        "CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED"]  # PAD: PyTorch's padding, not SAME
    assert graph.input_tensors[0].shape == (1, 1, 32, 2)  # (N, C, L) as NHWC over H = 1
    alphas = [op.options["alpha"] for op in graph.operators if op.opcode == "LEAKY_RELU"]
    assert np.allclose(alphas, [0.1, 0.01])
    assert compare_with_tflm(graph, out.read_bytes(), 200) == {"uniform": 0, "near_zp": 0}
    assert run(RunRequest(out, load_board("qemu-mps2-an386"), 8, seed=4)).comparison.bit_exact


def _lstm_model(path):
    """A one-node ONNX LSTM (what torch.onnx.export gives for nn.LSTM), built with onnx."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    hidden, features = 4, 3
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.normal(size=shape).astype(np.float32), name)
               for name, shape in (("W", (1, 4 * hidden, features)),
                                   ("R", (1, 4 * hidden, hidden)))]
    node = helper.make_node("LSTM", ["x", "W", "R"], ["y"], name="/lstm/LSTM",
                            hidden_size=hidden)
    graph = helper.make_graph(
        [node], "lstm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 1, features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 1, 1, hidden])], weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def test_lstm_is_refused_naming_its_node(tmp_path):
    """In process: the CLI's one line and exit 2 for this error are test_quantize's
    test_unsupported_layer_named_with_its_onnx_node."""
    from hilbench.errors import ModelError
    from hilbench.quantize.onnx_reader import load_onnx

    _lstm_model(tmp_path / "lstm.onnx")
    with pytest.raises(ModelError, match=r"unsupported ONNX operator LSTM \(node '/lstm/LSTM'\)"):
        load_onnx(tmp_path / "lstm.onnx")


def test_1d_pads_of_the_wrong_length_are_refused(tmp_path):
    """A malformed Conv1d (four pads on a 1-D kernel) is a ModelError, not a traceback."""
    import onnx
    from onnx import helper

    from hilbench.errors import ModelError
    from hilbench.quantize.onnx_reader import load_onnx

    source = onnx.load(str(FIXTURES / "conv1d.onnx"))
    conv = source.graph.node[0]
    for attribute in conv.attribute:
        if attribute.name == "pads":
            attribute.CopyFrom(helper.make_attribute("pads", [2, 2, 2, 2]))
    onnx.save(source, str(tmp_path / "bad.onnx"))
    with pytest.raises(ModelError, match=rf"node '{conv.name}': pads \[2, 2, 2, 2\] on a 1-D"):
        load_onnx(tmp_path / "bad.onnx")
