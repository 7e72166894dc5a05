"""The dsp kernel variant (Cortex-M4, M7, M33): per-layer specialization on the host, and
bit-exactness in QEMU of every shared model and of the operator edge cases that
specialize, against the host reference (which is bit-exact with TFLM)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hilbench.codegen import specialize
from hilbench.codegen.c_model import generate_model
from hilbench.codegen.specialize import VARIANT_KERNELS, choose, requant_layout
from hilbench.model import load_model
from hilbench.model.tflite_writer import write_tflite
from hilbench.paths import FIRMWARE_DIR
from hilbench.reference.executor import prepare
from hilbench.reference.fixedpoint import multiply_by_quantized_multiplier
from support import SHARED_MODELS, run_bit_exact
import test_reference_ops as cases

M4 = "qemu-mps2-an386"
DSP_BOARDS = (M4, "qemu-mps2-an500", "qemu-mps2-an505")  # Cortex-M4, M7, M33
SPECIALIZED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD")
MIN_MACS = specialize.MIN_MACS  # before the fixture below sets it to 0

# the kernels are tested on small shapes too, which the code generator would otherwise
# leave on the generic kernels
pytestmark = pytest.mark.usefixtures("small_layers_specialize")


# --- host side: no compiler, no QEMU ---------------------------------------------------

def test_variant_table_names_functions_the_variant_defines_and_the_header_declares():
    header = (FIRMWARE_DIR / "include" / "hb_kernels.h").read_text()
    for variant, functions in VARIANT_KERNELS.items():
        sources = "".join(p.read_text() for p in (FIRMWARE_DIR / "kernels" / variant).glob("*.c"))
        for function in functions:
            assert re.search(rf"\bhb_status {function}\(", header), f"{function} not declared"
            assert re.search(rf"^hb_status {function}\(", sources, re.M), \
                f"{function} not defined in firmware/kernels/{variant}/"


def _dsp_requant(acc, multiplier, pre_shift):
    """firmware/kernels/dsp/dsp_common.h hb_dsp_requant before the offset, in int64."""
    v = (2 * acc * multiplier + (1 << 31)) >> 32  # SMMULR(2 * acc, m)
    v = v + (v >> 63)  # v - (v < 0)
    return ((v >> pre_shift) + 1) >> 1


def test_dsp_requantization_equals_tflm_where_the_host_allows_it():
    rng = np.random.default_rng(0)
    channels = 64
    weights = rng.integers(-127, 128, (channels, 300)).astype(np.int8)
    weights[5] = 0  # a dead channel with a huge bias, as in VWW
    folded = rng.integers(-2**20, 2**20, channels)
    folded[5] = 2**30
    multiplier = rng.integers(2**30, 2**31 - 1, channels)
    multiplier[7] = 0
    shift = rng.integers(-31, 0, channels)
    pairs, new_folded = requant_layout(weights, folded, multiplier, shift)
    x = rng.integers(-128, 128, (1000, 300))
    acc = x @ weights.T.astype(np.int64)
    expected = multiply_by_quantized_multiplier(acc + folded, multiplier, shift)
    got = _dsp_requant(acc + new_folded.astype(np.int64), pairs[:, 0].astype(np.int64),
                       pairs[:, 1].astype(np.int64))
    np.testing.assert_array_equal(got, expected)


def test_requant_layout_refuses_what_smmulr_cannot_do_exactly():
    w = np.ones((2, 4), np.int8)
    ok = dict(folded=np.zeros(2, np.int64), multiplier=np.full(2, 2**30), shift=np.full(2, -3))
    assert requant_layout(w, **ok) is not None
    assert requant_layout(w, **{**ok, "shift": np.array([-3, 1])}) is None  # left shift
    assert requant_layout(w, **{**ok, "shift": np.array([-3, 0])}) is None  # no shift
    assert requant_layout(w, **{**ok, "folded": np.array([0, 2**30 - 10])}) is None  # bound


def test_fc_packing_refuses_a_minus_128_odd_weight_over_a_negative_even_one():
    """The dsp FULLY_CONNECTED packs 256 * odd + even into a halfword: -128 * 256 plus a
    negative weight does not fit, so such a layer keeps the generic kernel."""
    graph = cases.fc_model(np.random.default_rng(17), in_shape=(1, 32), units=4)
    (o,) = [o for o in prepare(graph) if o.op.opcode == "FULLY_CONNECTED"]
    assert choose(graph, o.op, o.params, "dsp") is not None
    o.params.weights[1, 5], o.params.weights[0, 5] = -128, -1
    assert choose(graph, o.op, o.params, "dsp") is None
    o.params.weights[0, 5] = 0  # over a non-negative even weight it fits
    assert choose(graph, o.op, o.params, "dsp") is not None


@pytest.mark.parametrize("stem", ["kws_ds_cnn_int8", "ic_resnet8_int8",
                                  "vww_mobilenet_v1_025_int8", "ad_autoencoder_int8",
                                  "tflm_micro_speech_int8"])
def test_every_mac_layer_of_the_shared_models_specializes_for_dsp_only(stem):
    graph = load_model(SHARED_MODELS / f"{stem}.tflite")
    ops = [o for o in prepare(graph) if o.op.opcode in SPECIALIZED_OPS]
    assert ops
    for o in ops:
        assert choose(graph, o.op, o.params, "dsp") is not None, f"op {o.op.index} {o.op.opcode}"
        assert choose(graph, o.op, o.params, "ref") is None


def test_layers_too_small_to_pay_for_a_specialized_kernel_keep_the_generic_one(monkeypatch):
    """hello_world's layers (16, 256, 16 MACs) would link 1.2 KB of dsp FULLY_CONNECTED code
    to save 2,600 instructions; KWS's classifier (768 MACs) is over the bound."""
    monkeypatch.setattr(specialize, "MIN_MACS", MIN_MACS)
    for stem, specializes in (("tflm_hello_world_int8", False), ("kws_ds_cnn_int8", True)):
        graph = load_model(SHARED_MODELS / f"{stem}.tflite")
        for o in prepare(graph):
            if o.op.opcode == "FULLY_CONNECTED":
                for variant in ("dsp", "mve"):
                    chosen = choose(graph, o.op, o.params, variant)
                    assert (chosen is not None) == specializes, (stem, o.op.index, variant)
    path = SHARED_MODELS / "tflm_hello_world_int8.tflite"
    source = generate_model(load_model(path), path.read_bytes(), path.stem, "dsp").source
    assert "_dsp" not in source and "hb_fully_connected_s8(" in source


def test_scratch_is_planned_beside_the_arena_and_only_for_the_dsp_variant():
    path = SHARED_MODELS / "kws_ds_cnn_int8.tflite"
    graph = load_model(path)
    # the plain plan leaves no gap for the scratch (the inplace plan's gaps take it)
    ref = generate_model(graph, path.read_bytes(), path.stem, memory="plain")
    dsp = generate_model(graph, path.read_bytes(), path.stem, kernels="dsp", memory="plain")
    assert ref.plan.scratch_bytes == 0 and "_dsp(" not in ref.source
    assert dsp.plan.scratch_bytes > 0 and "hb_conv2d_s8_dsp_full(" in dsp.source
    dsp.plan.check()
    assert dsp.plan.arena_size == ref.plan.arena_size  # scratch never grows the arena
    assert 0 < dsp.plan.scratch_region_size <= dsp.plan.scratch_bytes
    assert "static int8_t hb_scratch[" in dsp.source


def test_one_column_conv_only_where_two_columns_would_lift_the_peak():
    """micro_speech's one-channel 10x8 conv is its arena's peak: one column (160 B, not 320 B
    of scratch). KWS's first conv (the same kind, far below its peak) and its 1x1 convs (at
    the peak, but 256 B of 16,000 B) keep two columns and their speed."""
    def convs(stem):
        graph = load_model(SHARED_MODELS / f"{stem}.tflite")
        return {o.op.index: (s.function, s.scratch_bytes) for o in prepare(graph)
                if (s := choose(graph, o.op, o.params, "dsp")) and "conv2d" in s.function}
    assert convs("tflm_micro_speech_int8") == {1: ("hb_conv2d_s8_dsp_1col_full", 160)}
    for stem in ("kws_ds_cnn_int8", "ic_resnet8_int8", "vww_mobilenet_v1_025_int8"):
        assert all("_1col" not in f for f, _ in convs(stem).values()), stem


# --- QEMU -------------------------------------------------------------------------------

def _bit_exact(path, board, vectors, seed=3):
    return run_bit_exact(path, board, vectors, seed, kernels="dsp")


MODEL_VECTORS = {"kws_ds_cnn_int8": 4, "ic_resnet8_int8": 2, "vww_mobilenet_v1_025_int8": 1,
                 "ad_autoencoder_int8": 4, "tflm_hello_world_int8": 4,
                 "tflm_micro_speech_int8": 4}


@pytest.mark.parametrize("board", DSP_BOARDS)
@pytest.mark.parametrize("stem", MODEL_VECTORS)
def test_shared_model_bit_exact_with_dsp_kernels(stem, board):
    _bit_exact(SHARED_MODELS / f"{stem}.tflite", board, MODEL_VECTORS[stem])


def _edge_graphs():
    rng = lambda seed: np.random.default_rng(seed)  # noqa: E731
    for name, spec in cases.CONV_CASES.items():
        yield f"conv-{name}", cases.conv_model(rng(1), **spec)
    for name, spec in cases.DEPTHWISE_CASES.items():
        yield f"depthwise-{name}", cases.conv_model(rng(2), opcode="DEPTHWISE_CONV_2D", **spec)
    for name, spec in cases.FC_CASES.items():
        yield f"fc-{name}", cases.fc_model(rng(3), **spec)
    for name, spec in cases.BINARY_CASES.items():
        yield f"add-{name}", cases.binary_model(rng(4), "ADD", **spec)
    # shapes the dsp kernels treat specially
    yield "conv-odd_channels_odd_pixels", cases.conv_model(
        rng(5), in_shape=(1, 5, 3, 8), out_c=7, kernel=(1, 1), stride=(1, 1))
    yield "conv-3_channels_same_stride1", cases.conv_model(
        rng(6), in_shape=(1, 6, 5, 3), out_c=5, stride=(1, 1), activation="RELU")
    yield "conv-4_channels_dilated_same", cases.conv_model(
        rng(7), in_shape=(1, 7, 7, 4), out_c=6, dilation=(2, 2), stride=(1, 1))
    yield "depthwise-1_channel_multiplier_4_kernel_5x4", cases.conv_model(
        rng(19), opcode="DEPTHWISE_CONV_2D", in_shape=(1, 9, 8, 1), out_c=4, kernel=(5, 4))
    yield "conv-dead_channels", _dead_channels(cases.conv_model(
        rng(8), in_shape=(1, 4, 4, 8), out_c=6, kernel=(1, 1), stride=(1, 1)))
    yield "depthwise-3x3_8ch_same_stride1_relu6", cases.conv_model(
        rng(9), opcode="DEPTHWISE_CONV_2D", in_shape=(1, 6, 5, 8), out_c=8, stride=(1, 1),
        activation="RELU6")
    yield "depthwise-3x3_12ch_valid_stride2_zp_limits", cases.conv_model(
        rng(10), opcode="DEPTHWISE_CONV_2D", in_shape=(1, 7, 6, 12), out_c=12,
        padding="VALID", in_q=(0.04, 127), out_q=(0.03, -128))
    yield "fc-6_units_depth_13", cases.fc_model(rng(11), in_shape=(1, 13), units=6,
                                                per_channel=True)
    yield "add-same_shape_relu6_zp_limits", cases.binary_model(
        rng(13), "ADD", a_shape=(1, 5, 3, 4), b_shape=(1, 5, 3, 4), constant_b=False,
        activation="RELU6", a_q=(0.03, -128), b_q=(0.2, 127), out_q=(0.1, -128))
    yield "add-same_shape_fine_output", cases.binary_model(
        rng(14), "ADD", a_shape=(1, 37), b_shape=(1, 37), constant_b=False,
        a_q=(0.05, 3), b_q=(0.04, -3), out_q=(0.01, 0))
    yield "fc-3_rows_9_units", cases.fc_model(rng(12), in_shape=(3, 16), units=9,
                                              activation="RELU")
    # the assembly loop (16 values per pass) with every remainder after it (8, 4, 1..3)
    yield "fc-2_rows_7_units_depth_61_relu", cases.fc_model(rng(15), in_shape=(2, 61), units=7,
                                                            activation="RELU")
    # two calls of the assembly per group (512 values, then 16), then 8 and 2 values in C
    yield "fc-6_units_depth_538", cases.fc_model(rng(18), in_shape=(1, 538), units=6,
                                                 w_scale=0.002)
    yield "fc-5_units_depth_48_per_channel", cases.fc_model(rng(16), in_shape=(1, 48), units=5,
                                                            per_channel=True)


# The one-column CONV_2D (codegen/specialize.py ONE_COLUMN_LIFT) on the shapes it treats
# specially: an odd last channel and pixel, a staged row with padding and RELU, dilation,
# and a one-channel depthwise conv with a multiplier as micro_speech's.
ONE_COLUMN = "-1col"


ONE_COLUMN_CASES = ("conv-odd_channels_odd_pixels", "conv-3_channels_same_stride1",
                    "conv-4_channels_dilated_same", "depthwise-1_channel_multiplier_4_kernel_5x4")


def _dead_channels(graph):
    """Channel 2 with all-zero weights and a bias of 2^30, channel 4 with all-zero weights."""
    for t in graph.tensors:
        if t.name == "w":
            t.data[2] = 0
            t.data[4] = 0
        elif t.name == "b":
            t.data[2] = 2**30
    return graph


_TWO_COLUMNS = dict(_edge_graphs())
EDGE = _TWO_COLUMNS | {name + ONE_COLUMN: _TWO_COLUMNS[name] for name in ONE_COLUMN_CASES}


@pytest.fixture
def columns_for(monkeypatch):
    """Sets the dsp CONV_2D's column rule for an edge case: one column for the -1col cases,
    two for the others (their single op is the peak, where the rule would pick one column)."""
    def set_for(name: str) -> None:
        monkeypatch.setattr(specialize, "ONE_COLUMN_LIFT",
                            0.0 if name.endswith(ONE_COLUMN) else float("inf"))
    return set_for


def test_the_edge_cases_reach_every_dsp_kernel(columns_for):
    """Guard against a vacuous suite: most cases, and every specialized entry point, must
    be reached (broadcasting ADD, depth multiplier 2 and the like stay generic)."""
    chosen = {}
    for name, g in EDGE.items():
        columns_for(name)
        chosen[name] = [s.function for o in prepare(g)
                        if (s := choose(g, o.op, o.params, "dsp"))]
        assert all(("_1col" in f) == name.endswith(ONE_COLUMN)
                   for f in chosen[name] if f.startswith("hb_conv2d")), (name, chosen[name])
    assert {f for functions in chosen.values() for f in functions} == VARIANT_KERNELS["dsp"]
    generic = sorted(name for name, functions in chosen.items() if not functions)
    assert len(generic) <= len(EDGE) // 3, generic


@pytest.mark.parametrize("board", DSP_BOARDS)
@pytest.mark.parametrize("name", EDGE)
def test_edge_case_bit_exact_with_dsp_kernels(name, board, tmp_path, columns_for):
    """Every core that runs the variant: the M4, M7 and M33."""
    columns_for(name)
    path = tmp_path / f"{name}.tflite"
    write_tflite(EDGE[name], path)
    _bit_exact(path, board, 12)
