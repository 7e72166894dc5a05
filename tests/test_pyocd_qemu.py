"""The pyOCD path on QEMU (issue #5): pyOCD's own session, target, loader, reset and memory
code drive the emulator through hilbench's GDB-stub probe plugin, as they drive a real
board through a debug probe."""

from __future__ import annotations

import json
from importlib.metadata import entry_points

import pytest

from support import SHARED_MODELS, hilbench


def test_probe_plugin_is_registered_with_pyocd():
    names = {e.name: e.value for e in entry_points(group="pyocd.probe")}
    assert names.get("qemu") == "hilbench.targets.pyocd_qemu_probe:QemuGdbProbePlugin"


@pytest.mark.hil
@pytest.mark.parametrize("board,model", [("qemu-mps2-an386", "kws_ds_cnn_int8"),
                                         ("qemu-microbit", "tflm_hello_world_int8")])
def test_run_through_pyocd_bit_exact_with_stats_read_by_pyocd(board, model, tmp_path):
    result = hilbench("run", SHARED_MODELS / f"{model}.tflite", "--board", board,
                      "--via", "pyocd", "--vectors", 6, "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["via"] == "pyocd" and record["bit_exact"]
    # QEMU models the micro:bit's flash controller (pyOCD's nRF51 algorithm), not MPS2's
    assert record["load_method"] == ("pyocd-flash" if board == "qemu-microbit" else "pyocd-ram")
    # the stack paint read back by pyOCD agrees with what the firmware measured itself
    assert record["stack_peak_via_probe"] == record["ram_bytes"]["stack_peak"] > 0
    assert "read through pyOCD" in result.stdout


@pytest.mark.hil
def test_probe_link_through_pyocd_memory(tmp_path):
    result = hilbench("run", SHARED_MODELS / "tflm_micro_speech_int8.tflite", "--via", "pyocd",
                      "--transport", "probe", "--vectors", 4, "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["transport"] == "probe" and record["via"] == "pyocd" and record["bit_exact"]


@pytest.mark.hil
def test_pyocd_path_counts_the_same_instructions(tmp_path):
    """Loaded by pyOCD or by QEMU itself, the firmware executes the same instructions."""
    records = {}
    for via in ("direct", "pyocd"):
        result = hilbench("run", SHARED_MODELS / "tflm_micro_speech_int8.tflite", "--via", via,
                          "--vectors", 3, "--json", tmp_path / f"{via}.json")
        assert result.returncode == 0, result.stdout + result.stderr
        records[via] = json.loads((tmp_path / f"{via}.json").read_text())
    assert records["pyocd"]["driver"] == "pyocd-qemu" and records["direct"]["driver"] == "qemu"
    assert records["direct"]["load_method"] == "qemu-kernel"
    assert records["pyocd"]["instructions_per_inference"] == \
        records["direct"]["instructions_per_inference"]


@pytest.mark.hil
def test_pyocd_with_the_cycle_counter_says_why_there_is_none():
    """QEMU's DWT_CYCCNT reads 0: the figure is missing, and the run says so."""
    result = hilbench("run", "--via", "pyocd", "--cycle-counter", "--vectors", 1)
    assert result.returncode == 0, result.stderr
    assert "not available: QEMU models no DWT cycle counter" in result.stdout
