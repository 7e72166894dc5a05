"""The mve kernel variant (Cortex-M55, Helium): its requantization emulated on the host
against TFLM's, per-layer specialization, and in QEMU (qemu-mps3-an547) bit-exactness of
every shared model and of the operator edge cases against the host reference (which is
bit-exact with TFLM); and that the firmware needs the start-up code's CPACR write."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

from hilbench.board import load_board
from hilbench.codegen.c_model import generate_model
from hilbench.codegen.specialize import VARIANT_KERNELS, choose, mve_requant
from hilbench.drivers.registry import link_driver
from hilbench.errors import FirmwareFault, HilbenchError
from hilbench.model import load_model
from hilbench.model.tflite_writer import write_tflite
from hilbench.reference.executor import prepare
from hilbench.reference.fixedpoint import multiply_by_quantized_multiplier
from hilbench.run.strategy import open_target
from hilbench.toolchain.firmware import build_firmware
from support import SHARED_MODELS, run_bit_exact
import cases

M55 = "qemu-mps3-an547"
SPECIALIZED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")

# the kernels are tested on small shapes too, which the code generator would otherwise
# leave on the generic kernels (tests/test_dsp_kernels.py tests that bound)
pytestmark = pytest.mark.usefixtures("small_layers_specialize")


# --- host side: no compiler, no QEMU ---------------------------------------------------

def _mve_requant(acc, m, s):
    """mve_common.h hb_mve_requant before the offset, in int64, for a lane with multiplier
    m and shift s (the values of the requant table): VQRDMULH.S32, the fixup
    (v & s) >> 31, then VRSHL.S32 by s (a rounding right shift by -s, ties up)."""
    acc, m, s = np.asarray(acc, np.int64), np.int64(m), np.int64(s)
    v = np.clip((2 * acc * m + (1 << 31)) >> 32, -2**31, 2**31 - 1)  # VQRDMULH
    fixup = -((((v & 0xFFFFFFFF) & (s & 0xFFFFFFFF)) >> 31) & 1)  # (v & s) >> 31
    v = np.clip(v + fixup, -2**31, 2**31 - 1)  # VQADD
    e = -s
    return (v + (np.int64(1) << (e - 1))) >> e if e > 0 else v


def test_mve_requantization_equals_tflm_for_every_accumulator():
    rng = np.random.default_rng(0)
    channels = 64
    multiplier = rng.integers(2**30, 2**31 - 1, channels)
    multiplier[3] = 0
    multiplier[4] = 2**31 - 1
    shift = rng.integers(-31, 1, channels)
    shift[:8] = [0, 0, -1, -31, -31, 0, -1, -2]
    rq = mve_requant(multiplier, shift, channels).reshape(-1, 8)
    acc = np.concatenate([rng.integers(-2**31, 2**31, 20000),
                          [-2**31, 2**31 - 1, -1, 0, 1, -3, 3, -2**30, 2**30]])
    # ties: accumulators whose products land exactly half way before the shift
    acc = np.concatenate([acc, np.arange(-4096, 4096)])
    for c in range(channels):
        expected = multiply_by_quantized_multiplier(acc, multiplier[c], shift[c])
        got = _mve_requant(acc, rq[c // 4, c % 4], rq[c // 4, 4 + c % 4])
        np.testing.assert_array_equal(got, expected, err_msg=f"channel {c}")


def test_mve_requant_refuses_left_shifts_and_negative_multipliers():
    assert mve_requant(np.full(3, 2**30), np.array([0, -5, -31]), 3) is not None
    assert mve_requant(np.full(3, 2**30), np.array([0, 1, -3]), 3) is None
    assert mve_requant(np.full(3, 2**30), np.array([0, -32, -3]), 3) is None
    assert mve_requant(np.array([2**30, -1, 2**30]), np.zeros(3), 3) is None


@pytest.mark.parametrize("stem", ["kws_ds_cnn_int8", "ic_resnet8_int8",
                                  "vww_mobilenet_v1_025_int8", "ad_autoencoder_int8",
                                  "tflm_micro_speech_int8"])
def test_every_mac_layer_of_the_shared_models_specializes_for_mve(stem):
    graph = load_model(SHARED_MODELS / f"{stem}.tflite")
    ops = [o for o in prepare(graph) if o.op.opcode in SPECIALIZED_OPS]
    assert ops
    for o in ops:
        s = choose(graph, o.op, o.params, "mve")
        assert s is not None and s.function.endswith("_mve"), f"op {o.op.index} {o.op.opcode}"


def test_depthwise_with_a_weight_of_minus_128_keeps_the_generic_kernel():
    graph = cases.conv_model(np.random.default_rng(2), opcode="DEPTHWISE_CONV_2D",
                             in_shape=(1, 5, 5, 8), out_c=8)
    [o] = prepare(graph)
    assert choose(graph, o.op, o.params, "mve") is not None
    o.params.filter[0, 1, 1, 3] = -128  # int16 pair sums could overflow
    assert choose(graph, o.op, o.params, "mve") is None


def test_scratch_is_planned_for_the_mve_kernels_that_need_it():
    path = SHARED_MODELS / "kws_ds_cnn_int8.tflite"
    graph = load_model(path)
    mve = generate_model(graph, path.read_bytes(), path.stem, kernels="mve")
    for function in VARIANT_KERNELS["mve"] - {"hb_add_s8_mve"}:
        assert f"{function}(" in mve.source, function
    assert "hb_conv2d_s8_dsp" not in mve.source
    mve.plan.check()
    assert mve.plan.scratch_bytes > 0


# --- QEMU -------------------------------------------------------------------------------

def _bit_exact(path, vectors, seed=3):
    return run_bit_exact(path, M55, vectors, seed, kernels="mve")


MODEL_VECTORS = {"kws_ds_cnn_int8": 3, "ic_resnet8_int8": 2, "vww_mobilenet_v1_025_int8": 1,
                 "ad_autoencoder_int8": 3, "tflm_hello_world_int8": 4,
                 "tflm_micro_speech_int8": 3}


@pytest.mark.hil
@pytest.mark.parametrize("stem", MODEL_VECTORS)
def test_shared_model_bit_exact_with_mve_kernels_on_m55(stem):
    _bit_exact(SHARED_MODELS / f"{stem}.tflite", MODEL_VECTORS[stem])


def _dead_channels(graph):
    """Channel 2 with all-zero weights and a bias of 2^30, channel 4 with all-zero weights."""
    for t in graph.tensors:
        if t.name == "w":
            t.data[2] = 0
            t.data[4] = 0
        elif t.name == "b":
            t.data[2] = 2**30
    return graph


def _mve_graphs():
    """Shapes the mve kernels treat specially: channel groups of 4 (conv, FC) and 8
    (depthwise) with partial last groups, columns of 16 with partial last blocks."""
    rng = np.random.default_rng
    yield "mve-conv1x1_in24_out7", cases.conv_model(
        rng(5), in_shape=(1, 5, 3, 24), out_c=7, kernel=(1, 1), stride=(1, 1))
    yield "mve-conv1x1_in32_out8_stride2", cases.conv_model(
        rng(6), in_shape=(1, 6, 6, 32), out_c=8, kernel=(1, 1), stride=(2, 2), padding="VALID")
    yield "mve-conv3x3_in16_same", cases.conv_model(
        rng(7), in_shape=(1, 6, 5, 16), out_c=6, stride=(1, 1), activation="RELU")
    yield "mve-conv_dead_channels", _dead_channels(cases.conv_model(
        rng(8), in_shape=(1, 4, 4, 8), out_c=6, kernel=(1, 1), stride=(1, 1)))
    yield "mve-conv_dilated_same", cases.conv_model(
        rng(9), in_shape=(1, 7, 7, 4), out_c=6, dilation=(2, 2), stride=(1, 1))
    yield "mve-depthwise_8ch_same_stride1_relu6", cases.conv_model(
        rng(10), opcode="DEPTHWISE_CONV_2D", in_shape=(1, 6, 5, 8), out_c=8, stride=(1, 1),
        activation="RELU6")
    yield "mve-depthwise_12ch_valid_zp_limits", cases.conv_model(
        rng(11), opcode="DEPTHWISE_CONV_2D", in_shape=(1, 7, 6, 12), out_c=12,
        padding="VALID", in_q=(0.04, 127), out_q=(0.03, -128))
    yield "mve-depthwise_21ch_same_stride2", cases.conv_model(
        rng(12), opcode="DEPTHWISE_CONV_2D", in_shape=(1, 5, 7, 21), out_c=21)
    yield "mve-fc_depth_33_units_9_two_rows", cases.fc_model(
        rng(13), in_shape=(2, 33), units=9, per_channel=True, activation="RELU")
    yield "mve-fc_depth_16_units_4", cases.fc_model(rng(14), in_shape=(1, 16), units=4)
    yield "mve-add_same_shape_relu6_zp_limits", cases.binary_model(
        rng(15), "ADD", a_shape=(1, 5, 3, 5), b_shape=(1, 5, 3, 5), constant_b=False,
        activation="RELU6", a_q=(0.03, -128), b_q=(0.2, 127), out_q=(0.1, -128))


EDGE = dict(cases.kernel_graphs()) | dict(_mve_graphs())


def test_the_edge_cases_reach_every_mve_kernel():
    """Guard against a vacuous suite: every specialized entry point must be reached."""
    chosen = {f for g in EDGE.values() for o in prepare(g)
              if (s := choose(g, o.op, o.params, "mve")) for f in [s.function]}
    assert chosen == VARIANT_KERNELS["mve"]


@pytest.mark.hil
@pytest.mark.parametrize("name", EDGE)
def test_edge_case_bit_exact_with_mve_kernels_on_m55(name, tmp_path):
    path = tmp_path / f"{name}.tflite"
    write_tflite(EDGE[name], path)
    _bit_exact(path, 8)


def _cpacr_store(elf_path):
    """File offset and size of the store in Reset_Handler that enables CP10/CP11."""
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        [symbol] = elf.get_section_by_name(".symtab").get_symbol_by_name("Reset_Handler")
        start = symbol["st_value"] & ~1
        text = next(s for s in elf.iter_sections()
                    if s["sh_addr"] <= start < s["sh_addr"] + s["sh_size"] and s["sh_type"] == "SHT_PROGBITS")
        base = text["sh_offset"] - text["sh_addr"]
    listing = subprocess.run(
        ["arm-none-eabi-objdump", "-d", f"--start-address={start}",
         f"--stop-address={start + symbol['st_size']}", str(elf_path)],
        capture_output=True, text=True, check=True).stdout
    lines = [line.split("\t") for line in listing.splitlines() if line.startswith(" ")]
    orr = next(i for i, line in enumerate(lines) if "orr" in line[2] and "#15728640" in line[3])
    store = next(line for line in lines[orr:] if line[2].strip().startswith("str"))
    address = int(store[0].strip().rstrip(":"), 16)
    return base + address, len(store[1].split())


@pytest.mark.hil
def test_mve_firmware_needs_the_cpacr_write_at_start_up(tmp_path):
    """An mve build runs (bit-exact above); the same image with the start-up code's CPACR
    write replaced by NOPs faults on its first Helium instruction."""
    path = SHARED_MODELS / "tflm_hello_world_int8.tflite"
    board = load_board(M55)
    generated = generate_model(load_model(path), path.read_bytes(), path.stem, kernels="mve")
    firmware = build_firmware(generated, board, path.stem, variant="mve")
    size = load_model(path).tensor(load_model(path).inputs[0]).nbytes
    with open_target(board, firmware.elf, link_driver("serial"), timeout=3.0) as (_, session):
        session.load_input(bytes(size))
        session.invoke()
    patched = tmp_path / "no_cpacr.elf"
    shutil.copy(firmware.elf, patched)
    offset, length = _cpacr_store(patched)
    image = bytearray(patched.read_bytes())
    image[offset:offset + length] = (b"\x00\xbf" if length == 2 else b"\xaf\xf3\x00\x80")
    patched.write_bytes(bytes(image))
    with pytest.raises(HilbenchError) as error:
        with open_target(board, patched, link_driver("serial"), timeout=3.0) as (_, session):
            session.load_input(bytes(size))
            session.invoke()
    assert isinstance(error.value, FirmwareFault), error.value
    # CFSR.NOCP: a coprocessor (CP10/CP11: FPU and Helium) instruction while disabled
    assert "HardFault during INVOKE" in str(error.value) and "cfsr=0x00080000" in str(error.value), \
        error.value
