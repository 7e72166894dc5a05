"""`hilbench run` on QEMU mps2-an386 (Cortex-M4): every shared model bit-exact with the
host reference, through the real command line and its JSON contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hilbench.paths import FIRMWARE_DIR
from support import SHARED_MODELS, hilbench, shared_models

# TFLM's "arena head" for the same models on the host build (issue #3)
TFLM_ARENA = {"kws_ds_cnn_int8": 16_000, "ic_resnet8_int8": 49_152,
              "vww_mobilenet_v1_025_int8": 73_728, "ad_autoencoder_int8": 768}


@pytest.mark.hil
@pytest.mark.parametrize("path", shared_models(), ids=lambda p: p.stem)
def test_shared_model_bit_exact_on_qemu(path, tmp_path):
    vectors = 5 if path.stem.startswith("vww") else 20
    result = hilbench("run", path, "--vectors", vectors, "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["model"] == path.stem and record["board"] == "qemu-mps2-an386"
    assert record["vectors"] == vectors
    assert record["bit_exact"] is True and record["mismatches"] == 0
    assert record["max_abs_diff"] == 0
    ram = record["ram_bytes"]
    assert set(ram) == {"static", "arena", "scratch", "stack_peak", "total"}
    # the default (inplace) plan may go below the layer-by-layer bound: kernels' overlaps
    assert record["memory"]["mode"] == "inplace" and record["memory"]["arena"] == ram["arena"]
    assert ram["static"] >= ram["arena"] + ram["scratch"]  # both are static arrays
    assert 0 < ram["stack_peak"] < 16384
    assert ram["total"] == ram["static"] + ram["stack_peak"]
    assert record["flash_bytes"] > 0
    assert record["link_bytes_per_s"] > 1000
    if path.stem in TFLM_ARENA:
        assert ram["arena"] <= TFLM_ARENA[path.stem]
    assert "bit-exact" in result.stdout and "lower bound" in result.stdout


@pytest.mark.hil
def test_default_model_is_the_bundled_demo(tmp_path):
    result = hilbench("run", "--vectors", 2, "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "r.json").read_text())["model"] == "kws_ds_cnn_int8"


def test_unknown_board_is_one_line():
    result = hilbench("run", SHARED_MODELS / "tflm_hello_world_int8.tflite", "--board", "nope")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("hilbench: error: unknown board 'nope'")


@pytest.mark.hil
def test_a_wrong_kernel_fails_the_verdict(tmp_path):
    """The verdict can fail: a kernel variant off by one in SOFTMAX gives exit status 1
    and the mismatches in the JSON."""
    variant = tmp_path / "kernels" / "off_by_one"
    variant.mkdir(parents=True)
    source = (FIRMWARE_DIR / "kernels" / "ref" / "softmax.c").read_text()
    broken = source.replace('#include "../hb_fixedpoint.h"', '#include "hb_fixedpoint.h"')
    broken = broken.replace("out[c] = (int8_t)hb_clamp(v, -128, 127);",
                            "out[c] = (int8_t)hb_clamp(v + 1, -128, 127);")
    assert broken.count("v + 1") == 1
    (variant / "softmax.c").write_text(broken)
    env = dict(os.environ, HILBENCH_KERNEL_PATH=str(tmp_path / "kernels"))
    result = subprocess.run([sys.executable, "-m", "hilbench", "run", "--vectors", "4",
                             "--kernels", "off_by_one", "--json", str(tmp_path / "r.json")],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["bit_exact"] is False and record["mismatches"] > 0
    assert record["max_abs_diff"] >= 1
    assert "first mismatch" in result.stdout


def test_unknown_kernel_variant_is_one_line():
    result = hilbench("run", "--kernels", "nope")
    assert result.returncode == 2
    assert "unknown kernel variant 'nope'" in result.stderr


@pytest.mark.hil
def test_probe_transport_bit_exact(tmp_path):
    """The same frames through RAM ring buffers over QEMU's GDB stub instead of the UART."""
    result = hilbench("run", SHARED_MODELS / "ic_resnet8_int8.tflite", "--vectors", 6,
                      "--transport", "probe", "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["transport"] == "probe" and record["bit_exact"]
    assert record["instructions"] is not None  # the counting plugin works alongside
    assert "over probe" in result.stdout
