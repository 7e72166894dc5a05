"""Model validation (hilbench/model/validate.py): every value TFLM's Prepare refuses, and
every size that would blow up the host, is refused before any allocation with one line
naming the op or tensor and the value. Fast: graphs are mutated in memory and written
with hilbench's own writer; two cases go through the CLI as a user meets them."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import tflite

from hilbench.errors import ModelError
from hilbench.model import parse_tflite
from hilbench.model.graph import Quantization
from hilbench.model.tflite_writer import write_tflite
from hilbench.reference import Reference
from support import SHARED_MODELS, assert_one_line_error, hilbench

HELLO = parse_tflite((SHARED_MODELS / "tflm_hello_world_int8.tflite").read_bytes())
SPEECH = parse_tflite((SHARED_MODELS / "tflm_micro_speech_int8.tflite").read_bytes())


def _requantized(t, scale=None, zero_point=None, axis=None):
    q = t.quantization
    t.quantization = Quantization(
        np.asarray(q.scale if scale is None else scale, np.float32).reshape(-1),
        np.asarray(q.zero_point if zero_point is None else zero_point, np.int64).reshape(-1),
        q.axis if axis is None else axis)


def _refused(graph, *fragments: str) -> str:
    """Written and read back as a user's file, then prepared as `reference` does."""
    data = write_tflite(graph)
    with pytest.raises(ModelError) as error:
        Reference(parse_tflite(data))
    message = str(error.value)
    assert "\n" not in message and len(message) < 400, message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), -0.5, 0.0])
def test_scales_must_be_finite_and_positive(scale):
    graph = copy.deepcopy(HELLO)
    _requantized(graph.tensors[9], scale=[scale])  # the output: the old ZeroDivisionError
    _refused(graph, "tensor 9 'StatefulPartitionedCall:0'", f"scale {scale}")


@pytest.mark.parametrize("zero_point", [1 << 40, 128, -129])
def test_zero_points_must_fit_their_type(zero_point):
    graph = copy.deepcopy(HELLO)
    _requantized(graph.tensors[7], zero_point=[zero_point])  # 2^40 once reached the C
    _refused(graph, "tensor 7", f"zero point {zero_point}", "-128..127")


def test_per_channel_axis_and_scale_count():
    graph = copy.deepcopy(HELLO)
    _requantized(graph.tensors[4], axis=5)
    _refused(graph, "tensor 4", "quantization axis 5")
    graph = copy.deepcopy(HELLO)
    _requantized(graph.tensors[4], scale=[0.01] * 3, zero_point=[0] * 3, axis=0)
    _refused(graph, "tensor 4", "3 scales along axis 0")


def test_operand_counts():
    graph = copy.deepcopy(HELLO)
    graph.operators[1].inputs = [7]  # the old IndexError
    _refused(graph, "op 1 FULLY_CONNECTED has 1 inputs; expected 2..3")
    graph = copy.deepcopy(HELLO)
    graph.operators[1].inputs = [7, -1, 3]
    _refused(graph, "op 1 FULLY_CONNECTED has 3 inputs")


def test_graph_inputs_and_outputs_must_exist():
    graph = copy.deepcopy(HELLO)
    graph.inputs = []
    _refused(graph, "no graph inputs")
    graph = copy.deepcopy(HELLO)
    graph.outputs = []
    _refused(graph, "no graph outputs")


def test_huge_batch_refused_before_allocation():
    graph = copy.deepcopy(SPEECH)
    # once `reference` asked for 13.5 GiB and `run` grew until the OOM killer came
    graph.tensors[graph.inputs[0]].shape = (65536 * 64,) + graph.tensors[graph.inputs[0]].shape[1:]
    _refused(graph, "needs", "bytes; the limit is")


@pytest.mark.parametrize("beta", [-1.0, 0.0, float("nan")])
def test_softmax_beta(beta):
    graph = copy.deepcopy(SPEECH)
    graph.operators[3].options["beta"] = beta
    _refused(graph, "op 3 SOFTMAX has beta")


def test_stride_and_activation_options():
    graph = copy.deepcopy(SPEECH)
    graph.operators[1].options["stride_h"] = 0
    _refused(graph, "op 1 DEPTHWISE_CONV_2D has stride_h 0")
    graph = copy.deepcopy(SPEECH)
    graph.operators[1].options["activation"] = "SIGN_BIT"
    _refused(graph, "fused activation SIGN_BIT")


def test_options_of_the_wrong_type():
    data = bytearray(write_tflite(SPEECH))
    op = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0).Operators(3)  # SOFTMAX
    data[op._tab.Pos + op._tab.Offset(10)] = tflite.BuiltinOptions.Conv2DOptions
    with pytest.raises(ModelError, match="op 3 SOFTMAX has options of type Conv2DOptions, "
                                         "expected SoftmaxOptions"):
        parse_tflite(bytes(data))


def test_bias_scale_must_match_as_tflm_checks():
    graph = copy.deepcopy(HELLO)
    _requantized(graph.tensors[5], scale=[1.0])  # op 0's bias; TFLM: kernel_util.cc
    _refused(graph, "op 0 FULLY_CONNECTED: bias", "2 % of the output scale")


def test_requantization_out_of_range():
    graph = copy.deepcopy(HELLO)
    _requantized(graph.tensors[7], scale=[1e-30])  # op 0's output: multiplier ~1e27
    _refused(graph, "op 0 FULLY_CONNECTED", "out of range")


def test_valid_models_pass():
    for path in sorted(SHARED_MODELS.glob("*.tflite")):
        Reference(parse_tflite(path.read_bytes()))


def test_cli_one_bounded_line(tmp_path):
    graph = copy.deepcopy(HELLO)
    graph.tensors[9].name = "x" * 5000  # a 5,265-character error line, once
    _requantized(graph.tensors[9], scale=[float("nan")])
    path = tmp_path / "long.tflite"
    write_tflite(graph, path)
    for command in (["inspect", path], ["reference", path, "--random", 2]):
        result = hilbench(*command)
        assert_one_line_error(result, "scale nan")
        assert len(result.stderr) < 700 and "Warning" not in result.stderr


def test_npy_header_claiming_a_terabyte(tmp_path):
    from numpy.lib import format as npy

    path = tmp_path / "huge.npy"
    with path.open("wb") as f:
        npy.write_array_header_1_0(f, {"descr": "|i1", "fortran_order": False,
                                       "shape": (10**12,)})
        f.write(b"\x01" * 10)
    model = SHARED_MODELS / "tflm_hello_world_int8.tflite"
    assert_one_line_error(hilbench("reference", model, "--input", path),
                          "huge.npy is not a NumPy .npy array")


# --- mutants the model fuzz campaign (bench/fuzz.py) found TFLM refusing or crashing on
# while hilbench accepted them, or ending in a traceback. Each: (id, base graph, mutation,
# fragments of hilbench's one line). The oracle test below holds TFLM to the same verdict,
# so a check that TFLM does not make cannot creep in here unnoticed.

KWS = parse_tflite((SHARED_MODELS / "kws_ds_cnn_int8.tflite").read_bytes())


def _pool_rescaled(graph):  # op 9 AVERAGE_POOL_2D writes tensor 31
    _requantized(graph.tensors[31], scale=[3.4e38])


def _pool_zero_point(graph):
    _requantized(graph.tensors[31], zero_point=[-127])


def _depthwise_omitted_bias(graph):  # op 1: [input, filter, bias]
    graph.operators[1].inputs[2] = -1


def _depthwise_multiplier(graph):  # op 1 maps 1 to 8 channels
    graph.operators[1].options["depth_multiplier"] = 7


def _softmax_scale_near_1_256(graph):  # tensor 9: op 3 SOFTMAX's output
    _requantized(graph.tensors[9], scale=[np.float32(1 / 256) * np.float32(1.0001)])


def _conv_output_batch(graph):  # tensor 2: op 1 DEPTHWISE_CONV_2D's output
    graph.tensors[2].shape = (3,) + graph.tensors[2].shape[1:]


def _fc_output_layout(graph):  # tensor 7: op 0 FULLY_CONNECTED's (1, 16) output
    graph.tensors[7].shape = (16, 1)


TFLM_REFUSES = [
    ("pool-scale", KWS, _pool_rescaled,
     ["op 9 AVERAGE_POOL_2D: output tensor 31", "scale 3.4e+38", "TFLM requires the input's"]),
    ("pool-zero-point", KWS, _pool_zero_point, ["op 9 AVERAGE_POOL_2D", "zero point -127"]),
    ("depthwise-bias-omitted", SPEECH, _depthwise_omitted_bias,
     ["op 1 DEPTHWISE_CONV_2D: input 2 (bias) is -1"]),
    ("softmax-scale", SPEECH, _softmax_scale_near_1_256,
     ["op 3 SOFTMAX: int8 output tensor 9", "0.00390664"]),
]
HILBENCH_REFUSES = [  # TFLM runs these, but computes garbage: only DCHECKs guard them
    ("depth-multiplier", SPEECH, _depthwise_multiplier,
     ["op 1 DEPTHWISE_CONV_2D has depth_multiplier 7", "multiplier of 8"]),
    ("output-batch", SPEECH, _conv_output_batch,
     ["op 1 DEPTHWISE_CONV_2D: output tensor 2 has batch 3, input tensor 4 has 1"]),
    ("fc-output-layout", HELLO, _fc_output_layout,
     ["op 0 FULLY_CONNECTED: output tensor 7 shape [16, 1]", "weights' 16 units"]),
]


def _mutant(base, mutate):
    graph = copy.deepcopy(base)
    mutate(graph)
    return graph


def _without_zero_points(graph, tensor: int) -> bytes:
    """The model with tensor's zero-point vector emptied (scales kept): TFLM's allocator
    then leaves the tensor unquantized, scale 0."""
    import struct

    data = bytearray(write_tflite(graph))
    q = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0).Tensors(tensor).Quantization()
    start = q._tab.Vector(q._tab.Offset(10))  # QuantizationParameters.zero_point
    struct.pack_into("<I", data, start - 4, 0)
    return bytes(data)


def _metadata_vtable_outside() -> bytes:
    """The hello-world file with its first metadata table's vtable offset pushed before
    the start of the file (one byte changed, as a fuzz mutant did)."""
    import struct

    data = bytearray((SHARED_MODELS / "tflm_hello_world_int8.tflite").read_bytes())
    pos = tflite.Model.GetRootAsModel(data, 0).Metadata(0)._tab.Pos
    struct.pack_into("<i", data, pos, struct.unpack_from("<i", data, pos)[0] + 256)
    return bytes(data)


def test_unused_table_with_a_vtable_outside_the_file():
    # flatbuffers raised TypeError for the negative offset, which the bounds walk once took
    # for "this accessor needs arguments"; the table checks now name it first
    with pytest.raises(ModelError, match="Metadata table at offset [0-9]+ has its vtable at -"):
        parse_tflite(_metadata_vtable_outside())


def _options_vtable_shifted() -> bytes:
    """micro_speech with SOFTMAX's options table pointing one byte past its vtable (a
    fuzz mutant's one changed byte): TFLM's C++ runtime aborts on it."""
    import struct

    data = bytearray((SHARED_MODELS / "tflm_micro_speech_int8.tflite").read_bytes())
    pos = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0).Operators(3).BuiltinOptions().Pos
    struct.pack_into("<i", data, pos, struct.unpack_from("<i", data, pos)[0] + 1)
    return bytes(data)


def test_misaligned_vtable_is_malformed():
    with pytest.raises(ModelError, match="SoftmaxOptions table at offset [0-9]+ has its vtable"):
        parse_tflite(_options_vtable_shifted())


def test_scales_without_zero_points_are_not_quantization():
    bias = HELLO.operators[2].inputs[2]
    with pytest.raises(ModelError, match=r"op 2 FULLY_CONNECTED: bias .* has scale 0\.0"):
        Reference(parse_tflite(_without_zero_points(HELLO, bias)))


@pytest.mark.parametrize("base, mutate, fragments",
                         [case[1:] for case in TFLM_REFUSES + HILBENCH_REFUSES],
                         ids=[case[0] for case in TFLM_REFUSES + HILBENCH_REFUSES])
def test_fuzz_found_mutants_are_refused(base, mutate, fragments):
    _refused(_mutant(base, mutate), *fragments)


@pytest.mark.oracle
def test_tflm_refuses_or_crashes_on_the_same_mutants():
    import sys

    from support import REPO
    sys.path.insert(0, str(REPO / "bench"))
    import fuzz

    worker = fuzz._Worker("tflm")  # its own process: one of these crashes TFLM
    try:
        verdicts = {name: worker.ask(write_tflite(_mutant(base, mutate)))
                    for name, base, mutate, _ in TFLM_REFUSES}
        verdicts["metadata-vtable"] = worker.ask(_metadata_vtable_outside())
        verdicts["options-vtable-shifted"] = worker.ask(_options_vtable_shifted())
        verdicts["bias-without-zero-points"] = worker.ask(
            _without_zero_points(HELLO, HELLO.operators[2].inputs[2]))
        baseline = worker.ask(write_tflite(SPEECH))
    finally:
        worker.close()
    assert baseline.get("refused") is None and "dead" not in baseline, baseline
    for name, verdict in verdicts.items():
        assert "dead" in verdict or verdict["refused"], (name, verdict)


def test_depthwise_without_a_bias_input_still_runs():
    graph = copy.deepcopy(SPEECH)
    graph.operators[1].inputs = graph.operators[1].inputs[:2]  # TFLM runs this one
    Reference(parse_tflite(write_tflite(graph)))


def test_concatenation_limits_as_tflm():
    from hilbench.model.builder import GraphBuilder

    b = GraphBuilder()
    parts = [b.input(f"x{i}", (1, 2), scale=0.5) for i in range(11)]
    b.output(b.op("CONCATENATION", parts, [b.tensor("y", (1, 22), scale=0.5)],
                  axis=1, activation="NONE"))
    _refused(b.graph(), "op 0 CONCATENATION has 11 inputs; TFLM takes at most 10")
    b = GraphBuilder()
    parts = [b.input(f"x{i}", (1, 1, 1, 1, 2), scale=0.5) for i in range(2)]
    b.output(b.op("CONCATENATION", parts, [b.tensor("y", (1, 1, 1, 1, 4), scale=0.5)],
                  axis=4, activation="NONE"))
    _refused(b.graph(), "op 0 CONCATENATION: input tensor 0 has 5 dimensions")


def test_builtin_code_is_read_as_tflm_reads_it():
    """TFLM takes max(builtin_code, deprecated_builtin_code); the `tflite` package's
    accessor returns the deprecated byte whenever builtin_code < 127. A model whose int32
    builtin_code says SOFTMAX (25) while the deprecated byte says FULLY_CONNECTED (9) is a
    SOFTMAX to TFLM, which refuses it: so must hilbench (found by the model fuzz)."""
    import struct

    data = bytearray((SHARED_MODELS / "tflm_hello_world_int8.tflite").read_bytes())
    code = tflite.Model.GetRootAsModel(bytes(data), 0).OperatorCodes(0)
    field = code._tab.Offset(10)
    assert field, "the seed model stores builtin_code"
    struct.pack_into("<i", data, code._tab.Pos + field, 25)  # SOFTMAX
    with pytest.raises(ModelError, match="op 0 SOFTMAX"):
        parse_tflite(bytes(data))
