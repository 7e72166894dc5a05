"""A user's own firmware on the DUT library (firmware/dut/), under `hilbench run --firmware`:
the example in examples/user_firmware/ built with its own Makefile, bit-exact on two QEMU
boards with the same per-layer instruction counts as hilbench's own build, a planted
output bug failing the run, a firmware for another model refused in one line; and the
host-side checks of an ELF and of the identity a firmware reports, without a target."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hilbench.board import load_board
from hilbench.errors import ConfigError
from hilbench.paths import REPO
from hilbench.protocol.session import DeviceInfo
from hilbench.run import RunRequest, run
from hilbench.run.user_firmware import check_identity, layers_missing, user_firmware
from hilbench.toolchain.dut_library import export_dut_library
from hilbench.toolchain.elf_info import elf_sizes
from support import SHARED_MODELS, assert_one_line_error, hilbench

EXAMPLE = REPO / "examples" / "user_firmware"
MODEL = REPO / "examples" / "touch_classifier" / "touch_mlp_int8.tflite"
MODEL_HASH = bytes.fromhex("82ba54eb426a3f5d")
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def _make(out: Path, board: str, *options: str) -> Path:
    """The example built as a user builds it: its Makefile, `hilbench dut-lib`, gcc."""
    command = f"{sys.executable} -m hilbench"
    result = subprocess.run(["make", "-C", str(EXAMPLE), f"BOARD={board}", f"BUILD={out}",
                             f"HILBENCH={command}", *options],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return out / "user_firmware.elf"


@pytest.fixture(scope="module")
def firmware(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("user_firmware")
    return {
        "qemu-mps2-an386": _make(root / "an386", "qemu-mps2-an386"),
        "qemu-microbit": _make(root / "microbit", "qemu-microbit"),
        # both planted at once, to keep the suite lean: marks compiled out, a byte flipped
        "broken": _make(root / "broken", "qemu-mps2-an386", "LAYER_MARKS=0",
                        "CORRUPT_OUTPUT=1"),
    }


@pytest.mark.hil
@needs_make
@pytest.mark.parametrize("board", ["qemu-mps2-an386", "qemu-microbit"])
def test_example_is_bit_exact_with_ram_and_counts(firmware, board):
    elf = firmware[board]
    result = run(RunRequest(MODEL, load_board(board), vectors=6, firmware=elf))
    assert result.comparison.bit_exact, result.comparison.first
    assert "SHA-256 82ba54eb426a3f5d" in result.identity
    assert result.ram_static == elf_sizes(elf).static_ram > 0  # from the user's ELF
    assert 0 < result.stack_peak < load_board(board).stack_size  # the stack paint
    t = result.timing
    assert t.instructions is not None and t.instructions.min > 0 and t.layers_missing is None
    assert [layer.op for layer in t.layers] == ["FULLY_CONNECTED", "FULLY_CONNECTED"]
    if board == "qemu-mps2-an386":
        # the same generated model and kernels as hilbench's own build: the same counts
        own = run(RunRequest(MODEL, load_board(board), vectors=6))
        assert [l.instructions for l in t.layers] == \
            [l.instructions for l in own.timing.layers]


@pytest.mark.hil
@needs_make
def test_corrupted_output_fails_and_unmarked_layers_are_said(firmware):
    result = hilbench("run", MODEL, "--firmware", firmware["broken"], "--vectors", "3",
                      "--profile")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    out = " ".join(result.stdout.split())
    assert "bit-exact │ NO" in out and "mismatching values │ 3 of 12" in out
    assert "no per-layer profile: the firmware marks no layers" in out
    assert "instructions │" in out  # whole inferences are still counted


@pytest.mark.hil
@needs_make
def test_firmware_for_another_model_is_one_line(firmware):
    result = hilbench("run", SHARED_MODELS / "tflm_hello_world_int8.tflite",
                      "--firmware", firmware["qemu-mps2-an386"], "--vectors", "2")
    assert_one_line_error(result, "user_firmware.elf runs another model",
                          "82ba54eb426a3f5d", "input 8 B", "input 1 B")


# --- no target ---------------------------------------------------------------------------
def test_elf_checks_are_one_line(tmp_path):
    board = load_board("qemu-mps2-an386")
    text = tmp_path / "firmware.elf"
    text.write_text("not an ELF")
    cases = [(tmp_path / "missing.elf", "no such file"), (text, "not an ELF file"),
             (Path(os.path.realpath(sys.executable)), "not for an Arm core")]
    for path, fragment in cases:
        with pytest.raises(ConfigError, match=fragment):
            user_firmware(path, board)


def _info(model_hash: bytes = MODEL_HASH, input_size: int = 8, output_size: int = 4,
          layers: int = 2) -> DeviceInfo:
    return DeviceInfo(1, model_hash, 32, input_size, output_size, 512, layers, "user")


def test_identity_checks_hash_then_sizes():
    elf, model = Path("user.elf"), MODEL
    assert "SHA-256 82ba54eb426a3f5d" in check_identity(_info(), elf, model, MODEL_HASH, 8, 4)
    assert "declares no model hash" in check_identity(_info(bytes(8)), elf, model,
                                                      MODEL_HASH, 8, 4)
    with pytest.raises(ConfigError, match="runs another model: it reports SHA-256 0102"):
        check_identity(_info(bytes(range(1, 9))), elf, model, MODEL_HASH, 8, 4)
    with pytest.raises(ConfigError, match="reports input 8 B, output 4 B.*has input 8 B, "
                                          "output 5 B"):
        check_identity(_info(bytes(8)), elf, model, MODEL_HASH, 8, 5)


def test_per_layer_table_needs_every_op_marked():
    assert layers_missing(_info(), 2, 2) is None
    assert "marks no layers" in layers_missing(_info(layers=0), 1, 2)
    assert "marks 3 layers, the model has 2 ops" in layers_missing(_info(layers=3), 3, 2)
    assert "but 1 were marked" in layers_missing(_info(), 1, 2)


def test_dut_lib_fragment_declares_the_model(tmp_path):
    library = export_dut_library(load_board("qemu-microbit"), tmp_path, model=MODEL)
    fragment = library.fragment.read_text()
    assert "HB_MODEL_SHA256 := 82ba54eb426a3f5d" in fragment
    assert "HB_MODEL_INPUT_BYTES := 8\n" in fragment and "HB_MODEL_LAYERS := 2\n" in fragment
    assert "-mcpu=cortex-m0" in fragment and "uart_nrf51.c" in fragment
    assert "hb_dut_core.c" in fragment and "armv6m" in fragment  # the board's kernels
    assert (tmp_path / "memory.ld").read_text().startswith("MEMORY")
    assert "HB_DUT_LAYER_DONE(1)" in library.model_source.read_text()
